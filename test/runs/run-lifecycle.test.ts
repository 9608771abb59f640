import { describe, expect, it } from 'vitest';
import type { FlowResult } from '../../protocol/index.js';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import type { StepInvoker } from '../../src/executor/item-executor.js';
import { RunManager } from '../../src/runs/run-manager.js';
import { runTimingMetrics } from '../../src/runs/run-timing-metrics.js';
import { thrownBy } from '../support/errors.js';

/** One step calling `/test/work`, which answers each input `{fail?: n}` by failing its first n calls. */
const flow = (onError?: unknown) => ({
  schema: 'https://stepflow.org/schemas/v1/flow.json',
  name: 'work',
  steps: [{ id: 'work', component: '/test/work', input: { $input: '$' }, ...(onError !== undefined && { onError }) }],
  output: { $step: 'work' },
});

const invoke: StepInvoker = async (inv) => {
  const { fail = 0 } = inv.input as { fail?: number };
  if (inv.attempt <= fail) return { outcome: 'failed', error: { code: 42, message: `attempt ${inv.attempt} fails`, data: { big: 'x' } } } satisfies FlowResult;
  return { outcome: 'success', value: inv.attempt };
};

const HOUR = 3_600_000;

describe('idempotency keys and their TTL', () => {
  it('answers a key with its run within the TTL, and starts a new run once the run is older', async () => {
    let clock = 1_800_000_000_000;
    const runs = new RunManager({ blobs: new MemoryBlobStore(), invoke, now: () => clock, idempotencyTtlMs: 24 * HOUR });
    const first = await runs.submit({ flow: flow(), inputs: [{}], idempotencyKey: 'k', wait: true, variables: {} });
    clock += 23 * HOUR;
    const again = await runs.submit({ flow: flow(), inputs: [{}, {}], idempotencyKey: 'k', wait: true, variables: {} });
    expect(again).toMatchObject({ runId: first.runId, deduplicated: true, items: { total: 1 } });
    expect(again.results).toHaveLength(1);

    clock += 2 * HOUR;
    const fresh = await runs.submit({ flow: flow(), inputs: [{}, {}], idempotencyKey: 'k', variables: {}, wait: false });
    expect(fresh.runId).not.toBe(first.runId);
    expect(fresh.deduplicated).toBeUndefined();
    expect(fresh.idempotencyKey).toBe('k');
    const listed = await runs.list({ limit: 10 });
    expect(listed.runs.map((r) => [r.runId, r.idempotencyKey])).toEqual([[fresh.runId, 'k'], [first.runId, undefined]]);
  });
});

describe('step records', () => {
  const items = async (onError: unknown, inputs: unknown[], recordSteps?: boolean) => {
    const runs = new RunManager({ blobs: new MemoryBlobStore(), invoke });
    const { runId } = await runs.submit({ flow: flow(onError), inputs, wait: true, variables: {}, recordSteps });
    return (await runs.items({ runId, offset: 0, limit: 100, order: 'byIndex', includeInput: false, includeSteps: true })).items;
  };

  it('records a failed step with its calls and the component error, code and message only', async () => {
    const [item] = await items({ action: 'retry', maxRetries: 1, backoffMs: 0 }, [{ fail: 5 }]);
    expect(item.status).toBe('failed');
    expect(item.steps).toEqual([
      { stepId: 'work', component: '/test/work', status: 'failed', startedAt: expect.any(String), durationMs: expect.any(Number), attempts: 2, error: { code: 42, message: 'attempt 2 fails' } },
    ]);
  });

  it('drops the records of a successful item unless the run records steps, retried calls included', async () => {
    const retry = { action: 'retry', maxRetries: 2, backoffMs: 0 };
    expect((await items(retry, [{ fail: 1 }]))[0].steps).toBeUndefined();
    const [kept] = await items(retry, [{ fail: 1 }], true);
    expect(kept.steps).toMatchObject([{ stepId: 'work', status: 'success', attempts: 2 }]);
    expect(kept.steps![0]).not.toHaveProperty('error');
  });

  it('records a failure a default stood in for as failed, with recordSteps', async () => {
    const useDefault = { action: 'useDefault', defaultValue: 0 };
    const [item] = await items(useDefault, [{ fail: 1 }], true);
    expect(item.status).toBe('success');
    expect(item.steps).toMatchObject([{ status: 'failed', attempts: 1, error: { code: 42 } }]);
  });
});

describe('runTimingMetrics', () => {
  const T = 1_800_000_000_000;
  it('measures items that started and settled, and components from the step records', () => {
    const startedAt = Float64Array.from([T + 10, T + 20, NaN, T + 30]);
    const completedAt = Float64Array.from([T + 110, T + 60, T + 5, T + 1030]);
    const step = (component: string, status: 'success' | 'failed', attempts: number, durationMs: number) => ({ stepId: 's', component, status, startedAt: T, durationMs, attempts });
    const metrics = runTimingMetrics('r', {
      createdAt: T,
      startedAt,
      completedAt,
      steps: [step('/b', 'success', 1, 10), step('/a', 'failed', 3, 30), step('/a', 'success', 1, 20)],
    });
    // Three items over 1,020 ms (first start to last completion); the cancelled one is no measure.
    expect(metrics.itemsPerSec).toBeCloseTo(3 / 1.02, 6);
    expect(metrics.firstItemLatencyMs).toBe(60);
    expect(metrics.itemDurationMs).toEqual({ p50: 100, p95: 1000, p99: 1000, max: 1000 });
    expect(metrics.components).toEqual([
      { component: '/a', calls: 4, failures: 1, retries: 2, durationMs: { p50: 20, p95: 30 } },
      { component: '/b', calls: 1, failures: 0, retries: 0, durationMs: { p50: 10, p95: 10 } },
    ]);
  });

  it('answers zeros for a run with no finished item', () => {
    const metrics = runTimingMetrics('r', { createdAt: T, startedAt: Float64Array.from([NaN]), completedAt: Float64Array.from([NaN]), steps: [] });
    expect(metrics).toEqual({ runId: 'r', itemsPerSec: 0, itemDurationMs: { p50: 0, p95: 0, p99: 0, max: 0 }, components: [] });
  });
});

describe('idempotencyTtl in the config', () => {
  const parse = (idempotencyTtl: unknown) => parseConfig({ idempotencyTtl }, { workingDirectory: '/', env: {} }).idempotencyTtlMs;
  it('reads milliseconds or a number with a unit', () => {
    expect(parse('7d')).toBe(7 * 24 * HOUR);
    expect(parse('90m')).toBe(90 * 60_000);
    expect(parse(1500)).toBe(1500);
    expect(parseConfig({}, { workingDirectory: '/', env: {} }).idempotencyTtlMs).toBeUndefined();
  });

  it('refuses anything else, naming the key', () => {
    for (const bad of ['soon', '-1h', 0]) expect(thrownBy(() => parse(bad), ConfigError).message).toContain('idempotencyTtl');
  });
});
