import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBlobStore } from '../../blobstore/index.js';
import { connect } from '../../src/client/index.js';
import { SqliteStateStore } from '../../src/statestore/sqlite-state-store.js';
import { startGate } from '../support/gate.js';
import { ROOT } from '../support/paths.js';
import { spawnServe } from '../support/serve.js';
import { GATE_FLOW } from '../support/workspace.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * After a restart `flowrun serve` listens first and resumes the unfinished runs of its state store
 * in the background: a store full of them never keeps it from answering, and they all finish.
 */
const RUNS = 300;
const ITEMS = 2;
let dir: string;
let config: string;
let gate: Awaited<ReturnType<typeof startGate>>;
beforeAll(async () => {
  dir = await makeTempDir('listen-first');
  gate = await startGate();
  config = join(dir, 'flowrun.yaml');
  await writeFile(
    config,
    `plugins:
  t: { type: stepflow, command: node, args: [${JSON.stringify(join(ROOT, 'test/fixtures/gate-server.mjs'))}] }
routes:
  "/t/{*component}": [{ plugin: t }]
blobStore: { type: filesystem, path: blobs }
stateStore: { type: sqlite, path: state.db }
`,
  );
});
afterAll(async () => {
  await gate?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Writes `RUNS` unfinished runs of the gate flow straight into the stores, as a killed server would leave them. */
async function writeUnfinishedRuns(): Promise<string[]> {
  const flowId = await new FilesystemBlobStore({ path: join(dir, 'blobs') }).put(GATE_FLOW, 'flow');
  const store = SqliteStateStore.open(join(dir, 'state.db'));
  const runIds: string[] = [];
  try {
    for (let r = 0; r < RUNS; r++) {
      const runId = `run-${String(r).padStart(4, '0')}`;
      const inputs = Array.from({ length: ITEMS }, (_, i) => ({ url: gate.url, item: r * ITEMS + i }));
      await store.createRun({ runId, flowId, flowName: 'gated', createdAt: Date.now(), total: ITEMS, maxConcurrency: ITEMS, variables: {} }, inputs);
      runIds.push(runId);
    }
  } finally {
    await store.close();
  }
  return runIds;
}

describe('flowrun serve after a restart', () => {
  it(`answers /health, runs/get and runs/list before resuming ${RUNS} unfinished runs in the background; then all finish`, async () => {
    const runIds = await writeUnfinishedRuns();
    const served = await spawnServe(['--config', config], { env: { FLOWRUN_LOG_LEVEL: 'info' }, cwd: dir });
    const client = await connect(served.url);
    try {
      // The gate holds every item: none of the runs can finish yet, whatever has resumed.
      expect((await fetch(`${served.httpUrl}health`)).status).toBe(200);
      const listed = await client.list({ limit: 10 });
      expect(listed.runs).toHaveLength(10);
      expect(listed.runs.every((r) => r.status !== 'success')).toBe(true);
      const last = await client.run(runIds[RUNS - 1]).status();
      expect(last.items.total).toBe(ITEMS);

      // A run cancelled before or after its turn to resume ends cancelled all the same.
      const cancelled = await client.run(runIds[RUNS - 2]).cancel();
      expect(['cancelled', 'running']).toContain(cancelled.status);

      await gate.arrived(ITEMS); // items execute: resuming is under way
      gate.release();
      for (const runId of runIds) {
        const done = await client.run(runId).wait();
        expect(done.status, runId).toBe(runId === runIds[RUNS - 2] ? 'cancelled' : 'success');
      }
      const sample = await client.run(runIds[7]).result();
      expect(sample).toEqual([0, 1].map((i) => ({ outcome: 'success', value: { item: 7 * ITEMS + i, gate: 'open' } })));

      // The log line reaches our pipe on its own schedule: wait for it (bounded).
      for (let i = 0; i < 200 && !served.stderr().includes('unfinished run(s)'); i++) await new Promise((r) => setTimeout(r, 50));
      const log = served.stderr();
      const listening = log.indexOf('flowrun runtime serving on');
      const resumed = log.indexOf(`resumed ${RUNS} unfinished run(s)`);
      expect(listening).toBeGreaterThanOrEqual(0);
      expect(resumed).toBeGreaterThan(listening);
    } finally {
      await client.close();
      expect(await served.stop()).toBe(0);
    }
  });
});
