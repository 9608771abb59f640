import { afterEach, describe, expect, it } from 'vitest';
import { StoreWriter } from '../../src/runs/store-writer.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStateStore } from '../../src/statestore/memory-state-store.js';
import type { ItemUpdate, RunRecord } from '../../src/statestore/index.js';

/**
 * The journal's batch window: transitions that arrive while the window since the last write is
 * open go out together in the next write, in order; a write after a quiet spell goes out on the
 * next turn. The windows here are a minute long or zero, so no assertion depends on timing.
 */
const stores: MemoryStateStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

/** A real memory store with a run of `n` items that remembers every batch written to it. */
async function recordingStore(n: number): Promise<{ store: MemoryStateStore; batches: ItemUpdate[][] }> {
  const store = new MemoryStateStore();
  stores.push(store);
  const record: RunRecord = { runId: 'r', flowId: 'sha256:f', createdAt: 1, total: n, maxConcurrency: n, variables: {} };
  await store.createRun(record, Array.from({ length: n }, (_, i) => i));
  const batches: ItemUpdate[][] = [];
  const recordItems = store.recordItems.bind(store);
  store.recordItems = (transitions) => {
    batches.push(transitions.toUpdates());
    return recordItems(transitions);
  };
  return { store, batches };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('StoreWriter batch window', () => {
  it('writes the first transition on the next turn, then holds what follows until the window ends', async () => {
    const { store, batches } = await recordingStore(3);
    const writer = new StoreWriter(store, silentLogger, { batchWindowMs: 60_000 });
    const journal = writer.journalFor('r');
    journal.itemStarted(0, 1);
    await turn();
    await turn();
    expect(batches.map((b) => b.length)).toEqual([1]);

    // Three turns' transitions within the window: nothing is written yet.
    journal.itemStarted(1, 1);
    await turn();
    journal.itemSettled(0, 'success', { outcome: 'success', value: 0 }, 1, 5, 0);
    await turn();
    journal.itemStarted(2, 1);
    journal.itemSettled(1, 'failed', { outcome: 'failed', error: { code: 1, message: 'x' } }, 1, 6, 1);
    await turn();
    expect(batches).toHaveLength(1);

    // `settled` does not wait for the window, and the held transitions go out in one batch, in order.
    await writer.settled();
    expect(batches).toHaveLength(2);
    expect(batches[1].map((u) => [u.itemIndex, u.status])).toEqual([
      [1, 'running'],
      [0, 'success'],
      [2, 'running'],
      [1, 'failed'],
    ]);
    const loaded = await store.loadRun('r');
    expect(loaded?.items.map((i) => i.status)).toEqual(['success', 'failed', 'running']);
  });

  it.each([
    ['a window of 0', { batchWindowMs: 0 }],
    ['the default window of a store other than SQLite', {}],
  ])('with %s writes each turn on the next one', async (_, options) => {
    const { store, batches } = await recordingStore(3);
    const writer = new StoreWriter(store, silentLogger, options);
    const journal = writer.journalFor('r');
    for (let i = 0; i < 3; i++) {
      journal.itemStarted(i, 1);
      await turn();
      await turn();
    }
    expect(batches.map((b) => b.map((u) => u.itemIndex))).toEqual([[0], [1], [2]]);
  });

  it('refuses a negative or non-finite window, naming the option', () => {
    const store = new MemoryStateStore();
    stores.push(store);
    expect(() => new StoreWriter(store, silentLogger, { batchWindowMs: -1 })).toThrow(/batchWindowMs/);
    expect(() => new StoreWriter(store, silentLogger, { batchWindowMs: Number.NaN })).toThrow(/batchWindowMs/);
  });
});
