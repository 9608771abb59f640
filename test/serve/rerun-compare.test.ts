import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type FlowResult, type RunStatus } from '../../protocol/index.js';
import { connect, RunNotFoundError, type FlowrunClient, type RunHandle } from '../../src/client/index.js';
import { main } from '../../src/cli/main.js';
import { flowrun } from '../support/cli.js';
import { startGate } from '../support/gate.js';
import { fixturePath, requireBuilt } from '../support/paths.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';
import { GATE_FLOW } from '../support/workspace.js';

/**
 * `runs/rerun` and `runs/compare` on a real `flowrun serve` (SQLite) with a real component server
 * whose failing items a file decides (docs/protocol.md, "runs/rerun", "runs/compare"), through
 * the client and the CLI.
 */
const FLOW = { name: 'flaky', steps: [{ id: 'f', component: '/f/flaky', input: { n: { $input: 'n' } } }], output: { $step: 'f' } };
const INPUTS = Array.from({ length: 6 }, (_, n) => ({ n }));

let dir: string;
let served: ServedProcess;
let client: FlowrunClient;
/** The first run: items 1 and 4 failed. */
let source: RunHandle;

const setFailing = (ns: number[]) => writeFile(join(dir, 'failing.json'), JSON.stringify(ns));
const ok = (n: number): FlowResult => ({ outcome: 'success', value: { n, doubled: 2 * n } });

beforeAll(async () => {
  requireBuilt('dist/src/cli/bin.js');
  dir = await makeTempDir('rerun');
  await writeFile(
    join(dir, 'flowrun.yaml'),
    `plugins:
  f: { type: stepflow, command: node, args: [${JSON.stringify(fixturePath('flaky-server.mjs'))}], env: { FLAKY_FAILING: ${JSON.stringify(join(dir, 'failing.json'))} } }
  t: { type: stepflow, command: node, args: [${JSON.stringify(fixturePath('gate-server.mjs'))}] }
routes:
  "/f/{*component}": [{ plugin: f }]
  "/t/{*component}": [{ plugin: t }]
blobStore: { type: filesystem, path: blobs }
stateStore: { type: sqlite, path: state.db }
`,
  );
  served = await spawnServe(['--config', join(dir, 'flowrun.yaml')], { cwd: dir });
  client = await connect(served.url);
  await setFailing([1, 4]);
  source = await client.submit({ flow: FLOW, inputs: INPUTS, maxConcurrency: 2, flowLabel: 'nightly' });
  expect((await source.wait()).items).toMatchObject({ total: 6, success: 4, failed: 2 });
  await setFailing([]);
}, 60_000);
afterAll(async () => {
  await client?.close();
  await served?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function finished(handle: RunHandle): Promise<{ status: RunStatus; results: NonNullable<RunStatus['results']> }> {
  const status = await handle.wait();
  return { status, results: await handle.itemResults() };
}

describe('runs/rerun', () => {
  it('reruns the failed items over their original inputs as a new run linked by rerunOf and sourceIndex', async () => {
    const rerun = await source.rerun();
    expect(rerun.submitted).toMatchObject({ rerunOf: source.runId, flowId: source.submitted!.flowId, flowLabel: 'nightly', items: { total: 2 } });
    const { status, results } = await finished(rerun);
    expect(status).toMatchObject({ status: 'success', rerunOf: source.runId, items: { total: 2, success: 2 } });
    expect(results.map((r) => [r.itemIndex, r.sourceIndex, r.result])).toEqual([
      [0, 1, ok(1)],
      [1, 4, ok(4)],
    ]);
    // The source run is unchanged.
    expect((await source.status()).items).toMatchObject({ success: 4, failed: 2 });
  });

  it('reruns all items, the failed or cancelled ones, or items chosen by index; no item chosen is a run of no items', async () => {
    const all = await finished(await source.rerun({ items: 'all', maxConcurrency: 3, flowLabel: 'again' }));
    expect(all.status).toMatchObject({ status: 'success', flowLabel: 'again', items: { total: 6, success: 6 } });
    expect(all.results.map((r) => r.sourceIndex)).toEqual([0, 1, 2, 3, 4, 5]);

    const failedOrCancelled = await finished(await source.rerun({ items: 'failedOrCancelled' }));
    expect(failedOrCancelled.results.map((r) => r.sourceIndex)).toEqual([1, 4]);

    const chosen = await finished(await source.rerun({ items: [5, 0] }));
    expect(chosen.results.map((r) => [r.sourceIndex, r.result])).toEqual([
      [5, ok(5)],
      [0, ok(0)],
    ]);

    // A run without failures has nothing to rerun by default.
    const none = all.status.runId;
    const empty = await client.run(none).rerun();
    expect(empty.submitted).toMatchObject({ status: 'success', rerunOf: none, items: { total: 0 } });
  });

  it('refuses an unknown run (-32011), a run not finished (-32013) and items the run does not have (-32602 naming the entry)', async () => {
    const unknown = await client.run('00000000-0000-4000-8000-000000000000').rerun().catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(RunNotFoundError);
    expect(unknown).toMatchObject({ code: ErrorCodes.NotFound, runId: '00000000-0000-4000-8000-000000000000' });

    const gate = await startGate();
    try {
      const running = await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }] });
      await gate.arrived(1);
      const busy = await running.rerun().catch((e: unknown) => e);
      expect(busy).toMatchObject({ code: ErrorCodes.Conflict });
      expect((busy as Error).message).toContain(`Run ${running.runId} is running`);
      gate.release();
      await running.wait();
    } finally {
      await gate.close();
    }

    const outOfRange = await source.rerun({ items: [0, 6] }).catch((e: unknown) => e);
    expect(outOfRange).toMatchObject({ code: ErrorCodes.InvalidParams });
    expect((outOfRange as Error).message).toContain('field "items[1]": the run has no item 6');
    const twice = await source.rerun({ items: [2, 2] }).catch((e: unknown) => e);
    expect((twice as Error).message).toContain('field "items[1]": item 2 is named twice');
    const badSelection = await source.rerun({ items: 'broken' as 'all' }).catch((e: unknown) => e);
    expect(badSelection).toMatchObject({ code: ErrorCodes.InvalidParams });
    expect((badSelection as Error).message).toContain('"items"');
  });
});

