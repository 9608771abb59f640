/**
 * `npm run bench -- --cluster` (bench/README.md): on one throw-away PostgreSQL (with
 * pg_stat_statements where installed), in one run: throughput of 1, 2 and 3 `flowrun serve` nodes
 * and of the single-process mode, takeover after SIGKILL, cross-node wait wake-up, and the
 * `--peers` pass for flowrun's ratio to its peers. Prints a markdown table and writes
 * bench/results-cluster.json.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { PgUsageMeter, statementStatsSettings } from '../lib/pg-usage.js';
import { startPostgres } from '../lib/throwaway-postgres.js';
import { runPeers } from '../peers.js';
import { crossNodeWaitPass, type CrossNodeWait } from './cross-node-wait.js';
import { renderClusterReport, summarizeThroughput, type ClusterReport, type ThroughputSummary } from './report.js';
import { takeoverPass, type TakeoverResult } from './takeover.js';
import { clusterThroughputPass, inProcessNodePass, singleProcessPass, type ClusterMeasure, type ThroughputOptions } from './throughput.js';

export interface ClusterBenchOptions {
  quick: boolean;
  reps?: number;
  out?: string;
  /** Also run the `--peers` pass (default true). */
  peers: boolean;
  progress(line: string): void;
}

const MAX_CONCURRENCY = 1024;
/** The takeover case's lease: short, so the case takes seconds (the default is 10 s). */
const TAKEOVER_LEASE_MS = 3_000;
/** The node counts of case 1. */
const NODE_COUNTS = [1, 2, 3] as const;
/** Three nodes, their pools, the peers' pools and the bench's own connections. */
const MAX_CONNECTIONS = 'max_connections=200';

export async function runClusterBench(o: ClusterBenchOptions): Promise<ClusterReport> {
  const started = Date.now();
  const reps = o.reps ?? (o.quick ? 1 : 3);
  const items = o.quick ? 10_000 : 50_000;
  const server = await startPostgres({ settings: [...statementStatsSettings(), MAX_CONNECTIONS] });
  const meter = await PgUsageMeter.open(server.url);
  try {
    const throughput = await throughputCases(o, server.url, meter, reps, items);
    const takeover = await takeoverCase(o, server.url);
    const crossNodeWait = await waitCase(o, server.url);
    const peers = o.peers ? await runPeers({ quick: o.quick, reps: o.reps, serverUrl: server.url, progress: o.progress }) : undefined;
    const cluster1 = throughput.find((t) => t.id === ONE_NODE)!;
    const inProcessNode = throughput.find((t) => t.id === IN_PROCESS_NODE)!;
    const single = throughput.find((t) => t.id === SINGLE_PROCESS)!;
    const report: ClusterReport = {
      generatedAt: new Date().toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` },
      plan: { quick: o.quick, reps, items, maxConcurrency: MAX_CONCURRENCY, leaseMs: TAKEOVER_LEASE_MS },
      statementSource: meter.source,
      throughput,
      oneNodeVsSingleProcess: cluster1.itemsPerSec / single.itemsPerSec,
      inProcessNodeVsSingleProcess: inProcessNode.itemsPerSec / single.itemsPerSec,
      takeover,
      crossNodeWait,
      peers,
    };
    await new Promise<void>((resolve) => process.stdout.write(renderClusterReport(report) + '\n', () => resolve()));
    const out = o.out ?? fileURLToPath(new URL('../../../bench/results-cluster.json', import.meta.url));
    writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
    o.progress(`wrote ${out} (${report.durationSeconds.toFixed(0)} s)`);
    return report;
  } finally {
    await meter.close();
    await server.close();
  }
}

const ONE_NODE = 'cluster, 1 node';
/** A one-node cluster in the bench process, submitted to as the single-process row is: like for like. */
const IN_PROCESS_NODE = 'cluster, 1 node, in the bench process';
const SINGLE_PROCESS = 'single process (not joining)';

/** Case 1 for each node count and case 2, rep by rep, so noise spreads over all of them. */
async function throughputCases(o: ClusterBenchOptions, serverUrl: string, meter: PgUsageMeter, reps: number, items: number): Promise<ThroughputSummary[]> {
  const cases: Array<{ id: string; nodes: number; run(t: ThroughputOptions): Promise<ClusterMeasure> }> = [
    ...NODE_COUNTS.map((n) => ({ id: n === 1 ? ONE_NODE : `cluster, ${n} nodes`, nodes: n, run: (t: ThroughputOptions) => clusterThroughputPass(t, n) })),
    { id: IN_PROCESS_NODE, nodes: 1, run: inProcessNodePass },
    { id: SINGLE_PROCESS, nodes: 0, run: singleProcessPass },
  ];
  const measures = new Map<string, ClusterMeasure[]>(cases.map((c) => [c.id, []]));
  const failures = new Map<string, string>();
  let databases = 0;
  for (let rep = 1; rep <= reps; rep++) {
    // Every other rep in reverse, as the main bench does: no case always runs after another.
    for (const c of rep % 2 === 0 ? [...cases].reverse() : cases) {
      if (failures.has(c.id)) continue;
      o.progress(`cluster rep ${rep}/${reps} ${c.id} (${items} items)`);
      try {
        const m = await c.run({ serverUrl, meter, database: `cluster_${++databases}`, items, warmup: Math.min(2_000, items), maxConcurrency: MAX_CONCURRENCY });
        measures.get(c.id)!.push(m);
        o.progress(`  ${Math.round((m.items / m.wallMs) * 1000)} items/s, ${(m.runtimeCpuMicros / m.items).toFixed(1)} µs runtime CPU/item, ${(m.pg.statements / m.items).toPrecision(3)} statements/item, ${Math.round(m.pg.walBytes / m.items)} WAL bytes/item`);
      } catch (err) {
        failures.set(c.id, (err as Error).message);
        o.progress(`  FAILED: ${(err as Error).message}`);
      }
    }
  }
  return cases.map((c) => summarizeThroughput(c.id, c.nodes, items, measures.get(c.id)!, failures.get(c.id)));
}

async function takeoverCase(o: ClusterBenchOptions, serverUrl: string): Promise<TakeoverResult> {
  o.progress(`cluster takeover after SIGKILL (3 nodes, leaseMs ${TAKEOVER_LEASE_MS})`);
  try {
    const r = await takeoverPass({ serverUrl, database: 'cluster_takeover', items: 20_000, sleepMs: 20, leaseMs: TAKEOVER_LEASE_MS, maxConcurrency: 64 });
    o.progress(r.measured ? `  ${Math.round(r.takeoverMs)} ms` : `  ${r.reason}`);
    return r;
  } catch (err) {
    o.progress(`  FAILED: ${(err as Error).message}`);
    return { measured: false, reason: `FAILED: ${(err as Error).message}` };
  }
}

async function waitCase(o: ClusterBenchOptions, serverUrl: string): Promise<CrossNodeWait | { error: string }> {
  o.progress('cluster cross-node wait wake-up (2 nodes, 20 runs)');
  try {
    const r = await crossNodeWaitPass({ serverUrl, database: 'cluster_wait', samples: 20, sleepMs: 100 });
    o.progress(`  median ${r.medianMs} ms, ${r.medianPolls} runs/get answers per wait`);
    return r;
  } catch (err) {
    o.progress(`  FAILED: ${(err as Error).message}`);
    return { error: (err as Error).message };
  }
}
