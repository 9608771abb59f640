import { describe, expect, it } from 'vitest';
import type { Flow } from '../../protocol/index.js';
import { compileFlow } from '../../src/flow/compile.js';
import type { StepInvoker } from '../../src/executor/item-executor.js';
import { silentLogger } from '../../src/log.js';
import { IndexRange, RunScheduler, workersFor, type ItemSource } from '../../src/runs/run-scheduler.js';
import { RunState } from '../../src/runs/run-state.js';

const FLOW = compileFlow({
  schema: 'https://stepflow.org/schemas/v1/flow.json',
  name: 'double',
  steps: [{ id: 'double', component: '/test/double', input: { $input: '$' } }],
  output: { $step: 'double' },
} as Flow);

/** Items given in a fixed order, as a source fed from claimed chunks of a run would give them. */
class ListedItems implements ItemSource {
  private at = 0;
  constructor(private readonly indices: readonly number[]) {}
  hasNext(): boolean {
    return this.at < this.indices.length;
  }
  next(): number {
    return this.indices[this.at++];
  }
}

function schedulerRecording(started: number[]): RunScheduler {
  const invoke: StepInvoker = async (inv) => {
    started.push(inv.input as number);
    return { outcome: 'success', value: (inv.input as number) * 2 };
  };
  return new RunScheduler({ invoke, transportRetries: 0, now: Date.now, logger: silentLogger, backpressure: () => undefined });
}

function runOf(total: number, items: ItemSource, workers: number) {
  const state = new RunState({ runId: 'r1', flowId: 'f1', createdAt: 0, total });
  const inputs = Array.from({ length: total }, (_, i) => i);
  return { state, compiled: FLOW, inputs, items, workers, variables: {}, signal: new AbortController().signal };
}

describe('RunScheduler', () => {
  it('starts only the items its source gives, in the order given, and leaves the others pending', async () => {
    const started: number[] = [];
    const run = runOf(6, new ListedItems([4, 1, 3]), 1);
    await schedulerRecording(started).schedule(run);
    expect(started).toEqual([4, 1, 3]);
    expect(run.state.counts).toEqual({ total: 6, pending: 3, running: 0, success: 3, failed: 0, cancelled: 0 });
    expect(run.state.itemStatusOf(0)).toBe('pending');
    expect(run.state.resultPage({}).results[4].result).toEqual({ outcome: 'success', value: 8 });
    expect(run.state.isTerminal).toBe(false);
  });

  it('runs a whole run from an IndexRange to its end', async () => {
    const started: number[] = [];
    const run = runOf(300, new IndexRange(300), workersFor(64, 300));
    await schedulerRecording(started).schedule(run);
    expect(started).toHaveLength(300);
    expect(new Set(started).size).toBe(300);
    expect(run.state.status).toBe('success');
  });

  it('has as many workers as maxConcurrency allows, never more than items, at least one', () => {
    expect(workersFor(8, 100)).toBe(8);
    expect(workersFor(100, 3)).toBe(3);
    expect(workersFor(0, 3)).toBe(1);
    expect(workersFor(4, 0)).toBe(0);
  });
});
