import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { startRuntimeServer, type RuntimeServer } from '../../src/serve/ws-server.js';
import { startPostgres, type PostgresFixture } from '../support/postgres.js';
import { startGate } from '../support/gate.js';
import { ROOT } from '../support/paths.js';
import { ECHO_FLOW, GATE_FLOW } from '../support/workspace.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * A big submit and a big cancel on a served runtime (SQLite, PostgreSQL) do their work in slices:
 * the event loop gets many turns while they run, another connection is answered meanwhile and
 * always sees a consistent status, and the submit answers only once every input is stored.
 * Asserted by structure (turns, order, counts), never by elapsed time; the delays are logged.
 */
let dir: string;
let postgres: PostgresFixture;
let gate: Awaited<ReturnType<typeof startGate>>;
beforeAll(async () => {
  dir = await makeTempDir('big');
  postgres = await startPostgres();
  gate = await startGate();
});
afterAll(async () => {
  await gate.close();
  await postgres?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A runtime on the given state store, served on 127.0.0.1, routing `/t/*` to the gate fixture. */
async function serveOn(name: string, stateStore: string): Promise<{ runtime: Runtime; server: RuntimeServer; close(): Promise<void> }> {
  const config = join(dir, `${name}.yaml`);
  await writeFile(
    config,
    `plugins:
  t: { type: stepflow, command: node, args: [${JSON.stringify(join(ROOT, 'test/fixtures/gate-server.mjs'))}] }
routes:
  "/t/{*component}": [{ plugin: t }]
blobStore: { type: memory }
stateStore: ${stateStore}
`,
  );
  // One process: the slicing of its submit and cancel is what is measured (a cluster cancels in the database).
  const runtime = await Runtime.create({ config: await loadConfig({ configPath: config }), joinCluster: false });
  const server = await startRuntimeServer({ runtime, port: 0 });
  return { runtime, server, close: async () => (await server.close(), await runtime.close()) };
}

/** Counts turns of this process's event loop (the served runtime's) until stopped; measures their delay. */
function watchEventLoop() {
  let turns = 0;
  let on = true;
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const tick = () => {
    turns++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop() {
      on = false;
      delay.disable();
      return { turns, maxDelayMs: delay.max / 1e6 };
    },
  };
}

/** Asks `other` for the status of `runId` until `done`; returns every status seen and how many came before `done`. */
async function pollWhile(other: FlowrunClient, runId: string, done: () => boolean): Promise<{ answers: number; seen: RunStatus[] }> {
  const seen: RunStatus[] = [];
  let answers = 0;
  while (!done()) {
    seen.push(await other.run(runId).status());
    if (!done()) answers++;
  }
  return { answers, seen };
}

function expectConsistent(s: RunStatus, n: number): void {
  const { total, pending, running, success, failed, cancelled } = s.items;
  expect(total).toBe(n);
  expect(pending + running + success + failed + cancelled).toBe(total);
  expect(['pending', 'running', 'cancelled']).toContain(s.status);
}

/** Item rows of a run by status, and whether its run row exists, as the store holds them. */
type StoredCounts = (runId: string) => Promise<{ runs: number; items: Record<string, number> }>;

const sqliteCounts: StoredCounts = async (runId) => {
  const db = new Database(join(dir, 'state.db'), { readonly: true });
  try {
    const runs = (db.prepare('SELECT count(*) AS n FROM runs WHERE run_id = ?').get(runId) as { n: number }).n;
    const rows = db.prepare('SELECT status, count(*) AS n FROM items WHERE run_id = ? GROUP BY status').all(runId) as Array<{ status: string; n: number }>;
    return { runs, items: Object.fromEntries(rows.map((r) => [r.status, r.n])) };
  } finally {
    db.close();
  }
};

const postgresCounts: StoredCounts = async (runId) => {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    const runs = Number((await client.query('SELECT count(*) AS n FROM runs WHERE run_id = $1', [runId])).rows[0].n);
    const rows = (await client.query('SELECT status, count(*) AS n FROM items WHERE run_id = $1 GROUP BY status', [runId])).rows;
    return { runs, items: Object.fromEntries(rows.map((r: { status: string; n: string }) => [r.status, Number(r.n)])) };
  } finally {
    await client.end();
  }
};

const STORES: Array<[string, number, () => string, StoredCounts]> = [
  ['sqlite', 200_000, () => `{ type: sqlite, path: ${JSON.stringify(join(dir, 'state.db'))} }`, sqliteCounts],
  ['postgres', 100_000, () => `{ type: postgres, url: ${JSON.stringify(postgres.url)} }`, postgresCounts],
];

describe.each(STORES)('big submits and cancels work in slices (%s)', (name, N, stateStore, storedItems) => {
  it(`submits ${N.toLocaleString('en')} items and cancels them while the event loop keeps turning and another client is answered`, async () => {
    const { runtime, server, close } = await serveOn(name, stateStore());
    const owner = await connect(server.url);
    const other = await connect(server.url);
    try {
      const inputs = Array.from({ length: N }, (_, item) => ({ url: gate.url, item }));
      // Submit: one item runs (held at the gate), the others stay pending.
      // A finished run, answered from memory: what the other client asks about during the submit.
      const probe = await owner.submit({ flow: ECHO_FLOW, inputs: [0] });
      await probe.result();
      const atGate = gate.count();
      let submitted: RunStatus | undefined;
      let loop = watchEventLoop();
      const submit = owner.submit({ flow: GATE_FLOW, inputs, maxConcurrency: 1 }).then((h) => (submitted = h.submitted));
      const duringSubmit = await pollWhile(other, probe.runId, () => submitted !== undefined);
      await submit;
      const submitLoop = loop.stop();
      console.log(`${name}: submit of ${N} items: ${submitLoop.turns} event-loop turns, max delay ${submitLoop.maxDelayMs.toFixed(0)} ms, ${duringSubmit.answers} answers to another client meanwhile`);
      // Inputs are stored and checked 10k at a time, each slice a turn of the event loop of its own.
      expect(submitLoop.turns).toBeGreaterThanOrEqual(N / 10_000);
      expect(duringSubmit.answers).toBeGreaterThan(0);
      const runId = submitted!.runId;
      expect(submitted!.items.total).toBe(N);
      // Answered only once the run and every input are in the store.
      const stored = await storedItems(runId);
      expect(stored.runs).toBe(1);
      expect(Object.values(stored.items).reduce((a, b) => a + b, 0)).toBe(N);

      await gate.arrived(atGate + 1);
      // Cancel: pending items are cancelled 10k at a time; another client sees consistent counts throughout.
      let cancelled: RunStatus | undefined;
      loop = watchEventLoop();
      const cancel = owner.run(runId).cancel().then((s) => (cancelled = s));
      const duringCancel = await pollWhile(other, runId, () => cancelled !== undefined);
      await cancel;
      const cancelLoop = loop.stop();
      console.log(`${name}: cancel of ${N} items: ${cancelLoop.turns} event-loop turns, max delay ${cancelLoop.maxDelayMs.toFixed(0)} ms, ${duringCancel.answers} answers to another client meanwhile`);
      // Unsliced, the whole cancel would take one or two turns.
      expect(cancelLoop.turns).toBeGreaterThanOrEqual(N / 10_000 / 2);
      expect(duringCancel.answers).toBeGreaterThan(0);
      for (const s of duringCancel.seen) expectConsistent(s, N);
      // Some status seen mid-way had items both cancelled and still pending: the work was sliced.
      expect(duringCancel.seen.some((s) => s.items.cancelled > 0 && s.items.pending > 0)).toBe(true);
      expect(cancelled!.items.pending).toBe(0);

      const final = await owner.run(runId).wait();
      expect(final.status).toBe('cancelled');
      expect(final.items).toEqual({ total: N, pending: 0, running: 0, success: 0, failed: 0, cancelled: N });
      await runtime.runs.flush();
      expect((await storedItems(runId)).items).toEqual({ cancelled: N });
    } finally {
      await owner.close();
      await other.close();
      await close();
    }
  }, 300_000);
});
