import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { ROOT } from '../support/paths.js';
import { createDatabase, postgresAvailable, queryRows, startPostgres, type PostgresFixture } from '../support/postgres.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';

let postgres: PostgresFixture;
let dir: string;
const served: ServedProcess[] = [];
beforeAll(async () => {
  if (!postgresAvailable()) return;
  postgres = await startPostgres();
  dir = await makeTempDir('cluster-smoke');
});
afterAll(async () => {
  await Promise.all(served.map((s) => s.stop()));
  await postgres?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The smallest cluster: two `serve` on one database; the thorough cases are in the other files here. */
describe.skipIf(!postgresAvailable())('a cluster of two nodes', () => {
  it('a run submitted on one node is executed in chunks and waited on from another', async () => {
    const url = await createDatabase(postgres.url, `smoke_${randomBytes(4).toString('hex')}`);
    const config = join(dir, 'flowrun.yaml');
    await writeFile(config, `plugins:
  greeter: { type: stepflow, command: node, args: [${JSON.stringify(join(ROOT, 'dist/examples/greeter/server.js'))}] }
routes:
  "/greeter/{*component}": [{ plugin: greeter }]
blobStore: { type: filesystem, path: ${JSON.stringify(join(dir, 'blobs'))} }
stateStore: { type: postgres, url: ${JSON.stringify(url)} }
cluster: { chunkSize: 16, leaseMs: 3000, heartbeatMs: 300 }
`);
    for (let i = 0; i < 2; i++) served.push(await spawnServe(['--config', config]));
    const flow = await readFile(join(ROOT, 'examples/greeter/flow.yaml'), 'utf8');
    const a = await connect(served[0].url);
    const b = await connect(served[1].url);
    const { parse } = await import('yaml');
    const inputs = Array.from({ length: 500 }, (_, i) => ({ name: `n${i}` }));
    const run = await a.submit({ flow: parse(flow) as Record<string, unknown>, inputs, maxConcurrency: 64 });
    const status = await b.run(run.runId).wait({ timeoutMs: 60_000 });
    expect(status.status).toBe('success');
    expect(status.items).toEqual({ total: 500, pending: 0, running: 0, success: 500, failed: 0, cancelled: 0 });
    // 500 items in chunks of 16: every chunk claimed (an epoch) and done, none held.
    const chunks = await queryRows<{ holder: string | null; state: string; epoch: number }>(url, 'SELECT holder, state, epoch FROM chunks');
    expect(chunks).toHaveLength(32);
    expect(chunks.every((c) => c.state === 'done' && c.holder === null && c.epoch >= 1)).toBe(true);
    const results = await b.run(run.runId).result();
    expect(results[499]).toEqual({ outcome: 'success', value: { greeting: 'Hello, n499!', loud: 'HELLO, N499!', name: 'N499' } });
    await a.close();
    await b.close();
  }, 120_000);
});
