import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, queryRows, startPostgres, type PostgresFixture } from '../support/postgres.js';
import { ROOT } from '../support/paths.js';

// Each case of `npm run bench -- --peers` (bench/README.md), small, on a real PostgreSQL: the
// measure covers the timed items and every item was really done and recorded by its system.
// The cases find their children next to their compiled modules, so they are loaded from dist/.
const { flowrunPass, ONE_STEP_FLOW } = (await import(join(ROOT, 'dist/bench/cases/flowrun-runs.js'))) as typeof import('../../bench/cases/flowrun-runs.js');
const { peerPass } = (await import(join(ROOT, 'dist/bench/lib/peer-pass.js'))) as typeof import('../../bench/lib/peer-pass.js');
const { PostgresStateStore } = (await import(join(ROOT, 'dist/src/statestore/postgres-state-store.js'))) as typeof import('../../src/statestore/postgres-state-store.js');

const PASS_TIMEOUT_MS = 120_000;

let server: PostgresFixture;
let databases = 0;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.close();
});

const fresh = (): Promise<string> => createDatabase(server.url, `peers_${++databases}`);
const count = async (url: string, sql: string): Promise<number> => Number((await queryRows<{ n: string }>(url, sql))[0].n);

describe('bench peers', () => {
  it('graphile-worker completes every enqueued job and reports the timed ones', async () => {
    const url = await fresh();
    const m = await peerPass('graphile-peer', { url, items: 300, warmup: 40 });
    expect(m.items).toBe(300);
    expect(m.wallMs).toBeGreaterThan(0);
    expect(m.cpuMicros).toBeGreaterThan(0);
    // A completed job is deleted: none is left queued, locked or failed.
    expect(await count(url, 'SELECT count(*) AS n FROM graphile_worker.jobs')).toBe(0);
  }, PASS_TIMEOUT_MS);

  it('DBOS records every one-step workflow as a success', async () => {
    const url = await fresh();
    const m = await peerPass('dbos-peer', { url, items: 60, warmup: 10 });
    expect(m.items).toBe(60);
    expect(await count(url, "SELECT count(*) AS n FROM dbos.workflow_status WHERE status = 'SUCCESS'")).toBe(70);
    expect(await count(url, 'SELECT count(*) AS n FROM dbos.operation_outputs')).toBe(70);
  }, PASS_TIMEOUT_MS);

  it('flowrun journals every item of the one-step run to the PostgreSQL store', async () => {
    const url = await fresh();
    const store = await PostgresStateStore.connect({ url });
    const m = await flowrunPass({ transport: 'stdio', flow: ONE_STEP_FLOW, payload: 'small', concurrency: 16, items: 300, warmup: 40 }, store);
    expect(m.items).toBe(300);
    // The warm-up, the timed run and the two one-item runs that read the echo server's CPU.
    expect(await count(url, "SELECT count(*) AS n FROM items WHERE status = 'success'")).toBe(342);
    expect(await count(url, "SELECT count(*) AS n FROM runs WHERE status = 'success'")).toBe(4);
  }, PASS_TIMEOUT_MS);
});
