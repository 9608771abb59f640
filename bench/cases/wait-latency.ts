/**
 * Wake-up latency of a long poll (e): how long after a run's last item completes does a
 * waiting `runs/get {wait: true}` return. Measured in this process on a RunManager whose
 * component calls are promises the bench settles itself, so the time is the runtime's own
 * (executor, run state, waiter wake-up, status snapshot), with no transport in it.
 */
import { MemoryBlobStore } from '../../blobstore/memory.js';
import type { FlowResult } from '../../protocol/index.js';
import type { StepInvocation } from '../../src/executor/item-executor.js';
import { RunManager } from '../../src/runs/run-manager.js';
import { MemoryStateStore } from '../../src/statestore/memory-state-store.js';
import { median, quantile } from '../lib/measure.js';
import { ONE_STEP_FLOW } from './flowrun-runs.js';

export interface WaitLatency {
  samples: number;
  medianMicros: number;
  p99Micros: number;
  maxMicros: number;
}

/** `samples` runs of `itemsPerRun` items; each sample times the last item's completion → the waiter's return. */
export async function waitLatency(samples: number, itemsPerRun = 4): Promise<WaitLatency> {
  let gates: Array<() => void> = [];
  const invoke = (inv: StepInvocation): Promise<FlowResult> =>
    new Promise((resolve) => gates.push(() => resolve({ outcome: 'success', value: inv.input })));
  const runs = new RunManager({ blobs: new MemoryBlobStore(), store: new MemoryStateStore(), invoke });
  const inputs = Array.from({ length: itemsPerRun }, (_, i) => ({ x: i }));
  const times: number[] = [];
  for (let s = 0; s < samples + 20; s++) {
    gates = [];
    const { runId } = await runs.submit({ flow: ONE_STEP_FLOW, inputs, wait: false, maxConcurrency: itemsPerRun, variables: {} });
    const waiting = runs.get({ runId, wait: true, includeResults: false, resultOrder: 'byIndex', offset: 0 });
    // Let every item reach its component call and the waiter park itself.
    await new Promise((resolve) => setImmediate(resolve));
    if (gates.length !== itemsPerRun) throw new Error(`expected ${itemsPerRun} calls in flight, got ${gates.length}`);
    for (let i = 0; i < itemsPerRun - 1; i++) gates[i]();
    await new Promise((resolve) => setImmediate(resolve));
    const t0 = process.hrtime.bigint();
    gates[itemsPerRun - 1]();
    const status = await waiting;
    const micros = Number(process.hrtime.bigint() - t0) / 1e3;
    if (status.status !== 'success') throw new Error(`wait returned a ${status.status} run`);
    if (s >= 20) times.push(micros); // the first ones warm the code up
  }
  return { samples, medianMicros: median(times), p99Micros: quantile(times, 0.99), maxMicros: Math.max(...times) };
}
