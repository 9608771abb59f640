import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, MAX_JSON_DEPTH, type FlowResult, type RunStatus } from '../../protocol/index.js';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { parseConfig } from '../../src/config/index.js';
import { RunManager } from '../../src/runs/run-manager.js';
import { StoreWriter } from '../../src/runs/store-writer.js';
import { Runtime } from '../../src/runtime.js';
import { silentLogger } from '../../src/log.js';
import { PostgresStateStore } from '../../src/statestore/postgres-state-store.js';
import { SqliteStateStore } from '../../src/statestore/sqlite-state-store.js';
import { ItemTransitions, type RunRecord, type StateStore } from '../../src/statestore/index.js';
import { postgresAvailable, startPostgres, type PostgresFixture } from '../support/postgres.js';
import { makeTempDirSync } from '../support/temp-dir.js';

/**
 * One item's bad data never touches another run, on real SQLite files and a real PostgreSQL
 * server: a result too deep to store fails only its item, a batch the store refuses is written
 * item by item, a run is never recorded finished before its items, and list agrees with get.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const FLOW = { steps: [{ id: 'work', component: '/deep/work', input: { $input: '$' } }], output: { $step: 'work' } };

let postgres: PostgresFixture;
let scratch: string;
beforeAll(async () => {
  if (postgresAvailable()) postgres = await startPostgres();
  scratch = makeTempDirSync('journal');
});
afterAll(async () => {
  await postgres?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A backend: `open()` opens the same database again each time (a restart). */
interface Backend {
  open(): Promise<StateStore>;
}

async function sqliteBackend(): Promise<Backend> {
  const path = join(scratch, `${randomBytes(6).toString('hex')}.db`);
  return { open: async () => SqliteStateStore.open(path) };
}

async function postgresBackend(): Promise<Backend> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(postgres.url);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { open: () => PostgresStateStore.connect({ url: url.toString() }) };
}

function deepServerConfig() {
  return parseConfig(
    {
      plugins: { deep: { type: 'stepflow', command: process.execPath, args: [join(ROOT, 'test/fixtures/deep-output-server.mjs')] } },
      routes: { '/deep/{*component}': [{ plugin: 'deep' }] },
    },
    { workingDirectory: ROOT, env: process.env },
  );
}

const record = (runId: string, total: number): RunRecord => ({ runId, flowId: `sha256:${'a'.repeat(64)}`, createdAt: 1, total, maxConcurrency: 1, variables: {} });

/** A value nested `n` levels deep, built without recursion. */
function nested(n: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < n; i++) value = { a: value };
  return value;
}

/** What a fresh RunManager on the store answers for a run through get and through list. */
async function getAndList(store: StateStore, runId: string): Promise<{ got: RunStatus; listed: RunStatus }> {
  const manager = new RunManager({ blobs: new MemoryBlobStore(), invoke: () => Promise.reject(new Error('no calls expected')), store });
  const got = await manager.get({ runId, includeResults: true, wait: false, resultOrder: 'byIndex', offset: 0 });
  const { runs } = await manager.list({ limit: 1000 });
  return { got, listed: runs.find((r) => r.runId === runId)! };
}

// Without PostgreSQL here (see vitest.config.ts), its half of these tests is skipped.
const BACKENDS: Array<[string, () => Promise<Backend>]> = [['sqlite', sqliteBackend]];
if (postgresAvailable()) BACKENDS.push(['postgres', postgresBackend]);

