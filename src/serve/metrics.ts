import type { Logger } from '../log.js';
import type { NodeDirectory } from '../cluster/index.js';
import { StatusSchema } from '../../protocol/index.js';
import { CALL_OUTCOMES, type RuntimeMetrics } from '../api/runtime-metrics.js';
import type { MetricFamily } from './prometheus-text.js';
import type { WorkerIntake, WorkerPoolStats } from '../api/worker-intake.js';

const ITEM_STATUSES = ['success', 'failed', 'cancelled'] as const satisfies readonly (keyof ReturnType<RuntimeMetrics['itemsSettled']>)[];

/** Where `GET /metrics` reads from: the runtime, when there is one, and the node directory. */
export interface MetricsSources {
  readonly runtime?: RuntimeMetrics;
  readonly nodes?: NodeDirectory;
  /** The workers that dialled in (docs/workers.md). */
  readonly workers?: WorkerIntake;
  readonly logger: Logger;
}

/**
 * Every metric of `GET /metrics` (docs/serve.md, "Metrics"), read now. The counters of this
 * process cannot fail; a read of the state store can: then its metric is left out, its
 * `flowrun_metrics_source_up` is 0 and the failure is logged, and the rest is still served.
 */
export async function collectMetrics(sources: MetricsSources): Promise<MetricFamily[]> {
  const { runtime, nodes, logger } = sources;
  const [runs, nodeList] = await Promise.allSettled([runtime?.runsByStatus(), nodes?.list()]);
  const families: MetricFamily[] = [];
  const up: Array<{ source: string; ok: boolean }> = [];
  if (runtime !== undefined) {
    up.push({ source: 'runs', ok: runs.status === 'fulfilled' });
    if (runs.status === 'fulfilled') families.push(runsFamily(runs.value!));
    else logger.warn({ err: runs.reason }, `metrics: cannot count the runs of the state store: ${messageOf(runs.reason)}`);
    families.push(...processCounters(runtime));
  }
  if (nodes !== undefined) {
    up.push({ source: 'nodes', ok: nodeList.status === 'fulfilled' });
    if (nodeList.status === 'fulfilled') families.push(nodesFamily(nodeList.value!));
    else logger.warn({ err: nodeList.reason }, `metrics: cannot list the nodes: ${messageOf(nodeList.reason)}`);
  }
  if (sources.workers !== undefined) families.push(...workerFamilies(sources.workers.poolStats()));
  families.push({
    name: 'flowrun_metrics_source_up',
    help: 'Whether the last read of a source of these metrics succeeded (1) or failed (0, its metrics left out): runs = the state store, nodes = the node directory.',
    type: 'gauge',
    samples: up.map(({ source, ok }) => ({ labels: { source }, value: ok ? 1 : 0 })),
  });
  families.push(...processFamilies());
  return families;
}

function runsFamily(counts: Readonly<Record<string, number>>): MetricFamily {
  return {
    name: 'flowrun_runs',
    help: 'Runs in the state store by status (every node\'s on a shared store), derived as runs/list derives it.',
    type: 'gauge',
    samples: StatusSchema.options.map((status) => ({ labels: { status }, value: counts[status] ?? 0 })),
  };
}

/** What this process counted itself: live runs, settled items and their rate, component calls. */
function processCounters(runtime: RuntimeMetrics): MetricFamily[] {
  const settled = runtime.itemsSettled();
  return [
    { name: 'flowrun_live_runs', help: 'Runs this process executes now.', type: 'gauge', samples: [{ value: runtime.liveRuns() }] },
    {
      name: 'flowrun_items_total',
      help: 'Items this process settled since it started, by status.',
      type: 'counter',
      samples: ITEM_STATUSES.map((status) => ({ labels: { status }, value: settled[status] })),
    },
    {
      name: 'flowrun_items_per_second',
      help: 'Items this process settled per second over the last 10 seconds.',
      type: 'gauge',
      samples: [{ value: runtime.itemsPerSecond(Date.now()) }],
    },
    {
      name: 'flowrun_calls_total',
      help: 'Component calls this process made for steps (retries included), by component path and outcome: success, failed (the component failed it), error (no answer: server unreachable or lost, timeout, cancelled).',
      type: 'counter',
      samples: runtime.calls().flatMap((row) => CALL_OUTCOMES.map((outcome) => ({ labels: { component: row.component, outcome }, value: row[outcome] }))),
    },
  ];
}

function nodesFamily(list: readonly { alive: boolean }[]): MetricFamily {
  const alive = list.filter((node) => node.alive).length;
  return {
    name: 'flowrun_nodes',
    help: 'Nodes of the cluster on this state store by state (a store of one process: this one, alive).',
    type: 'gauge',
    samples: [
      { labels: { state: 'alive' }, value: alive },
      { labels: { state: 'dead' }, value: list.length - alive },
    ],
  };
}

/** Workers connected to this process and the calls they answered, per pool. */
function workerFamilies(pools: readonly WorkerPoolStats[]): MetricFamily[] {
  return [
    {
      name: 'flowrun_workers',
      help: 'Workers connected to this process, by pool and state (ready, or draining: taking no new calls).',
      type: 'gauge',
      samples: pools.flatMap((p) => [
        { labels: { pool: p.pool, state: 'ready' }, value: p.workers - p.draining },
        { labels: { pool: p.pool, state: 'draining' }, value: p.draining },
      ]),
    },
    {
      name: 'flowrun_worker_calls_total',
      help: 'Component calls this process sent to the workers of a pool, by outcome: success, or failed (an error answer, a timeout, a cancel, a lost worker).',
      type: 'counter',
      samples: pools.flatMap((p) => [
        { labels: { pool: p.pool, outcome: 'success' }, value: p.callsSucceeded },
        { labels: { pool: p.pool, outcome: 'failed' }, value: p.callsFailed },
      ]),
    },
  ];
}

const startTimeSeconds = Date.now() / 1000 - process.uptime();

/** The usual process metrics of Prometheus clients. */
function processFamilies(): MetricFamily[] {
  const cpu = process.cpuUsage();
  return [
    { name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.', type: 'gauge', samples: [{ value: process.memoryUsage.rss() }] },
    { name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', type: 'counter', samples: [{ value: (cpu.user + cpu.system) / 1e6 }] },
    { name: 'process_start_time_seconds', help: 'Start time of the process since unix epoch in seconds.', type: 'gauge', samples: [{ value: startTimeSeconds }] },
  ];
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
