import { connect, type FlowrunClient } from '../../src/client/index.js';
import { requireBuilt } from './paths.js';
import { spawnServe, type ServedProcess } from './serve.js';
import { createWorkspace, type Workspace } from './workspace.js';

/** A real `flowrun serve` process on a fresh durable workspace, and a client of it. */
export interface ServedWorkspace {
  ws: Workspace;
  served: ServedProcess;
  client: FlowrunClient;
  /** Closes the client, stops serve, removes the workspace. */
  close(): Promise<void>;
}

/** Starts a {@link ServedWorkspace}; with `token`, serve requires it and the client sends it. */
export async function serveWorkspace(token?: string): Promise<ServedWorkspace> {
  requireBuilt('dist/src/cli/bin.js');
  const ws = await createWorkspace({ durable: true });
  const served = await spawnServe(['--config', ws.config, ...(token === undefined ? [] : ['--token', token])], { cwd: ws.dir });
  const client = await connect(served.url, token === undefined ? {} : { token });
  return {
    ws,
    served,
    client,
    async close() {
      await client.close();
      await served.stop();
      await ws.remove();
    },
  };
}