describe('runs/compare', () => {
  it('matches a rerun\'s items to its source through sourceIndex: the rerun lacks the items it did not rerun', async () => {
    const rerun = await source.rerun();
    await rerun.wait();
    const compared = await client.compare([source.runId, rerun.runId]);
    expect(compared.runs.map((r) => r.runId)).toEqual([source.runId, rerun.runId]);
    expect(compared.summary).toEqual({ items: 6, same: 0, different: 2, missing: 4 });
    const failedAt = (n: number) => (compared.items[n].results[0] as { outcome: string }).outcome;
    expect(compared.items.map((i) => i.key)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(compared.items[1]).toEqual({ key: 1, results: [compared.items[1].results[0], ok(1)], same: false });
    expect(failedAt(1)).toBe('failed');
    expect(compared.items[0]).toEqual({ key: 0, results: [ok(0), null], same: false });
  });

  it('matches unrelated runs by item index, compares three runs, and pages', async () => {
    const fresh = await client.submit({ flow: FLOW, inputs: INPUTS, variables: { tone: 'dry' }, maxConcurrency: 3 });
    await fresh.wait();
    const rerun = await source.rerun();
    await rerun.wait();
    const two = await client.compare([source.runId, fresh.runId]);
    expect(two.summary).toEqual({ items: 6, same: 4, different: 2, missing: 0 });
    // What each run was submitted with, for telling them apart (the dashboard's Compare page).
    expect(two.settings[1]).toEqual({ variables: { tone: 'dry' }, maxConcurrency: 3 });
    expect(two.settings[0].variables).toEqual({});
    expect(two.items.filter((i) => !i.same).map((i) => i.key)).toEqual([1, 4]);

    const three = await client.compare([source.runId, rerun.runId, fresh.runId], { onlyDifferent: true, limit: 4 });
    expect(three.summary).toEqual({ items: 6, same: 0, different: 2, missing: 4 });
    expect(three.items.map((i) => i.key)).toEqual([0, 1, 2, 3]);
    expect(three.nextOffset).toBe(4);
    const rest = await client.compare([source.runId, rerun.runId, fresh.runId], { onlyDifferent: true, offset: 4, limit: 4 });
    expect(rest.items.map((i) => i.key)).toEqual([4, 5]);
    expect(rest.nextOffset).toBeUndefined();
    expect(rest.items[0].results).toEqual([rest.items[0].results[0], ok(4), ok(4)]);
  });

  it('refuses fewer than 2 or more than 4 runs and a run named twice (-32602), and an unknown run (-32011)', async () => {
    const one = await client.compare([source.runId]).catch((e: unknown) => e);
    expect(one).toMatchObject({ code: ErrorCodes.InvalidParams });
    expect((one as Error).message).toContain('"runIds"');
    const five = await client.compare(Array(5).fill(source.runId)).catch((e: unknown) => e);
    expect(five).toMatchObject({ code: ErrorCodes.InvalidParams });
    const twice = await client.compare([source.runId, source.runId]).catch((e: unknown) => e);
    expect((twice as Error).message).toContain('field "runIds[1]"');
    const unknown = await client.compare([source.runId, '00000000-0000-4000-8000-000000000001']).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(RunNotFoundError);
    expect(unknown).toMatchObject({ runId: '00000000-0000-4000-8000-000000000001' });
  });
});

describe('flowrun rerun and flowrun compare', () => {
  const env = () => ({ FLOWRUN_URL: served.url });

  it('flowrun rerun --wait runs the failed items again and prints the new run; flowrun compare --json lists every item', async () => {
    const r = await flowrun(['rerun', source.runId.slice(0, 8), '--wait'], { env: env() });
    expect(r.code).toBe(0);
    const rerun = JSON.parse(r.stdout) as RunStatus;
    expect(rerun).toMatchObject({ status: 'success', rerunOf: source.runId, items: { total: 2, success: 2 } });
    expect(r.stderr).toContain(`rerun ${rerun.runId} of run ${source.runId} (2 item(s))`);

    const c = await flowrun(['compare', source.runId, rerun.runId, '--json'], { env: env() });
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout)).toEqual(await client.compare([source.runId, rerun.runId]));

    const bad = await flowrun(['rerun', source.runId, '--items', 'some'], { env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--items: expected failed, failedOrCancelled, all or item indices');
    const alone = await flowrun(['compare', source.runId], { env: env() });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('expected 2 to 4 run ids, got 1');
  }, 60_000);

  it('flowrun compare on a terminal shows each run with its counts and duration, then the differing items', async () => {
    const rerun = await source.rerun();
    await rerun.wait();
    const printed: string[] = [];
    const out = { line: (t: string) => printed.push(t), error: (t: string) => printed.push(t), isTerminal: true };
    expect(await main(['compare', source.runId, rerun.runId, '--url', served.url], out)).toBe(0);
    const text = printed.join('\n');
    const rows = text.split('\n');
    expect(rows[0]).toMatch(/^\s+RUN\s+RERUN OF\s+STATUS\s+ITEMS\s+SUCCESS\s+FAILED\s+CANCELLED\s+DURATION$/);
    expect(rows[1]).toMatch(new RegExp(`^A  ${source.runId}\\s+success\\s+6\\s+4\\s+2\\s+0\\s+\\d+\\.\\d\\ds$`));
    expect(rows[2]).toMatch(new RegExp(`^B  ${rerun.runId}  A\\s+success\\s+2\\s+2\\s+0\\s+0\\s+\\d+\\.\\d\\ds$`));
    expect(text).toContain('6 items: 0 same, 2 different, 4 missing from some run');
    expect(text).toMatch(/ITEM\s+A\s+B/);
    expect(text).toMatch(/\n\s+0\s+\{"n":0,"doubled":0\}\s+—/);
    expect(text).toMatch(/\n\s+1\s+failed: step "f" failed: .*item 1 is listed as failing\s+\{"n":1,"doubled":2\}/);
  }, 60_000);
});