describe.each(BACKENDS)('journal isolation on %s', (_name, makeBackend) => {
  it('a result nested 6,000 levels deep fails only its item; a 3,000-item run beside it survives a restart intact', async () => {
    const backend = await makeBackend();
    const runtime = await Runtime.create({ config: deepServerConfig(), blobStore: new MemoryBlobStore(), stateStore: await backend.open() });
    const n = 3_000;
    let victimId: string;
    let culpritId: string;
    try {
      const victim = runtime.runs.submit({ flow: FLOW, inputs: Array.from({ length: n }, (_, i) => ({ i })), maxConcurrency: 32, wait: true, variables: {} });
      const culprit = runtime.runs.submit({ flow: FLOW, inputs: [{ i: 0 }, { deep: 6_000 }, { i: 2 }, { deepError: 6_000 }], wait: true, variables: {} });
      const [v, c] = await Promise.all([victim, culprit]);
      victimId = v.runId;
      culpritId = c.runId;
      expect(v.status).toBe('success');
      expect(v.items).toEqual({ total: n, pending: 0, running: 0, success: n, failed: 0, cancelled: 0 });
      expect(c.status).toBe('success');
      expect(c.items).toMatchObject({ success: 2, failed: 2 });
      const bad = c.results![1].result as Extract<FlowResult, { outcome: 'failed' }>;
      expect(bad.error).toMatchObject({ code: 500, data: { stepId: 'work', cause: { code: ErrorCodes.InvalidValue, data: { field: 'output', maxDepth: MAX_JSON_DEPTH } } } });
      expect(JSON.stringify(bad)).toContain('field \\"output\\"');
      // A component error whose data nests too deep fails its item with an error that names it instead.
      expect(c.results![3].result).toEqual({
        outcome: 'failed',
        error: { code: ErrorCodes.InvalidValue, message: 'error data of item 3 is nested deeper than 256 levels', data: { runId: c.runId, itemIndex: 3, maxDepth: MAX_JSON_DEPTH } },
      });
      await runtime.runs.flush();
    } finally {
      await runtime.close({ cancelRuns: false });
    }

    const store = await backend.open();
    try {
      expect(await store.unfinishedRuns()).toEqual([]);
      const loaded = (await store.loadRun(victimId))!;
      expect(loaded.state).toMatchObject({ status: 'success' });
      expect(loaded.items.every((item, i) => item.status === 'success' && (item.result as { value: { i: number } }).value.i === i)).toBe(true);
      const culprit = (await store.loadRun(culpritId))!;
      expect(culprit.items.map((item) => item.status)).toEqual(['success', 'failed', 'success', 'failed']);
      for (const runId of [victimId, culpritId]) {
        const { got, listed } = await getAndList(store, runId);
        expect(listed.status).toBe(got.status);
        expect(listed.items).toEqual(got.items);
      }
    } finally {
      await store.close();
    }
  });

  it('refuses inputs nested deeper than the limit at submit, naming the field, and stores nothing', async () => {
    const backend = await makeBackend();
    const store = await backend.open();
    const runtime = await Runtime.create({ config: deepServerConfig(), blobStore: new MemoryBlobStore(), stateStore: store });
    try {
      const submit = runtime.runs.submit({ flow: FLOW, inputs: [{ i: 0 }, { i: 1 }, nested(6_000)], wait: false, variables: {} });
      await expect(submit).rejects.toMatchObject({ code: ErrorCodes.InvalidParams, message: expect.stringContaining('field "inputs[2]" is nested deeper than 256 levels') });
      expect((await store.listRuns({ limit: 10 })).runs).toEqual([]);
    } finally {
      await runtime.close();
    }
  });

  it('writes a batch the store refuses in halves: only the culprit is recorded failed, and the runs finish after their items', async () => {
    const backend = await makeBackend();
    const store = await backend.open();
    // Counts the store's item writes (the store itself is real).
    let itemWrites = 0;
    const recordItems = store.recordItems.bind(store);
    store.recordItems = (transitions) => {
      itemWrites++;
      return recordItems(transitions);
    };
    try {
      await store.createRun(record('victim', 100), Array.from({ length: 100 }, (_, i) => i));
      await store.createRun(record('culprit', 3), [0, 1, 2]);
      const unwritable: Array<[string, number]> = [];
      const writer = new StoreWriter(store, silentLogger, {
        onItemUnwritable: (runId, itemIndex) => {
          unwritable.push([runId, itemIndex]);
          return 'success';
        },
      });
      const victim = writer.journalFor('victim');
      const culprit = writer.journalFor('culprit');
      // One event-loop turn, so one batch: the culprit's deep result sits among the victim's items.
      for (let i = 0; i < 100; i++) {
        victim.itemStarted(i, 1);
        if (i === 50) {
          culprit.itemSettled(0, 'success', { outcome: 'success', value: 0 }, 1, 10, 0);
          // Bypasses the run manager's depth check: the journal itself must contain the damage.
          culprit.itemSettled(1, 'success', { outcome: 'success', value: nested(6_000) }, 1, 10, 1);
          culprit.itemSettled(2, 'success', { outcome: 'success', value: 2 }, 1, 10, 2);
          culprit.runFinished('success', 10);
        }
        victim.itemSettled(i, 'success', { outcome: 'success', value: i }, 1, 20, i);
      }
      victim.runFinished('success', 20);
      await writer.drain();

      expect(unwritable).toEqual([['culprit', 1]]);
      // 203 transitions: the refused batch, two halves per level down to the culprit (8 levels), its replacement.
      expect(itemWrites).toBeLessThanOrEqual(1 + 2 * 8 + 1);
      const v = (await store.loadRun('victim'))!;
      expect(v.state).toMatchObject({ status: 'success', completedAt: 20 });
      expect(v.items.map((item) => [item.status, (item.result as { value: number }).value])).toEqual(Array.from({ length: 100 }, (_, i) => ['success', i]));
      const c = (await store.loadRun('culprit'))!;
      expect(c.state).toMatchObject({ status: 'success', completedAt: 10 });
      expect(c.items.map((item) => item.status)).toEqual(['success', 'failed', 'success']);
      expect(c.items[1].result).toMatchObject({
        outcome: 'failed',
        error: { code: ErrorCodes.InvalidValue, message: expect.stringContaining('the result of item 1 of run culprit could not be stored'), data: { runId: 'culprit', itemIndex: 1 } },
      });
      expect(c.items[1].completionSeq).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('records the missing finish of a run whose items all settled before a crash; get and list agree before and after', async () => {
    const backend = await makeBackend();
    const store = await backend.open();
    try {
      await store.createRun(record('crashed', 2), [0, 1]);
      await store.recordItems(ItemTransitions.of([
        { runId: 'crashed', itemIndex: 0, status: 'success', attempts: 1, result: { outcome: 'success', value: 0 }, completedAt: 5, completionSeq: 0 },
        { runId: 'crashed', itemIndex: 1, status: 'failed', attempts: 1, result: { outcome: 'failed', error: { code: 1, message: 'x' } }, completedAt: 7, completionSeq: 1 },
      ]));
      // The crash: no finish record.
      const before = await getAndList(store, 'crashed');
      expect(before.got.status).toBe('success');
      expect(before.listed.status).toBe('success');
      expect(before.listed.items).toEqual(before.got.items);

      const manager = new RunManager({ blobs: new MemoryBlobStore(), invoke: () => Promise.reject(new Error('no calls expected')), store });
      await manager.recover();
      await manager.flush();
      expect(await store.unfinishedRuns()).toEqual([]);
      expect((await store.loadRun('crashed'))!.state).toMatchObject({ status: 'success', completedAt: 7 });
      const after = await getAndList(store, 'crashed');
      expect(after.listed).toEqual({ ...after.got, results: undefined, completedAt: after.got.completedAt });
    } finally {
      await store.close();
    }
  });
});
