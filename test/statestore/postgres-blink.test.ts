import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type RunStatus } from '../../protocol/index.js';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { parseConfig } from '../../src/config/index.js';
import { RunManager } from '../../src/runs/run-manager.js';
import { StoreWriter } from '../../src/runs/store-writer.js';
import { Runtime } from '../../src/runtime.js';
import { PostgresStateStore } from '../../src/statestore/postgres-state-store.js';
import { startPostgres, type PostgresFixture } from '../support/postgres.js';
import { makeTempDirSync } from '../support/temp-dir.js';

/**
 * The state store may blink: PostgreSQL backends terminated, or the whole server stopped and
 * started, while a run executes. The runtime keeps running, retries its journal, and the run
 * ends with exact counters and every result stored.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const FLOW = { steps: [{ id: 'work', component: '/deep/work', input: { $input: '$' } }], output: { $step: 'work' } };
const N = 2_000;
/** Items from this index on wait for the gate file: the run cannot end before the test opens it. */
const GATED_FROM = 1_000;
const WAIT_MS = 60_000;

let postgres: PostgresFixture;
let scratch: string;
beforeAll(async () => {
  postgres = await startPostgres();
  scratch = makeTempDirSync('blink');
});
afterAll(async () => {
  await postgres?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function adminQuery<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Terminates every backend of the database but the asking one; how many there were. */
async function terminateBackends(): Promise<number> {
  const rows = await adminQuery<{ pid: number }>(
    'SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = $1',
    ['client backend'],
  );
  return rows.length;
}

/** Waits until `done()` holds (polling a few ms apart), failing after a generous bound. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A schema of its own on the test server, its URL, and a logger whose warnings the test reads. */
async function freshSchema(): Promise<{ url: URL; logger: pino.Logger; warnings: string[] }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE SCHEMA ${schema}`);
  const url = new URL(postgres.url);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg as string) });
  return { url, logger, warnings };
}

/** A PostgreSQL state store in a {@link freshSchema}. */
async function storeInFreshSchema(): Promise<{ store: PostgresStateStore; logger: pino.Logger; warnings: string[] }> {
  const { url, logger, warnings } = await freshSchema();
  return { store: await PostgresStateStore.connect({ url: url.toString(), logger }), logger, warnings };
}

/** A runtime on a fresh schema, with its warnings collected. */
async function start(): Promise<{ runtime: Runtime; url: string; warnings: string[] }> {
  const { url, logger, warnings } = await freshSchema();
  const config = parseConfig(
    {
      plugins: { deep: { type: 'stepflow', command: process.execPath, args: [join(ROOT, 'test/fixtures/deep-output-server.mjs')] } },
      routes: { '/deep/{*component}': [{ plugin: 'deep' }] },
    },
    { workingDirectory: ROOT, env: process.env },
  );
  const stateStore = await PostgresStateStore.connect({ url: url.toString(), logger });
  const runtime = await Runtime.create({ config, logger, blobStore: new MemoryBlobStore(), stateStore, joinCluster: false });
  return { runtime, url: url.toString(), warnings };
}

function submitGated(runtime: Runtime, gate: string): Promise<RunStatus> {
  const inputs = Array.from({ length: N }, (_, i) => (i < GATED_FROM ? { i } : { i, gate }));
  return runtime.runs.submit({ flow: FLOW, inputs, maxConcurrency: 16, wait: false, variables: {} });
}

/** Everything the store holds of the run, read through a fresh connection, checked exactly. */
async function expectStoredComplete(url: string, runId: string): Promise<void> {
  const store = await PostgresStateStore.connect({ url });
  try {
    expect(await store.unfinishedRuns()).toEqual([]);
    const loaded = (await store.loadRun(runId))!;
    expect(loaded.state.status).toBe('success');
    const wrong = loaded.items.filter((item, i) => item.status !== 'success' || (item.result as { value: { i: number } }).value.i !== i);
    expect(wrong).toEqual([]);
    const manager = new RunManager({ blobs: new MemoryBlobStore(), invoke: () => Promise.reject(new Error('no calls expected')), store });
    const got = await manager.get({ runId, wait: false, includeResults: false, resultOrder: 'byIndex', offset: 0 });
    const listed = (await manager.list({ limit: 100 })).runs.find((r) => r.runId === runId)!;
    expect(got.items).toEqual({ total: N, pending: 0, running: 0, success: N, failed: 0, cancelled: 0 });
    expect(listed.status).toBe('success');
    expect(listed.items).toEqual(got.items);
  } finally {
    await store.close();
  }
}

describe('a PostgreSQL state store that blinks mid-run', () => {
  it('survives every backend being terminated, again and again: the run completes exactly', async () => {
    const { runtime, url, warnings } = await start();
    const gate = join(scratch, 'gate-terminate');
    let runId: string;
    try {
      ({ runId } = await submitGated(runtime, gate));
      const state = runtime.runs.state(runId)!;
      let terminated = 0;
      for (const mark of [200, 400, 600, 800, 1_000]) {
        await until(() => state.counts.success >= mark, `${mark} items done`);
        terminated += await terminateBackends();
      }
      expect(terminated).toBeGreaterThan(0);
      writeFileSync(gate, '');
      await runtime.runs.waitTerminal(state);
      expect(state.snapshot().items).toEqual({ total: N, pending: 0, running: 0, success: N, failed: 0, cancelled: 0 });
      await runtime.runs.flush();
      // The connections were really lost (and the process lived on).
      expect(warnings.some((msg) => /connection was lost/.test(msg))).toBe(true);
    } finally {
      await runtime.close({ cancelRuns: false });
    }
    await expectStoredComplete(url, runId);
  });

  it('keeps running while the server is stopped, retries its writes, and completes exactly once it is back', async (ctx) => {
    // An external server (FLOWRUN_TEST_PG_URL) is not the test's to stop.
    if (!postgres.stop || !postgres.start) ctx.skip();
    const { runtime, url, warnings } = await start();
    const gate = join(scratch, 'gate-restart');
    let runId: string;
    try {
      ({ runId } = await submitGated(runtime, gate));
      const state = runtime.runs.state(runId)!;
      await until(() => state.counts.success >= 300, '300 items done');
      await postgres.stop!();
      // Items go on finishing with the store down; their transitions wait in the journal.
      const atStop = state.counts.success;
      await until(() => state.counts.success >= Math.min(atStop + 200, GATED_FROM), 'items finishing while the store is down');
      await until(() => warnings.some((msg) => /state store unreachable; retrying/.test(msg)), 'a retried write');
      // A new run cannot be stored now, nor runs listed: refused with -32005, the process unharmed.
      const unavailable = { code: ErrorCodes.ResourceUnavailable, message: expect.stringMatching(/^state store unavailable: /) };
      await expect(runtime.runs.submit({ flow: FLOW, inputs: [{ i: 0 }], wait: false, variables: {} })).rejects.toMatchObject(unavailable);
      await expect(runtime.runs.list({ limit: 10 })).rejects.toMatchObject(unavailable);
      // A live run still answers from memory.
      expect((await runtime.runs.get({ runId, wait: false, includeResults: false, resultOrder: 'byIndex', offset: 0 })).status).toBe('running');
      await postgres.start!();
      writeFileSync(gate, '');
      await runtime.runs.waitTerminal(state);
      await runtime.runs.flush();
      expect(state.snapshot().items).toEqual({ total: N, pending: 0, running: 0, success: N, failed: 0, cancelled: 0 });
    } finally {
      await runtime.close({ cancelRuns: false });
    }
    await expectStoredComplete(url, runId);
  });

  it('holds producers back once the journal is far behind, and lets them go when the store is back', async (ctx) => {
    if (!postgres.stop || !postgres.start) ctx.skip();
    const { store, logger, warnings } = await storeInFreshSchema();
    const n = 300;
    await store.createRun({ runId: 'r', flowId: `sha256:${'a'.repeat(64)}`, createdAt: 1, total: n, maxConcurrency: n, variables: {} }, Array.from({ length: n }, (_, i) => i));
    const writer = new StoreWriter(store, logger, { maxPendingTransitions: 100, retryMinMs: 10, retryMaxMs: 200 });
    const journal = writer.journalFor('r');
    try {
      expect(writer.whenBelowLimit()).toBeUndefined();
      await postgres.stop!();
      for (let i = 0; i < n; i++) journal.itemSettled(i, 'success', { outcome: 'success', value: i }, 1, 10, i);
      journal.runFinished('success', 10);
      const held = writer.whenBelowLimit();
      expect(held).toBeInstanceOf(Promise);
      let released = false;
      void held!.then(() => (released = true));
      await until(() => warnings.some((msg) => /state store unreachable; retrying/.test(msg)), 'a retried write');
      expect(writer.unreachable).toBe(true);
      expect(released).toBe(false);
      await postgres.start!();
      await held;
      await writer.drain();
      expect(writer.unreachable).toBe(false);
      const loaded = (await store.loadRun('r'))!;
      expect(loaded.state).toMatchObject({ status: 'success', completedAt: 10 });
      expect(loaded.items.every((item, i) => item.status === 'success' && (item.result as { value: number }).value === i)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('gives up on a store still unreachable when stopped, instead of hanging the shutdown', async (ctx) => {
    if (!postgres.stop || !postgres.start) ctx.skip();
    const { store, logger, warnings } = await storeInFreshSchema();
    await store.createRun({ runId: 'r', flowId: `sha256:${'a'.repeat(64)}`, createdAt: 1, total: 2, maxConcurrency: 2, variables: {} }, [0, 1]);
    // Retries far apart: only stop() can end the wait in time.
    const writer = new StoreWriter(store, logger, { retryMinMs: 60_000, retryMaxMs: 60_000 });
    const journal = writer.journalFor('r');
    try {
      await postgres.stop!();
      journal.itemSettled(0, 'success', { outcome: 'success', value: 0 }, 1, 10, 0);
      await until(() => writer.unreachable, 'a write waiting for the store');
      journal.itemSettled(1, 'success', { outcome: 'success', value: 1 }, 1, 10, 1);
      journal.runFinished('success', 10);
      writer.stop();
      await writer.drain();
      expect(warnings).toContain('state store unreachable at shutdown or closed: the last transitions stay unwritten; unfinished items run again after a restart');
    } finally {
      await postgres.start!();
    }
    try {
      // Nothing after the abandoned write was written: the run is not recorded finished.
      expect(await store.unfinishedRuns()).toEqual(['r']);
      expect((await store.loadRun('r'))!.items.map((item) => item.status)).toEqual(['pending', 'pending']);
    } finally {
      await store.close();
    }
  });
});
