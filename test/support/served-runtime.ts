import { loadConfig, type FlowrunConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { startRuntimeServer, type RuntimeServer } from '../../src/serve/ws-server.js';
import { createWorkspace, type Workspace } from './workspace.js';

/** An in-process runtime on a fresh workspace's config, served over WebSocket on a free port of 127.0.0.1. */
export interface ServedRuntime {
  ws: Workspace;
  runtime: Runtime;
  server: RuntimeServer;
  /** Stops the server and the runtime, then removes the workspace. */
  close(): Promise<void>;
}

/** Starts a {@link ServedRuntime}; `adjust` may change the loaded config first (limits, say). */
export async function startServedRuntime(adjust: (config: FlowrunConfig) => FlowrunConfig = (c) => c): Promise<ServedRuntime> {
  const ws = await createWorkspace();
  const runtime = await Runtime.create({ config: adjust(await loadConfig({ configPath: ws.config })) });
  const server = await startRuntimeServer({ runtime, port: 0 });
  return {
    ws,
    runtime,
    server,
    async close() {
      await server.close();
      await runtime.close();
      await ws.remove();
    },
  };
}
