import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, RpcError, type ItemDetail, type RunStatus } from '../../protocol/index.js';
import { connect, RunNotFoundError, type FlowrunClient } from '../../src/client/index.js';
import { flowrun } from '../support/cli.js';
import { rejectionOf } from '../support/errors.js';
import { fixturePath } from '../support/paths.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The run lifecycle through a real `flowrun serve` on SQLite and a real component server
 * (docs/protocol.md): idempotent submits, metadata and list filters, timings, `runs/items` with
 * step records, `runs/metrics`, and the CLI's `items` and `list` flags.
 */
const FLOW = { name: 'work', steps: [{ id: 'work', component: '/runs/work', input: { $input: '$' } }], output: { $step: 'work', path: 'i' } };
/** Six items, of which items 1 and 4 fail in their component. */
const INPUTS = Array.from({ length: 6 }, (_, i) => ({ i, fail: i === 1 || i === 4 }));

let dir: string;
let served: ServedProcess;
let client: FlowrunClient;
beforeAll(async () => {
  dir = await makeTempDir('lifecycle');
  const config = join(dir, 'flowrun.yaml');
  await writeFile(
    config,
    JSON.stringify({
      plugins: { runs: { type: 'stepflow', command: process.execPath, args: [fixturePath('runs-server.mjs')] } },
      routes: { '/runs/{*component}': [{ plugin: 'runs' }] },
      stateStore: { type: 'sqlite', path: join(dir, 'state.db') },
      blobStore: { type: 'filesystem', path: join(dir, 'blobs') },
    }),
  );
  await writeFile(join(dir, 'flow.json'), JSON.stringify(FLOW));
  served = await spawnServe(['--config', config], { cwd: dir });
  client = await connect(served.url);
}, 60_000);
afterAll(async () => {
  await client?.close();
  if (served) expect(await served.stop()).toBe(0);
  await rm(dir, { recursive: true, force: true });
});

/** A page of every item of a run (six at most here). */
const itemsOf = async (runId: string, options: Parameters<ReturnType<FlowrunClient['run']>['items']>[0] = {}): Promise<ItemDetail[]> =>
  (await client.run(runId).items(options)).items;

describe('idempotent submits', () => {
  it('answers a second submit of a key with the first run, deduplicated, and creates nothing', async () => {
    const first = await client.submit({ flow: FLOW, inputs: [{ i: 0 }], idempotencyKey: 'order-1', wait: true });
    const again = await client.submit({ flow: FLOW, inputs: [{ i: 7 }, { i: 8 }], idempotencyKey: 'order-1' });
    expect(again.runId).toBe(first.runId);
    expect(again.submitted).toMatchObject({ runId: first.runId, deduplicated: true, idempotencyKey: 'order-1', items: { total: 1 } });
    expect(first.submitted?.deduplicated).toBeUndefined();
    const listed = (await client.list({ limit: 1000 })).runs.filter((r) => r.idempotencyKey === 'order-1');
    expect(listed.map((r) => r.runId)).toEqual([first.runId]);
  });

  it('creates one run for 20 concurrent submits of one key over two connections', async () => {
    const other = await connect(served.url);
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, n) => (n % 2 === 0 ? client : other).submit({ flow: FLOW, inputs: [{ i: n }], idempotencyKey: 'burst' })),
      );
      const runIds = new Set(answers.map((a) => a.runId));
      expect(runIds.size).toBe(1);
      expect(answers.filter((a) => a.submitted?.deduplicated !== true)).toHaveLength(1);
      expect((await client.list({ limit: 1000 })).runs.filter((r) => r.idempotencyKey === 'burst')).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('passes the key, metadata and recordSteps from `flowrun submit`', async () => {
    const args = ['submit', '--url', served.url, '--flow', join(dir, 'flow.json'), '--input-json', '{"i":3}', '--idempotency-key', 'cli-key', '--meta', 'team=cli', '--meta', 'n=2', '--record-steps'];
    const first = await flowrun([...args, '--wait']);
    expect(first.code).toBe(0);
    const submitted = JSON.parse(first.stdout) as RunStatus & { deduplicated?: boolean };
    expect(submitted).toMatchObject({ status: 'success', idempotencyKey: 'cli-key', metadata: { team: 'cli', n: 2 } });
    const again = await flowrun(args);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ runId: submitted.runId, deduplicated: true });
    expect((await itemsOf(submitted.runId, { includeSteps: true }))[0].steps).toMatchObject([{ stepId: 'work', status: 'success' }]);
  });

  it('refuses a key that is empty or longer than 256 characters, naming the field', async () => {
    for (const idempotencyKey of ['', 'k'.repeat(257)]) {
      const err = await rejectionOf(client.submit({ flow: FLOW, inputs: [], idempotencyKey }), RpcError);
      expect(err.code).toBe(ErrorCodes.InvalidParams);
      expect(err.message).toContain('idempotencyKey');
    }
  });
});

