import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { killWebSocketServerProcesses, startWebSocketServerProcess } from '../support/component-server.js';
import { ROOT } from '../support/paths.js';
import { allResults } from '../support/run-results.js';
import { spawnServe } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The whole deployment on loopback: a served runtime, a WebSocket component server on another
 * port, a client in this process submitting thousands of items — and the component server killed
 * with SIGKILL in the middle, then started again on the same port.
 */
const GREETER = join(ROOT, 'dist/examples/greeter/server.js');
let dir: string;

beforeAll(async () => {
  dir = await makeTempDir('failover');
});
afterAll(async () => {
  await killWebSocketServerProcesses();
  await rm(dir, { recursive: true, force: true });
});

describe('a WebSocket component server killed mid-run', () => {
  it('ends every item terminal with exact counters, retrying what was in flight', async () => {
    const first = await startWebSocketServerProcess(GREETER);
    const config = join(dir, 'flowrun.yaml');
    await writeFile(
      config,
      `plugins:
  greeter: { type: stepflow, url: "${first.url}", pingIntervalMs: 1000 }
routes:
  "/greeter/{*component}": [{ plugin: greeter }]
blobStore: { type: memory }
stateStore: { type: memory }
`,
    );
    const served = await spawnServe(['--config', config]);
    try {
      const client = await connect(served.url);
      const n = 3000;
      const flow = { steps: [{ id: 'g', component: '/greeter/greet', input: { name: { $input: 'name' } } }], output: { $step: 'g', path: 'message' } };
      const run = await client.submit({ flow, inputs: Array.from({ length: n }, (_, i) => ({ name: `n${i}` })), maxConcurrency: 16 });

      let status = await run.status();
      for (let k = 0; k < 10_000 && status.items.success < n / 3; k++) status = await run.wait({ timeoutMs: 20 });
      expect(status.status).toBe('running');
      first.child.kill('SIGKILL');
      await first.exited;
      const second = await startWebSocketServerProcess(GREETER, { port: first.port });

      const final = await run.wait();
      const { items } = final;
      expect(items.pending + items.running).toBe(0);
      expect(items.success + items.failed + items.cancelled).toBe(n);
      expect(items.cancelled).toBe(0);

      const results = await allResults(run, 1000);
      expect(results).toHaveLength(n);
      let retried = 0;
      for (const r of results) {
        if (r.result?.outcome === 'success') expect(r.result.value).toBe(`Hello, n${r.itemIndex}!`);
        else expect(r.result).toMatchObject({ outcome: 'failed', error: { data: { cause: { code: -32005 } } } });
        if ((r.attempts ?? 1) > 1) retried++;
      }
      expect(retried).toBeGreaterThan(0); // the calls in flight at the kill were retried
      expect(items.success).toBeGreaterThan(n / 3);
      await client.close();
      second.child.kill('SIGTERM');
    } finally {
      await served.stop();
    }
  }, 120_000);
});
