import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { startRuntimeServer, type RuntimeServer } from '../../src/server/ws-server.js';
import { GATE_FLOW, ROOT, startGate } from './serve-helpers.js';

/**
 * A big submit and a big cancel on a served runtime with a SQLite store do their work in slices:
 * the event loop gets many turns while they run, another connection is answered meanwhile and
 * always sees a consistent status, and the submit answers only once every input is stored.
 * Asserted by structure (turns, order, counts), never by elapsed time; the delays are logged.
 */
const N = 200_000;
let dir: string;
let runtime: Runtime;
let server: RuntimeServer;
let gate: Awaited<ReturnType<typeof startGate>>;
beforeAll(async () => {
  dir = await mkdtemp('/dev/shm/flowrun-big-');
  await writeFile(
    join(dir, 'flowrun.yaml'),
    `plugins:
  t: { type: stepflow, command: node, args: [${JSON.stringify(join(ROOT, 'test/server/fixtures/gate-server.mjs'))}] }
routes:
  "/t/{*component}": [{ plugin: t }]
blobStore: { type: memory }
stateStore: { type: sqlite, path: ${JSON.stringify(join(dir, 'state.db'))} }
`,
  );
  runtime = await Runtime.create({ config: await loadConfig({ configPath: join(dir, 'flowrun.yaml') }) });
  server = await startRuntimeServer({ runtime, port: 0 });
  gate = await startGate();
});
afterAll(async () => {
  await gate.close();
  await server.close();
  await runtime.close();
  await rm(dir, { recursive: true, force: true });
});

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

/** Asks `other` for statuses of `runId` (when known) until `done`; returns every status seen. */
async function pollWhile(other: FlowrunClient, runId: () => string | undefined, done: () => boolean): Promise<{ answers: number; seen: RunStatus[] }> {
  const seen: RunStatus[] = [];
  let answers = 0;
  while (!done()) {
    const id = runId();
    if (id === undefined) await other.list({ limit: 1 });
    else seen.push(await other.run(id).status());
    if (!done()) answers++;
  }
  return { answers, seen };
}

function expectConsistent(s: RunStatus): void {
  const { total, pending, running, success, failed, cancelled } = s.items;
  expect(total).toBe(N);
  expect(pending + running + success + failed + cancelled).toBe(total);
  expect(['pending', 'running', 'cancelled']).toContain(s.status);
}

function storedItems(runId: string): { runs: number; items: Record<string, number> } {
  const db = new Database(join(dir, 'state.db'), { readonly: true });
  try {
    const runs = (db.prepare('SELECT count(*) AS n FROM runs WHERE run_id = ?').get(runId) as { n: number }).n;
    const rows = db.prepare('SELECT status, count(*) AS n FROM items WHERE run_id = ? GROUP BY status').all(runId) as Array<{ status: string; n: number }>;
    return { runs, items: Object.fromEntries(rows.map((r) => [r.status, r.n])) };
  } finally {
    db.close();
  }
}

describe('big submits and cancels work in slices', () => {
  it(`submits ${N.toLocaleString('en')} items and cancels them while the event loop keeps turning and another client is answered`, async () => {
    const owner = await connect(server.url);
    const other = await connect(server.url);
    try {
      const inputs = Array.from({ length: N }, (_, item) => ({ url: gate.url, item }));
      // Submit: one item runs (held at the gate), the others stay pending.
      let submitted: RunStatus | undefined;
      let loop = watchEventLoop();
      const submit = owner.submit({ flow: GATE_FLOW, inputs, maxConcurrency: 1 }).then((h) => (submitted = h.submitted));
      const duringSubmit = await pollWhile(other, () => undefined, () => submitted !== undefined);
      await submit;
      const submitLoop = loop.stop();
      console.log(`submit of ${N} items: ${submitLoop.turns} event-loop turns, max delay ${submitLoop.maxDelayMs.toFixed(0)} ms, ${duringSubmit.answers} answers to another client meanwhile`);
      // Inputs are stored and checked 10k at a time, each slice a turn of the event loop of its own.
      expect(submitLoop.turns).toBeGreaterThanOrEqual(N / 10_000);
      expect(duringSubmit.answers).toBeGreaterThan(0);
      const runId = submitted!.runId;
      expect(submitted!.items.total).toBe(N);
      // Answered only once the run and every input are in the store.
      const stored = storedItems(runId);
      expect(stored.runs).toBe(1);
      expect(Object.values(stored.items).reduce((a, b) => a + b, 0)).toBe(N);

      await gate.arrived(1);
      // Cancel: pending items are cancelled 10k at a time; another client sees consistent counts throughout.
      let cancelled: RunStatus | undefined;
      loop = watchEventLoop();
      const cancel = owner.run(runId).cancel().then((s) => (cancelled = s));
      const duringCancel = await pollWhile(other, () => runId, () => cancelled !== undefined);
      await cancel;
      const cancelLoop = loop.stop();
      console.log(`cancel of ${N} items: ${cancelLoop.turns} event-loop turns, max delay ${cancelLoop.maxDelayMs.toFixed(0)} ms, ${duringCancel.answers} answers to another client meanwhile`);
      // Unsliced, the whole cancel would take one or two turns.
      expect(cancelLoop.turns).toBeGreaterThanOrEqual(N / 10_000 / 2);
      expect(duringCancel.answers).toBeGreaterThan(0);
      for (const s of duringCancel.seen) expectConsistent(s);
      // Some status seen mid-way had items both cancelled and still pending: the work was sliced.
      expect(duringCancel.seen.some((s) => s.items.cancelled > 0 && s.items.pending > 0)).toBe(true);
      expect(cancelled!.items.pending).toBe(0);

      const final = await owner.run(runId).wait();
      expect(final.status).toBe('cancelled');
      expect(final.items).toEqual({ total: N, pending: 0, running: 0, success: 0, failed: 0, cancelled: N });
      await runtime.runs.flush();
      expect(storedItems(runId).items).toEqual({ cancelled: N });
    } finally {
      await owner.close();
      await other.close();
    }
  }, 300_000);
});