describe('metadata and list filters', () => {
  let a: RunStatus;
  let b: RunStatus;
  beforeAll(async () => {
    a = (await client.submit({ flow: FLOW, inputs: [{ i: 1 }], flowLabel: 'nightly', metadata: { team: 'search', shard: 3, dry: false }, wait: true })).submitted!;
    b = (await client.submit({ flow: FLOW, inputs: [{ i: 2 }], metadata: { team: 'ads', shard: '3' }, wait: true })).submitted!;
  });

  it('returns metadata in the run status and filters by every given key and value', async () => {
    expect(a.metadata).toEqual({ team: 'search', shard: 3, dry: false });
    expect((await client.run(a.runId).status()).metadata).toEqual({ team: 'search', shard: 3, dry: false });
    const ids = async (params: Parameters<FlowrunClient['list']>[0]) => (await client.list({ limit: 1000, ...params })).runs.map((r) => r.runId);
    expect(await ids({ metadata: { team: 'search' } })).toEqual([a.runId]);
    expect(await ids({ metadata: { shard: '3' } })).toEqual([b.runId]);
    expect(await ids({ metadata: { shard: 3, dry: false } })).toEqual([a.runId]);
    expect(await ids({ flowLabel: 'nightly' })).toEqual([a.runId]);
    expect(await ids({ flowName: 'work', metadata: { team: 'ads' } })).toEqual([b.runId]);
    const oldest = await ids({ order: 'oldest', rootsOnly: true });
    expect(oldest.indexOf(a.runId)).toBeLessThan(oldest.indexOf(b.runId));
  });

  it('refuses metadata over 64 keys or with a value that is not a string, number or boolean, naming the field', async () => {
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, k) => [`k${k}`, k]));
    const many = await rejectionOf(client.submit({ flow: FLOW, inputs: [], metadata: tooMany }), RpcError);
    expect(many.code).toBe(ErrorCodes.InvalidParams);
    expect(many.message).toContain('metadata');
    expect(many.message).toContain('64');
    const nested = await rejectionOf(client.submit({ flow: FLOW, inputs: [], metadata: { deep: { x: 1 } as never } }), RpcError);
    expect(nested.code).toBe(ErrorCodes.InvalidParams);
    expect(nested.message).toContain('metadata.deep');
    const big = await rejectionOf(client.submit({ flow: FLOW, inputs: [], metadata: { blob: 'x'.repeat(17_000) } }), RpcError);
    expect(big.message).toContain('16384 bytes');
  });

  it('filters the CLI listing by --meta, --label, --roots and --order', async () => {
    const listed = await flowrun(['list', '--url', served.url, '--meta', 'team=search', '--meta', 'shard=3', '--label', 'nightly', '--roots', '--order', 'oldest', '--json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { runs: RunStatus[] }).runs.map((r) => r.runId)).toEqual([a.runId]);
    const bad = await flowrun(['list', '--url', served.url, '--meta', 'novalue']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--meta');
  });
});

describe('timings, items and metrics', () => {
  it('times the run and each item, and keeps step records of failed items only', async () => {
    const run = await client.submit({ flow: FLOW, inputs: INPUTS, maxConcurrency: 2, wait: true });
    const status = run.submitted!;
    expect(status.items).toMatchObject({ success: 4, failed: 2 });
    const created = Date.parse(status.createdAt);
    expect(Date.parse(status.startedAt!)).toBeGreaterThanOrEqual(created);
    expect(status.durationMs).toBe(Date.parse(status.completedAt!) - created);

    const items = await itemsOf(run.runId, { includeSteps: true, includeInput: true });
    expect(items.map((i) => [i.itemIndex, i.status, i.attempts])).toEqual(INPUTS.map((input, i) => [i, input.fail ? 'failed' : 'success', 1]));
    for (const item of items) {
      expect(item.input).toEqual(INPUTS[item.itemIndex]);
      expect(item.durationMs).toBe(Date.parse(item.completedAt!) - Date.parse(item.startedAt!));
      if (!INPUTS[item.itemIndex].fail) expect(item.steps).toBeUndefined();
      else {
        expect(item.steps).toEqual([
          {
            stepId: 'work', component: '/runs/work', status: 'failed', startedAt: expect.any(String), durationMs: expect.any(Number), attempts: 1,
            error: { code: -32004, message: `item ${item.itemIndex} fails on purpose` },
          },
        ]);
      }
    }
    const { results } = await run.results();
    expect(results.map((r) => r.startedAt)).toEqual(items.map((i) => i.startedAt));

    const failed = await run.items({ status: ['failed'], limit: 1 });
    expect(failed.items.map((i) => i.itemIndex)).toEqual([1]);
    expect(failed.nextOffset).toBe(1);
    expect((await run.items({ status: ['failed'], offset: 1 })).items.map((i) => i.itemIndex)).toEqual([4]);
    expect(failed.items[0]).not.toHaveProperty('steps');

    const metrics = await run.metrics();
    expect(metrics.itemsPerSec).toBeGreaterThan(0);
    const d = metrics.itemDurationMs;
    expect(d.p50 <= d.p95 && d.p95 <= d.p99 && d.p99 <= d.max).toBe(true);
    expect(metrics.firstItemLatencyMs).toBeGreaterThanOrEqual(0);
    // Without recordSteps the component figures cover the failed items' steps only.
    expect(metrics.components).toEqual([{ component: '/runs/work', calls: 2, failures: 2, retries: 0, durationMs: { p50: expect.any(Number), p95: expect.any(Number) } }]);
  });

  it('keeps step records of every item with recordSteps, and counts every call in the metrics', async () => {
    const run = await client.submit({ flow: FLOW, inputs: INPUTS, recordSteps: true, wait: true });
    const items = await itemsOf(run.runId, { includeSteps: true });
    expect(items.map((i) => i.steps?.map((s) => s.status))).toEqual(INPUTS.map((input) => [input.fail ? 'failed' : 'success']));
    expect((await run.metrics()).components).toMatchObject([{ component: '/runs/work', calls: 6, failures: 2, retries: 0 }]);
  });

  it('lists the failed items from `flowrun items --status failed` with their step and error', async () => {
    const run = await client.submit({ flow: FLOW, inputs: INPUTS, wait: true });
    const listed = await flowrun(['items', run.runId.slice(0, 10), '--status', 'failed', '--url', served.url, '--json']);
    expect(listed.code).toBe(0);
    const { runId, items } = JSON.parse(listed.stdout) as { runId: string; items: ItemDetail[] };
    expect(runId).toBe(run.runId);
    expect(items.map((i) => [i.itemIndex, i.status, i.steps?.[0].stepId])).toEqual([[1, 'failed', 'work'], [4, 'failed', 'work']]);
  });

  it('names an unknown run (-32011) and a bad field (-32602)', async () => {
    const missing = client.run('no-such-run');
    for (const call of [() => missing.items(), () => missing.metrics()]) {
      const err = await rejectionOf(call(), RunNotFoundError);
      expect(err.code).toBe(ErrorCodes.NotFound);
      expect(err.data).toEqual({ runId: 'no-such-run' });
    }
    const run = await client.submit({ flow: FLOW, inputs: [{ i: 0 }], wait: true });
    const tooMany = await rejectionOf(run.items({ limit: 1001 }), RpcError);
    expect(tooMany.code).toBe(ErrorCodes.InvalidParams);
    expect(tooMany.message).toContain('limit');
    const badStatus = await rejectionOf(run.items({ status: ['done' as never] }), RpcError);
    expect(badStatus.message).toContain('status');
  });
});
