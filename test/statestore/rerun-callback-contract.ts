import { describe, expect, it } from 'vitest';
import type { RunRecord, StateStore } from '../../src/statestore/index.js';
import type { CallbackDelivery } from '../../src/statestore/callback-outbox.js';
import { describeRetentionContract } from './retention-contract.js';

/** What the lifecycle contract needs of the suite around it. */
export interface RerunCallbackContractContext {
  store(): StateStore;
  /** Reopens the store on the same data; undefined for a store that does not outlive itself. */
  reopen?: () => Promise<void>;
}

const NOW = 1_900_000_000_000;

/**
 * Reruns and the completion-callback outbox, as every StateStore backend keeps them
 * (docs/callbacks.md, docs/protocol.md "runs/rerun"). Called inside the state store contract.
 */
export function describeRerunCallbackContract(ctx: RerunCallbackContractContext): void {
  describeRetentionContract(ctx);
  let clock = 1_700_000_000_000;
  const record = (runId: string, total: number, fields: Partial<RunRecord> = {}): RunRecord => ({
    runId,
    flowId: 'sha256:flow-a',
    createdAt: (clock += 1000),
    total,
    maxConcurrency: 4,
    variables: {},
    ...fields,
  });
  const inputsOf = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));
  const claim = (now: number, limit = 10, holder = 'node-a'): Promise<CallbackDelivery[]> =>
    ctx.store().claimCallbacks({ holder, now, leaseMs: 1000, limit });

  describe('reruns', () => {
    it('keeps the run a rerun reruns and each item\'s source index', async () => {
      const run = record('rerun-1', 3, { rerunOf: 'source-1', sourceIndices: [4, 0, 7] });
      await ctx.store().createRun(run, inputsOf(3));
      const loaded = await ctx.store().loadRun('rerun-1');
      expect(loaded?.record).toEqual(run);
      expect(loaded?.items.map((item) => item.sourceIndex)).toEqual([4, 0, 7]);
      const listed = (await ctx.store().listRuns({ limit: 10 })).runs.find((r) => r.record.runId === 'rerun-1');
      expect(listed?.record.rerunOf).toBe('source-1');
    });

    it('gives items of a run that is no rerun no source index', async () => {
      await ctx.store().createRun(record('plain', 2), inputsOf(2));
      const loaded = await ctx.store().loadRun('plain');
      expect(loaded?.record.rerunOf).toBeUndefined();
      expect(loaded?.record.sourceIndices).toBeUndefined();
      expect(loaded?.items.every((item) => !('sourceIndex' in item))).toBe(true);
    });

    it('returns the inputs of chosen items in the order asked', async () => {
      await ctx.store().createRun(record('source', 5), inputsOf(5));
      expect(await ctx.store().loadInputs('source', [3, 0, 4])).toEqual([{ i: 3 }, { i: 0 }, { i: 4 }]);
      expect(await ctx.store().loadInputs('source', [])).toEqual([]);
    });
  });

  describe('callback outbox', () => {
    const target = { url: 'http://127.0.0.1:9/hook', secret: 's3cret', headers: { 'X-Team': 'a' } };

    it('stores the target with the run and shows only url and attempts before the run finishes', async () => {
      const run = record('cb-1', 1, { callback: target });
      await ctx.store().createRun(run, inputsOf(1));
      expect((await ctx.store().loadRun('cb-1'))?.record).toEqual(run);
      const states = await ctx.store().callbackStates(['cb-1', 'no-callback']);
      expect([...states]).toEqual([['cb-1', { url: target.url, attempts: 0 }]]);
      expect(await claim(NOW)).toEqual([]);
    });

    it('falls due with the run\'s finish and is claimed by one holder until its lease ends', async () => {
      await ctx.store().createRun(record('cb-1', 0, { callback: target }), []);
      await ctx.store().finishRun('cb-1', 'success', NOW);
      const [first, ...more] = await claim(NOW);
      expect(more).toEqual([]);
      expect(first).toMatchObject({ runId: 'cb-1', target, attempts: 0, dueSince: NOW });
      expect(first.deliveryId).toMatch(/^[0-9a-f-]{36}$/);
      expect(await claim(NOW + 500, 10, 'node-b')).toEqual([]);
      // The holder died: once its lease ends another claims the same delivery.
      const [again] = await claim(NOW + 1000, 10, 'node-b');
      expect(again.deliveryId).toBe(first.deliveryId);
    });

    it('records failed attempts, is due again at the next attempt, and never again once delivered', async () => {
      await ctx.store().createRun(record('cb-1', 0, { callback: target }), []);
      await ctx.store().finishRun('cb-1', 'failed', NOW);
      await claim(NOW);
      await ctx.store().recordCallbackAttempt('cb-1', { at: NOW + 1, statusCode: 503, error: 'HTTP 503', delivered: false, nextAttemptAt: NOW + 2000 });
      expect((await ctx.store().callbackStates(['cb-1'])).get('cb-1')).toEqual({ url: target.url, attempts: 1, lastAttemptAt: NOW + 1, statusCode: 503, error: 'HTTP 503' });
      // Released at once, due at its next attempt.
      expect(await claim(NOW + 1999)).toEqual([]);
      const [retry] = await claim(NOW + 2000);
      expect(retry.attempts).toBe(1);
      await ctx.store().recordCallbackAttempt('cb-1', { at: NOW + 2001, statusCode: 204, delivered: true });
      expect((await ctx.store().callbackStates(['cb-1'])).get('cb-1')).toEqual({
        url: target.url,
        attempts: 2,
        lastAttemptAt: NOW + 2001,
        statusCode: 204,
        deliveredAt: NOW + 2001,
      });
      expect(await claim(NOW + 10_000_000)).toEqual([]);
    });

    it('is never claimed again once given up', async () => {
      await ctx.store().createRun(record('cb-1', 0, { callback: target }), []);
      await ctx.store().finishRun('cb-1', 'success', NOW);
      await claim(NOW);
      await ctx.store().recordCallbackAttempt('cb-1', { at: NOW + 1, error: 'ECONNREFUSED; gave up after 1 attempts', delivered: false });
      expect(await claim(NOW + 10_000_000)).toEqual([]);
      expect((await ctx.store().callbackStates(['cb-1'])).get('cb-1')?.error).toMatch(/gave up/);
    });

    it('claims at most the limit, the longest due first, and falls due once however often the finish is recorded', async () => {
      for (const [k, finishedAt] of [[1, NOW + 30], [2, NOW + 10], [3, NOW + 20]] as const) {
        await ctx.store().createRun(record(`cb-${k}`, 0, { callback: { url: `http://127.0.0.1:9/${k}` } }), []);
        await ctx.store().finishRun(`cb-${k}`, 'success', finishedAt);
      }
      await ctx.store().finishRun('cb-2', 'success', NOW + 99);
      // The two due longest; in no particular order.
      const claimed = (await claim(NOW + 100, 2)).sort((a, b) => a.dueSince - b.dueSince);
      expect(claimed.map((d) => [d.runId, d.dueSince])).toEqual([
        ['cb-2', NOW + 10],
        ['cb-3', NOW + 20],
      ]);
      expect(claimed[0].target).toEqual({ url: 'http://127.0.0.1:9/2' });
      expect((await claim(NOW + 100)).map((d) => d.runId)).toEqual(['cb-1']);
    });

    it.skipIf(ctx.reopen === undefined)('keeps the outbox across a reopen', async () => {
      await ctx.store().createRun(record('cb-1', 0, { callback: target }), []);
      await ctx.store().finishRun('cb-1', 'success', NOW);
      await ctx.reopen!();
      const [delivery] = await claim(NOW);
      expect(delivery).toMatchObject({ runId: 'cb-1', target, attempts: 0 });
    });
  });
}
