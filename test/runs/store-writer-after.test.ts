import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { StoreWriter } from '../../src/runs/store-writer.js';
import { MemoryStateStore } from '../../src/statestore/memory-state-store.js';
import type { ItemTransitions, RunRecord } from '../../src/statestore/index.js';

function record(runId: string, total: number): RunRecord {
  return { runId, flowId: 'sha256:f', createdAt: 1, total, maxConcurrency: total, variables: {} };
}

/** A memory store that notes each `recordItems` call (how many transitions) and what was stored when `after` work ran. */
async function observedStore(total: number) {
  const store = new MemoryStateStore();
  await store.createRun(record('r', total), Array.from({ length: total }, (_, i) => i));
  const batches: number[] = [];
  const recordItems = store.recordItems.bind(store);
  store.recordItems = (transitions: ItemTransitions) => {
    batches.push(transitions.length);
    return recordItems(transitions);
  };
  return { store, batches };
}

describe('StoreWriter.after', () => {
  it('runs once every transition queued before it is stored, without splitting the batch being filled', async () => {
    const { store, batches } = await observedStore(4);
    const writer = new StoreWriter(store, silentLogger);
    const journal = writer.journalFor('r');
    const seen: string[][] = [];
    const statuses = async () => (await store.loadRun('r'))!.items.map((item) => item.status);
    journal.itemStarted(0, 1);
    journal.itemSettled(0, 'success', { outcome: 'success', value: 0 }, 1, 5, 0);
    writer.after(async () => void seen.push(await statuses()));
    journal.itemStarted(1, 1);
    journal.itemSettled(1, 'failed', { outcome: 'failed', error: { code: 1, message: 'x' } }, 1, 5, 1);
    await writer.drain();
    // One turn of the event loop: one batch of four transitions, and the work after it.
    expect(batches).toEqual([4]);
    expect(seen).toEqual([['success', 'failed', 'pending', 'pending']]);
  });

  it('runs in order after a batch already written, and not at all once the writer stopped', async () => {
    const { store } = await observedStore(2);
    const writer = new StoreWriter(store, silentLogger);
    const order: string[] = [];
    writer.journalFor('r').itemStarted(0, 1);
    await writer.settled();
    writer.after(async () => void order.push('first'));
    writer.after(async () => void order.push('second'));
    await writer.drain();
    expect(order).toEqual(['first', 'second']);
    writer.stop();
    writer.after(async () => void order.push('after stop'));
    await writer.drain();
    expect(order).toEqual(['first', 'second']);
  });
});
