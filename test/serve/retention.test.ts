import { readdirSync, statSync } from 'node:fs';
import { rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, RunsDelete, RunsGc } from '../../protocol/index.js';
import { connect, RunNotFoundError, type FlowrunClient, type RunHandle, type SubmitParams } from '../../src/client/index.js';
import { main } from '../../src/cli/main.js';
import { flowrun } from '../support/cli.js';
import { startGate } from '../support/gate.js';
import { fixturePath, requireBuilt } from '../support/paths.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';
import { GATE_FLOW } from '../support/workspace.js';

/**
 * `runs/delete` and the retention sweep (`runs/gc`, `flowrun gc`) on a real `flowrun serve` with a
 * SQLite file and a filesystem blob store (docs/retention.md): rows and blob files are counted on
 * disk before and after. Ages are set on disk (completed_at, file mtimes) rather than waited for.
 */
const DAY = 86_400_000;
const flowNamed = (name: string) => ({ name, steps: [{ id: 'f', component: '/f/flaky', input: { n: { $input: 'n' } } }], output: { $step: 'f' } });
const MAP_FLOW = {
  name: 'fan-out',
  steps: [{ id: 'each', component: '/builtin/map', input: { items: { $input: 'ns' }, workflow: { $literal: flowNamed('child') } } }],
  output: { $step: 'each', path: 'successful' },
};

let dir: string;
let served: ServedProcess;
let client: FlowrunClient;

const dbPath = () => join(dir, 'state.db');
const blobRoot = () => join(dir, 'blobs');

/** Rows per table of the state database, read through a connection of the test's own. */
function rowCounts(): Record<'runs' | 'items' | 'callbacks', number> {
  const db = new Database(dbPath(), { readonly: true });
  try {
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { runs: count('runs'), items: count('items'), callbacks: count('callbacks') };
  } finally {
    db.close();
  }
}

/** The blob files on disk, by id, with their sizes. */
function blobFiles(): Map<string, number> {
  const files = new Map<string, number>();
  for (const shard of readdirSync(blobRoot())) {
    for (const name of readdirSync(join(blobRoot(), shard))) {
      if (/^[0-9a-f]{62}$/.test(name)) files.set(`sha256:${shard}${name}`, statSync(join(blobRoot(), shard, name)).size);
    }
  }
  return files;
}

const blobFile = (id: string) => join(blobRoot(), id.slice(7, 9), id.slice(9));

/** The namespaces each blob is recorded in (docs/security.md), by blob id. */
function blobNamespaces(blobIds: readonly string[]): Record<string, string[]> {
  const db = new Database(dbPath(), { readonly: true });
  try {
    const select = db.prepare('SELECT namespace FROM blob_namespaces WHERE blob_id = ? ORDER BY namespace');
    return Object.fromEntries(blobIds.map((id) => [id, (select.all(id) as Array<{ namespace: string }>).map((r) => r.namespace)]));
  } finally {
    db.close();
  }
}

/** Makes runs finished `days` ago, as the store sees them. */
function finishedDaysAgo(runIds: readonly string[], days: number): void {
  const db = new Database(dbPath());
  try {
    db.pragma('busy_timeout = 5000');
    const age = db.prepare('UPDATE runs SET completed_at = ? WHERE run_id = ?');
    for (const runId of runIds) expect(age.run(Date.now() - days * DAY, runId).changes).toBe(1);
  } finally {
    db.close();
  }
}

const storedDaysAgo = async (blobIds: readonly string[], days: number): Promise<void> => {
  const then = new Date(Date.now() - days * DAY);
  for (const id of blobIds) await utimes(blobFile(id), then, then);
};

async function finishedRun(flow: Record<string, unknown>, inputs: unknown[], extra: Partial<SubmitParams> = {}): Promise<RunHandle> {
  const handle = await client.submit({ flow, inputs, ...extra });
  expect((await handle.wait()).status).toBe('success');
  return handle;
}

