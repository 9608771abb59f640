import type { RunsMetricsResultType, StepTiming } from '../../protocol/index.js';
import type { ItemTimings } from '../statestore/state-store.js';

/**
 * The figures of `runs/metrics` (docs/protocol.md) from a run's stored timings: items that started
 * and settled give the durations and the rate; step records give the per-component figures (every
 * step when the run records steps, else only the steps of failed items whose calls failed).
 */
export function runTimingMetrics(runId: string, timings: ItemTimings): RunsMetricsResultType {
  const durations: number[] = [];
  let firstStarted = Infinity;
  let firstCompleted = Infinity;
  let lastCompleted = -Infinity;
  let longest = 0;
  const { startedAt, completedAt } = timings;
  for (let i = 0; i < startedAt.length; i++) {
    const started = startedAt[i];
    const completed = completedAt[i];
    // Items cancelled before they started settle without running: they are no measure of speed.
    if (Number.isNaN(started) || Number.isNaN(completed)) continue;
    const duration = Math.max(0, completed - started);
    durations.push(duration);
    if (duration > longest) longest = duration;
    if (started < firstStarted) firstStarted = started;
    if (completed < firstCompleted) firstCompleted = completed;
    if (completed > lastCompleted) lastCompleted = completed;
  }
  const windowMs = Math.max(1, lastCompleted - firstStarted);
  const metrics: RunsMetricsResultType = {
    runId,
    itemsPerSec: durations.length === 0 ? 0 : durations.length / (windowMs / 1000),
    itemDurationMs: { ...percentiles(durations, [50, 95, 99]), max: longest } as RunsMetricsResultType['itemDurationMs'],
    components: componentFigures(timings.steps),
  };
  if (firstCompleted !== Infinity) metrics.firstItemLatencyMs = Math.max(0, firstCompleted - timings.createdAt);
  return metrics;
}

function componentFigures(steps: readonly StepTiming[]): RunsMetricsResultType['components'] {
  const byComponent = new Map<string, { calls: number; failures: number; retries: number; durations: number[] }>();
  for (const step of steps) {
    let c = byComponent.get(step.component);
    if (!c) byComponent.set(step.component, (c = { calls: 0, failures: 0, retries: 0, durations: [] }));
    c.calls += step.attempts;
    c.retries += Math.max(0, step.attempts - 1);
    if (step.status === 'failed') c.failures++;
    c.durations.push(step.durationMs);
  }
  return [...byComponent]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([component, c]) => ({
      component,
      calls: c.calls,
      failures: c.failures,
      retries: c.retries,
      durationMs: percentiles(c.durations, [50, 95]) as { p50: number; p95: number },
    }));
}

/** Nearest-rank percentiles (`p50`, …) of `values`; 0 for none. */
export function percentiles(values: number[], ranks: readonly number[]): Record<string, number> {
  const sorted = Float64Array.from(values).sort();
  const out: Record<string, number> = {};
  for (const rank of ranks) {
    out[`p${rank}`] = sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((rank / 100) * sorted.length) - 1))];
  }
  return out;
}
