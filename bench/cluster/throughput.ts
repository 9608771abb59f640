/**
 * Cases 1 and 2 of `--cluster` (bench/README.md): one run of N small items submitted to node 1 of
 * a cluster of 1–3 `flowrun serve` nodes through the client, and the same run in one process that
 * does not join the cluster. Each measures wall time, the runtimes' CPU and what PostgreSQL did.
 */
import pg from 'pg';
import type { RunHandle } from '../../src/client/index.js';
import { parseConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { ONE_STEP_FLOW } from '../cases/flowrun-runs.js';
import { inputsOf } from '../lib/payloads.js';
import type { PgUsage, PgUsageMeter } from '../lib/pg-usage.js';
import { processesCpuMicros } from '../lib/proc-cpu.js';
import { expectAllSucceeded, startBenchCluster, waitTerminal, withClient } from './bench-cluster.js';
import { nodeConfig } from './serve-node.js';

export interface ThroughputOptions {
  serverUrl: string;
  meter: PgUsageMeter;
  /** A database name not used before on the server. */
  database: string;
  items: number;
  warmup: number;
  maxConcurrency: number;
}

/** One timed run. */
export interface ClusterMeasure {
  items: number;
  wallMs: number;
  /** CPU µs of the runtime processes (the serve nodes, or this process), not of the component servers. */
  runtimeCpuMicros: number;
  pg: PgUsage;
}

/** Case 1: `nodes` serve processes on a fresh database; the run is submitted to the first. */
export async function clusterThroughputPass(o: ThroughputOptions, nodes: number): Promise<ClusterMeasure> {
  const cluster = await startBenchCluster(o.serverUrl, o.database, nodes);
  try {
    const pids = cluster.nodes.map((n) => n.pid);
    return await withClient(cluster.nodes[0].url, async (client) => {
      const submit = (inputs: unknown[]): Promise<RunHandle> => client.submit({ flow: ONE_STEP_FLOW, inputs, maxConcurrency: o.maxConcurrency });
      await runToEnd(submit, o.warmup);
      return timed(o, submit, () => processesCpuMicros(pids));
    });
  } finally {
    await cluster.close();
  }
}

/** Case 2: the same run through a runtime in this process, with the same config, not joining the cluster. */
export function singleProcessPass(o: ThroughputOptions): Promise<ClusterMeasure> {
  return inProcessPass(o, false);
}

/**
 * Case 1 in this process: a one-node cluster submitted to as case 2 is, without a `serve` and a
 * client between (the inputs' trip over a WebSocket, their parse and check): the cluster's own
 * cost against the single-process mode, like for like.
 */
export function inProcessNodePass(o: ThroughputOptions): Promise<ClusterMeasure> {
  return inProcessPass(o, true);
}

async function inProcessPass(o: ThroughputOptions, join: boolean): Promise<ClusterMeasure> {
  const cluster = await startBenchCluster(o.serverUrl, o.database, 0);
  try {
    const config = parseConfig(nodeConfig(cluster.setup), { workingDirectory: cluster.setup.workDir, env: process.env });
    // Not joining, it executes the runs it submits itself, as `flowrun run` does (docs/cluster.md).
    const runtime = await Runtime.create({ config, joinCluster: join });
    try {
      const submit = (inputs: unknown[]): Promise<RunHandle> => runtime.submit({ flow: ONE_STEP_FLOW, inputs, maxConcurrency: o.maxConcurrency });
      await runToEnd(submit, o.warmup);
      const cpu = (): number => {
        const c = process.cpuUsage();
        return c.user + c.system;
      };
      // Not joining, this runtime answers a run terminal from memory while its journal may still
      // be writing; a cluster node answers only once the run's finish is stored. Both are timed
      // until it is stored.
      return await timed(o, submit, cpu, join ? undefined : (runId) => untilFinishStored(cluster.setup.stateUrl, runId));
    } finally {
      await runtime.close();
    }
  } finally {
    await cluster.close();
  }
}

async function runToEnd(submit: (inputs: unknown[]) => Promise<RunHandle>, items: number): Promise<void> {
  const { status } = await waitTerminal(await submit(inputsOf('small', items)));
  expectAllSucceeded(status, items);
}

/** Times one run of `o.items` from submit to the terminal answer, with the CPU and PostgreSQL usage in that window. */
async function timed(
  o: ThroughputOptions,
  submit: (inputs: unknown[]) => Promise<RunHandle>,
  runtimeCpu: () => number,
  stored?: (runId: string) => Promise<void>,
): Promise<ClusterMeasure> {
  const inputs = inputsOf('small', o.items);
  const endWindow = await o.meter.start(o.database);
  const cpu0 = runtimeCpu();
  const t0 = performance.now();
  const { status } = await waitTerminal(await submit(inputs));
  await stored?.(status.runId);
  const wallMs = performance.now() - t0;
  const runtimeCpuMicros = runtimeCpu() - cpu0;
  const pg = await endWindow();
  expectAllSucceeded(status, o.items);
  return { items: o.items, wallMs, runtimeCpuMicros, pg };
}

/** Resolves once the run's finish is stored (written after all its items), polling every 5 ms. */
async function untilFinishStored(stateUrl: string, runId: string): Promise<void> {
  const client = new pg.Client({ connectionString: stateUrl });
  await client.connect();
  try {
    for (let polls = 0; polls < 60_000; polls++) {
      const { rows } = await client.query<{ completed_at: string | null }>('SELECT completed_at FROM runs WHERE run_id = $1', [runId]);
      if (rows[0]?.completed_at != null) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`run ${runId}: its finish was not stored within 5 minutes`);
  } finally {
    await client.end();
  }
}
