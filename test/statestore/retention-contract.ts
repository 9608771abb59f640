import { describe, expect, it } from 'vitest';
import type { ItemUpdate, RunRecord, StateStore } from '../../src/statestore/index.js';
import { ItemTransitions } from '../../src/statestore/item-transitions.js';
import type { RerunCallbackContractContext } from './rerun-callback-contract.js';

const T0 = 1_800_000_000_000;

/**
 * Deletion and what retention reads (docs/retention.md), as every StateStore backend keeps them:
 * a run deleted with its items, inputs, callback and child runs, only when all are finished.
 */
export function describeRetentionContract(ctx: RerunCallbackContractContext): void {
  let clock = T0;
  const store = (): StateStore => ctx.store();
  const record = (runId: string, total: number, fields: Partial<RunRecord> = {}): RunRecord => ({
    runId,
    flowId: 'sha256:flow-a',
    createdAt: (clock += 1000),
    total,
    maxConcurrency: 4,
    variables: {},
    ...fields,
  });
  /** A run whose items all succeeded, finished at `completedAt`. */
  const finishedRun = async (runId: string, total: number, completedAt: number, fields: Partial<RunRecord> = {}): Promise<void> => {
    await store().createRun(record(runId, total, fields), Array.from({ length: total }, (_, i) => ({ i })));
    const updates: ItemUpdate[] = Array.from({ length: total }, (_, i) => ({
      runId,
      itemIndex: i,
      status: 'success' as const,
      attempts: 1,
      result: { outcome: 'success' as const, value: i },
      completedAt,
      completionSeq: i,
    }));
    if (total > 0) await store().recordItems(ItemTransitions.of(updates));
    await store().finishRun(runId, 'success', completedAt);
  };
  const listedIds = async (): Promise<string[]> => (await store().listRuns({ limit: 100 })).runs.map((r) => r.record.runId);

  describe('deleteRun', () => {
    it('deletes a finished run with its items, inputs, callback and child runs, recursively, and nothing else', async () => {
      await finishedRun('keep', 2, T0);
      await finishedRun('parent', 3, T0, { callback: { url: 'http://127.0.0.1:9/hook' }, flowId: 'sha256:flow-p' });
      await finishedRun('child', 2, T0, { parentRunId: 'parent', parentItemIndex: 1, flowId: 'sha256:flow-c' });
      await finishedRun('grandchild', 1, T0, { parentRunId: 'child', parentItemIndex: 0, flowId: 'sha256:flow-g' });
      const outcome = await store().deleteRun('parent');
      expect(outcome).toEqual({
        outcome: 'deleted',
        runIds: ['parent', 'child', 'grandchild'],
        flowIds: ['sha256:flow-p', 'sha256:flow-c', 'sha256:flow-g'],
        items: 6,
      });
      for (const runId of ['parent', 'child', 'grandchild']) {
        expect(await store().loadRun(runId)).toBeUndefined();
        expect(await store().loadInputs(runId)).toEqual([]);
      }
      expect([...(await store().callbackStates(['parent']))]).toEqual([]);
      expect(await listedIds()).toEqual(['keep']);
      expect((await store().loadRun('keep'))?.items.map((item) => item.status)).toEqual(['success', 'success']);
      expect(await store().countRunsByStatus()).toMatchObject({ success: 1 });
      expect(await store().deleteRun('parent')).toEqual({ outcome: 'notFound' });
      expect(await store().hasRun('parent')).toBe(false);
      expect(await store().hasRun('keep')).toBe(true);
    });

    it('refuses a run that is not finished, or one with an unfinished child, and deletes nothing', async () => {
      await store().createRun(record('running', 2), [{ i: 0 }, { i: 1 }]);
      expect(await store().deleteRun('running')).toMatchObject({ outcome: 'notTerminal', runId: 'running' });
      await finishedRun('parent', 1, T0);
      await store().createRun(record('child', 1, { parentRunId: 'parent', parentItemIndex: 0 }), [{ i: 0 }]);
      expect(await store().deleteRun('parent')).toMatchObject({ outcome: 'notTerminal', runId: 'child' });
      expect((await listedIds()).sort()).toEqual(['child', 'parent', 'running']);
      expect(await store().loadInputs('child')).toEqual([{ i: 0 }]);
    });

    it('deletes nothing on a dry run, and says what it would delete', async () => {
      await finishedRun('run', 2, T0);
      expect(await store().deleteRun('run', { dryRun: true })).toEqual({ outcome: 'deleted', runIds: ['run'], flowIds: ['sha256:flow-a'], items: 2 });
      expect((await store().loadRun('run'))?.items).toHaveLength(2);
      expect(await store().deleteRun('missing', { dryRun: true })).toEqual({ outcome: 'notFound' });
    });

    it('keeps list cursors of the runs left valid', async () => {
      for (const runId of ['a', 'b', 'c', 'd']) await finishedRun(runId, 0, T0);
      const first = await store().listRuns({ limit: 2 });
      expect(first.runs.map((r) => r.record.runId)).toEqual(['d', 'c']);
      await store().deleteRun('c');
      await store().deleteRun('b');
      expect((await store().listRuns({ limit: 2, cursor: first.nextCursor })).runs.map((r) => r.record.runId)).toEqual(['a']);
    });

    it.skipIf(ctx.reopen === undefined)('stays deleted across a reopen', async () => {
      await finishedRun('gone', 1, T0);
      await finishedRun('kept', 1, T0);
      await store().deleteRun('gone');
      await ctx.reopen!();
      expect(await store().loadRun('gone')).toBeUndefined();
      expect(await listedIds()).toEqual(['kept']);
    });
  });

  describe('run defaults', () => {
    it('keeps a run\'s defaults for its component calls with its record', async () => {
      const run = record('with-defaults', 1, { defaults: { timeoutMs: 1500, transportRetries: 0 } });
      await store().createRun(run, [{ i: 0 }]);
      expect((await store().loadRun('with-defaults'))?.record).toEqual(run);
      expect((await store().listRuns({ limit: 10 })).runs.find((r) => r.record.runId === 'with-defaults')?.record.defaults).toEqual(run.defaults);
    });
  });

  describe('what retention reads', () => {
    it('finds finished runs older than the cutoff, oldest first, but not unfinished ones nor children of a stored run', async () => {
      await finishedRun('newer', 0, T0 + 500);
      await finishedRun('oldest', 1, T0 - 100);
      await finishedRun('old', 1, T0);
      await finishedRun('old-child', 1, T0 - 200, { parentRunId: 'old', parentItemIndex: 0 });
      await finishedRun('orphan', 1, T0 - 50, { parentRunId: 'deleted-long-ago', parentItemIndex: 0 });
      await store().createRun(record('unfinished', 1), [{ i: 0 }]);
      expect(await store().expiredRuns(T0 + 1, 100)).toEqual(['oldest', 'orphan', 'old']);
      expect(await store().expiredRuns(T0 + 1, 2)).toEqual(['oldest', 'orphan']);
      expect(await store().expiredRuns(T0 - 100, 100)).toEqual([]);
    });

    it('counts the runs of each flow', async () => {
      await finishedRun('a1', 0, T0, { flowId: 'sha256:a' });
      await finishedRun('a2', 0, T0, { flowId: 'sha256:a' });
      await store().createRun(record('b1', 1, { flowId: 'sha256:b' }), [{ i: 0 }]);
      expect(Object.fromEntries(await store().flowUses())).toEqual({ 'sha256:a': 2, 'sha256:b': 1 });
      await store().deleteRun('a1');
      expect(Object.fromEntries(await store().flowUses())).toEqual({ 'sha256:a': 1, 'sha256:b': 1 });
    });
  });
}