beforeAll(async () => {
  requireBuilt('dist/src/cli/bin.js');
  dir = await makeTempDir('retention');
  await writeFile(
    join(dir, 'flowrun.yaml'),
    `plugins:
  f: { type: stepflow, command: node, args: [${JSON.stringify(fixturePath('flaky-server.mjs'))}] }
  t: { type: stepflow, command: node, args: [${JSON.stringify(fixturePath('gate-server.mjs'))}] }
  builtin: { type: builtin }
routes:
  "/f/{*component}": [{ plugin: f }]
  "/t/{*component}": [{ plugin: t }]
  "/builtin/{*component}": [{ plugin: builtin }]
blobStore: { type: filesystem, path: blobs }
stateStore: { type: sqlite, path: state.db }
retention: { runs: 30d, blobs: 90d, sweepEvery: 24d }
`,
  );
  served = await spawnServe(['--config', join(dir, 'flowrun.yaml')], { cwd: dir });
  client = await connect(served.url);
}, 60_000);
afterAll(async () => {
  await client?.close();
  await served?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('runs/delete', () => {
  it('deletes a finished run with its items, callback and child runs, and only them', async () => {
    const kept = await finishedRun(flowNamed('kept'), [{ n: 1 }]);
    const parent = await finishedRun(MAP_FLOW, [{ ns: [{ n: 1 }, { n: 2 }] }, { ns: [{ n: 3 }] }], {
      callback: { url: 'http://127.0.0.1:9/never-listening' },
    });
    const children = (await client.list({ parentRunId: parent.runId })).runs.map((r) => r.runId);
    expect(children).toHaveLength(2);
    const before = rowCounts();

    const cli = await flowrun(['delete', parent.runId, '--json', '--url', served.url]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const deleted = JSON.parse(cli.stdout) as { runIds: string[]; items: number };
    expect(deleted.runIds[0]).toBe(parent.runId);
    expect(deleted.runIds.slice(1).sort()).toEqual([...children].sort());
    expect(deleted.items).toBe(2 + 3);

    expect(rowCounts()).toEqual({ runs: before.runs - 3, items: before.items - 5, callbacks: before.callbacks - 1 });
    for (const runId of [parent.runId, ...children]) {
      await expect(client.run(runId).status()).rejects.toBeInstanceOf(RunNotFoundError);
    }
    expect(await kept.status()).toMatchObject({ status: 'success' });
    const again = await client.run(parent.runId).delete().catch((e: unknown) => e);
    expect(again).toBeInstanceOf(RunNotFoundError);
    expect(again).toMatchObject({ code: ErrorCodes.NotFound, runId: parent.runId });
  });

  it('refuses a run that is not finished (-32013) and deletes it once it is', async () => {
    const gate = await startGate();
    try {
      const running = await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }] });
      await gate.arrived(1);
      const refused = await running.delete().catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: ErrorCodes.Conflict, data: { runId: running.runId, status: 'running' } });
      expect((refused as Error).message).toContain(`Run ${running.runId} is running: only a finished run can be deleted`);
      const cli = await flowrun(['delete', running.runId, '--url', served.url]);
      expect(cli.code).toBe(2);
      expect(cli.stderr).toContain('only a finished run can be deleted');
      gate.release();
      expect((await running.wait()).status).toBe('success');
      expect(await running.delete()).toEqual({ runIds: [running.runId], items: 1 });
    } finally {
      await gate.close();
    }
  });

  it('refuses bad params naming the field (-32602)', async () => {
    const error = await client.sendRequest(RunsDelete, { runId: '' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.InvalidParams });
    expect((error as Error).message).toContain('runId');
    const gc = await client.sendRequest(RunsGc, { dryRun: 'yes' } as never).catch((e: unknown) => e);
    expect(gc).toMatchObject({ code: ErrorCodes.InvalidParams });
    expect((gc as Error).message).toContain('dryRun');
  });
});

