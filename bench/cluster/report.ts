/** The `--cluster` report: medians of the passes, the targets, and the markdown table. */
import { median } from '../lib/measure.js';
import type { StatementSource } from '../lib/pg-usage.js';
import type { PeerSummary } from '../peers.js';
import type { CrossNodeWait } from './cross-node-wait.js';
import type { TakeoverResult } from './takeover.js';
import type { ClusterMeasure } from './throughput.js';

export interface ThroughputSummary {
  id: string;
  /** Serve processes; 0 for the in-process runtime. */
  nodes: number;
  items: number;
  itemsPerSec: number;
  runtimeCpuMicrosPerItem: number;
  statementsPerItem: number;
  transactionsPerItem: number;
  walBytesPerItem: number;
  pgCpuMicrosPerItem: number;
  reps: ClusterMeasure[];
  error?: string;
}

export interface ClusterReport {
  generatedAt: string;
  durationSeconds: number;
  machine: { cpus: number; cpuModel: string; node: string; platform: string };
  plan: { quick: boolean; reps: number; items: number; maxConcurrency: number; leaseMs: number };
  statementSource: StatementSource;
  throughput: ThroughputSummary[];
  /** 1-node cluster (a `serve`, submitted to through a client) items/s ÷ single-process items/s. */
  oneNodeVsSingleProcess: number;
  /** 1-node cluster in the bench process items/s ÷ single-process items/s, like for like (target ≥ 0.8). */
  inProcessNodeVsSingleProcess: number;
  takeover: TakeoverResult | { measured: false; reason: string };
  crossNodeWait: CrossNodeWait | { error: string };
  peers?: PeerSummary[];
}

/** Medians over the reps of one case; per-item figures are per timed item. */
export function summarizeThroughput(id: string, nodes: number, items: number, reps: ClusterMeasure[], error?: string): ThroughputSummary {
  const per = (f: (m: ClusterMeasure) => number): number => median(reps.map((m) => f(m) / m.items));
  return {
    id,
    nodes,
    items,
    itemsPerSec: median(reps.map((m) => (m.items / m.wallMs) * 1000)),
    runtimeCpuMicrosPerItem: per((m) => m.runtimeCpuMicros),
    statementsPerItem: per((m) => m.pg.statements),
    transactionsPerItem: per((m) => m.pg.transactions),
    walBytesPerItem: per((m) => m.pg.walBytes),
    pgCpuMicrosPerItem: per((m) => m.pg.cpuMicros),
    reps,
    error,
  };
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');
/** Three significant digits: statements per item are far below 1 when the journal writes in batches. */
const fmtSmall = (n: number): string => (Number.isFinite(n) ? Number(n.toPrecision(3)).toString() : '—');
const met = (ok: boolean | undefined): string => (ok === undefined ? '–' : ok ? 'yes' : 'no');

export function renderClusterReport(r: ClusterReport): string {
  const lines = [
    `## flowrun cluster bench — ${r.generatedAt.slice(0, 16).replace('T', ' ')} UTC, ${r.plan.quick ? 'quick' : 'full'}, median of ${r.plan.reps}`,
    '',
    `One run of ${r.plan.items} small items (one echo step, stdio SDK echo per node, maxConcurrency ${r.plan.maxConcurrency}) submitted to node 1 through the client; ` +
      `the single-process row runs it in the bench process, timed until the run's finish is stored (as a cluster answers), and so does the in-process 1-node row, without a \`serve\` and a client between. Statements counted with ${r.statementSource}.`,
    '',
    `| case | nodes | items/s | runtime CPU µs/item | PG ${statementsHeader(r)}/item | WAL bytes/item | PG CPU µs/item |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of r.throughput) {
    const rate = t.error ? `FAILED: ${t.error}` : fmt(t.itemsPerSec);
    const statements = r.statementSource === 'pg_stat_statements' ? t.statementsPerItem : t.transactionsPerItem;
    lines.push(`| ${t.id} | ${t.nodes} | ${rate} | ${fmt(t.runtimeCpuMicrosPerItem, 1)} | ${fmtSmall(statements)} | ${fmt(t.walBytesPerItem)} | ${fmt(t.pgCpuMicrosPerItem, 1)} |`);
  }
  lines.push('', ...renderTargets(r));
  if (r.peers) lines.push('', ...renderPeerRatios(r));
  return lines.join('\n');
}

/** pg_stat_database counts transactions, not statements. */
function statementsHeader(r: ClusterReport): string {
  return r.statementSource === 'pg_stat_statements' ? 'statements' : 'transactions';
}

function renderTargets(r: ClusterReport): string[] {
  const lines = ['#### Targets', '', '| target | goal | actual | met |', '| --- | --- | --- | --- |'];
  const ratio = r.inProcessNodeVsSingleProcess;
  lines.push(`| 1-node cluster vs single-process mode, both in the bench process | ≥ 0.8× | ${fmt(ratio, 2)}× | ${met(Number.isFinite(ratio) ? ratio >= 0.8 : undefined)} |`);
  lines.push(`| 1-node cluster through \`serve\` and a client vs single-process mode in the bench process | (shown) | ${fmt(r.oneNodeVsSingleProcess, 2)}× | – |`);
  const t = r.takeover;
  const takeover = 'measured' in t && t.measured
    ? `${fmt(t.takeoverMs)} ms (the killed node held ${t.chunksOfKilled} open chunk${t.chunksOfKilled === 1 ? '' : 's'}; chunk ${t.chunkIndex} claimed first; ${t.itemsRunningAtKill ?? '?'} items recorded running at the kill, ${t.itemsRunAgain} ran again)`
    : t.reason;
  const takeoverOk = 'measured' in t && t.measured ? t.takeoverMs <= r.plan.leaseMs + 2000 : undefined;
  lines.push(`| takeover after SIGKILL (leaseMs ${r.plan.leaseMs}) | ≤ ${r.plan.leaseMs + 2000} ms | ${takeover} | ${met(takeoverOk)} |`);
  const w = r.crossNodeWait;
  const wait = 'error' in w ? `FAILED: ${w.error}` : `${fmt(w.medianMs)} ms median (p90 ${fmt(w.p90Ms)}, max ${fmt(w.maxMs)}; ${w.samples} runs; ${fmt(w.medianPolls)} runs/get answers per wait)`;
  lines.push(`| cross-node wait wake-up | ≤ 50 ms | ${wait} | ${met('error' in w ? undefined : w.medianMs <= 50)} |`);
  return lines;
}

function renderPeerRatios(r: ClusterReport): string[] {
  const best = Math.max(...r.throughput.filter((t) => t.nodes > 0).map((t) => t.itemsPerSec).filter(Number.isFinite));
  const peers = (r.peers ?? []).filter((p) => p.id !== 'flowrun-postgres');
  const lines = ['#### flowrun cluster vs its peers (from the `--peers` pass)', '', '| peer | per second | flowrun best cluster ÷ peer |', '| --- | ---: | ---: |'];
  for (const p of peers) lines.push(`| ${p.id} | ${p.error ? `FAILED: ${p.error}` : `${fmt(p.perSec)} ${p.unit}`} | ${fmt(best / p.perSec, 2)}× |`);
  const faster = Math.max(...peers.map((p) => p.perSec).filter(Number.isFinite));
  lines.push('', `Goal: ≥ 2× the faster peer; actual ${fmt(best / faster, 2)}× (${met(Number.isFinite(faster) ? best / faster >= 2 : undefined)}).`);
  return lines;
}