describe('retention sweep', () => {
  it('deletes old finished runs and old blobs no kept run uses; a dry run deletes nothing; the store and blob files shrink', async () => {
    const old1 = await finishedRun(flowNamed('shared'), [{ n: 1 }, { n: 2 }]);
    const old2 = await finishedRun(flowNamed('only-old'), [{ n: 3 }]);
    const recent = await finishedRun(flowNamed('shared'), [{ n: 4 }]);
    const oldData = await client.putBlob({ scratch: 'old' });
    const newData = await client.putBlob({ scratch: 'new' });
    const gate = await startGate();
    try {
      // Running during the sweep: never touched, and its flow is kept however old.
      const running = await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }] });
      await gate.arrived(1);
      const flows = {
        shared: old1.submitted!.flowId,
        onlyOld: old2.submitted!.flowId,
        gate: running.submitted!.flowId,
      };
      expect(recent.submitted!.flowId).toBe(flows.shared);
      finishedDaysAgo([old1.runId, old2.runId], 40);
      finishedDaysAgo([recent.runId], 10);
      await storedDaysAgo([flows.shared, flows.onlyOld, flows.gate, oldData], 100);

      const rowsBefore = rowCounts();
      const blobsBefore = blobFiles();
      expect(blobNamespaces([flows.shared, flows.onlyOld, oldData, newData])).toEqual({
        [flows.shared]: ['default'], [flows.onlyOld]: ['default'], [oldData]: ['default'], [newData]: ['default'],
      });
      const dry = await flowrun(['gc', '--dry-run', '--json', '--url', served.url]);
      expect(dry.code).toBe(0);
      const wouldDelete = JSON.parse(dry.stdout);
      expect(wouldDelete).toMatchObject({ dryRun: true, runs: { count: 2, items: 3 }, blobs: { count: 2 } });
      expect(wouldDelete.runs.runIds.sort()).toEqual([old1.runId, old2.runId].sort());
      expect(wouldDelete.blobs.blobIds.sort()).toEqual([flows.onlyOld, oldData].sort());
      expect(wouldDelete.blobs.bytes).toBe(blobsBefore.get(flows.onlyOld)! + blobsBefore.get(oldData)!);
      expect(rowCounts()).toEqual(rowsBefore);
      expect(blobFiles()).toEqual(blobsBefore);

      const report = await client.gc();
      expect(report).toMatchObject({ dryRun: false, runs: { count: 2, items: 3 }, blobs: { count: 2, bytes: wouldDelete.blobs.bytes } });
      expect(rowCounts()).toEqual({ runs: rowsBefore.runs - 2, items: rowsBefore.items - 3, callbacks: rowsBefore.callbacks });
      const blobsAfter = blobFiles();
      expect([...blobsBefore.keys()].filter((id) => !blobsAfter.has(id)).sort()).toEqual([flows.onlyOld, oldData].sort());
      expect(blobsAfter.size).toBe(blobsBefore.size - 2);
      // The deleted blobs' namespaces went with them; the kept ones' stay.
      expect(blobNamespaces([flows.shared, flows.onlyOld, oldData, newData])).toEqual({
        [flows.shared]: ['default'], [flows.onlyOld]: [], [oldData]: [], [newData]: ['default'],
      });
      // The same value stored again is recorded again (this process forgot it too).
      expect(await client.putBlob({ scratch: 'old' })).toBe(oldData);
      expect(blobNamespaces([oldData])).toEqual({ [oldData]: ['default'] });

      // What kept runs use is all there: a recent run's results, its old flow, the running run.
      for (const gone of [old1, old2]) await expect(gone.status()).rejects.toBeInstanceOf(RunNotFoundError);
      expect(await recent.itemResults()).toMatchObject([{ result: { outcome: 'success', value: { n: 4, doubled: 8 } } }]);
      expect((await client.getBlob(flows.shared)).blobType).toBe('flow');
      expect((await client.getBlob(newData)).data).toEqual({ scratch: 'new' });
      gate.release();
      expect((await running.wait()).status).toBe('success');
      // The shared flow runs again from its blob.
      expect((await (await client.submit({ flowId: flows.shared, inputs: [{ n: 5 }], wait: true })).submitted)?.status).toBe('success');

      // Nothing is old any more: a second sweep deletes nothing, as JSON when stdout is not a terminal.
      const text = await flowrun(['gc', '--url', served.url]);
      expect(text.code).toBe(0);
      expect(JSON.parse(text.stdout)).toMatchObject({ runs: { count: 0 }, blobs: { count: 0 } });
      // On a terminal: a line for runs, one for blobs, then the ids.
      const printed: string[] = [];
      const terminal = { line: (t: string) => printed.push(t), error: (t: string) => printed.push(t), isTerminal: true };
      finishedDaysAgo([recent.runId], 40);
      expect(await main(['gc', '--dry-run', '--url', served.url], terminal)).toBe(0);
      const rows = printed.join('\n').split('\n');
      expect(rows[0]).toMatch(/^runs: would delete 1 run\(s\), 1 item\(s\), finished before \d{4}-\d\d-\d\dT/);
      expect(rows[1]).toMatch(/^blobs: would delete 0 blob\(s\), 0 byte\(s\), stored before \d{4}-/);
      expect(rows.slice(2)).toEqual([`  run ${recent.runId}`]);
      // The dry run deleted nothing (one run was submitted since the sweep).
      expect(rowCounts().runs).toBe(rowsBefore.runs - 2 + 1);
    } finally {
      await gate.close();
    }
  });
});

describe('the sweep of flowrun serve', () => {
  it('runs at start: a run that aged past retention.runs while serve was down is deleted', async () => {
    const own = await makeTempDir('retention-start');
    const config = join(own, 'flowrun.yaml');
    await writeFile(
      config,
      `plugins:
  f: { type: stepflow, command: node, args: [${JSON.stringify(fixturePath('flaky-server.mjs'))}] }
routes:
  "/f/{*component}": [{ plugin: f }]
blobStore: { type: filesystem, path: blobs }
stateStore: { type: sqlite, path: state.db }
retention: { runs: 30d, sweepEvery: 24d }
`,
    );
    let server = await spawnServe(['--config', config], { cwd: own });
    try {
      const first = await connect(server.url);
      const old = await first.submit({ flow: flowNamed('aging'), inputs: [{ n: 1 }, { n: 2 }], wait: true });
      const fresh = await first.submit({ flow: flowNamed('aging'), inputs: [{ n: 3 }], wait: true });
      await first.close();
      expect(await server.stop()).toBe(0);
      const db = new Database(join(own, 'state.db'));
      db.prepare('UPDATE runs SET completed_at = ? WHERE run_id = ?').run(Date.now() - 31 * DAY, old.runId);
      db.close();

      server = await spawnServe(['--config', config], { cwd: own });
      const count = (runId: string) => {
        const reader = new Database(join(own, 'state.db'), { readonly: true });
        try {
          return (reader.prepare('SELECT (SELECT count(*) FROM runs WHERE run_id = ?) + (SELECT count(*) FROM items WHERE run_id = ?) AS n').get(runId, runId) as { n: number }).n;
        } finally {
          reader.close();
        }
      };
      await waitFor(() => count(old.runId) === 0, { what: 'the old run swept at start', timeoutMs: 30_000 });
      expect(count(fresh.runId)).toBe(2);
    } finally {
      await server.stop();
      await rm(own, { recursive: true, force: true });
    }
  }, 60_000);
});

