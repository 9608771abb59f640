import type { DashboardSummary } from '../cases/dashboard-list.js';
import type { DurableSummary } from '../cases/durable-serve.js';
import type { WaitLatency } from '../cases/wait-latency.js';

/** What `npm run bench` reports (also the shape of bench/results.json). */
export interface Report {
  generatedAt: string;
  durationSeconds: number;
  machine: { cpus: number; cpuModel: string; node: string; platform: string };
  plan: { quick: boolean; reps: number; blobDir: string };
  cases: CaseSummary[];
  threeStepNote: string;
  memory?: MemoryResult;
  waitLatency?: WaitLatency;
  blobs: BlobSummary[];
  durable?: DurableSummary;
  dashboard?: DashboardSummary;
}

export interface CaseSummary {
  id: string;
  kind: 'raw' | 'raw-pipelined' | 'flowrun' | 'three-step' | 'workers' | 'watch';
  /** The row's name when its kind does not say enough (the workers case: how many workers). */
  label?: string;
  transport: 'stdio' | 'websocket';
  payload: string;
  concurrency: number;
  items: number;
  reps: Array<{ itemsPerSec: number; cpuMicrosPerItem: number; peerCpuMicrosPerItem?: number; wallMs: number }>;
  /** Medians over the reps. */
  itemsPerSec: number;
  cpuMicrosPerItem: number;
  peerCpuMicrosPerItem?: number;
  baselineId?: string;
  baselineItemsPerSec?: number;
  ratio?: number;
  ratioPerRep?: number[];
  error?: string;
}

/** The million-item run, as printed by children/million-items. */
export interface MemoryResult {
  items: number;
  concurrency: number;
  checked: number;
  itemsPerSec: number;
  cpuMicrosPerItem: number;
  rssBefore: number;
  heapBefore: number;
  peakRss: number;
  peakHeap: number;
  retainedRss: number;
  retainedHeap: number;
}

export interface BlobSummary {
  size: '1KiB' | '1MiB';
  op: 'put' | 'get';
  blobs: number;
  storePerSec: number;
  storeCpuMicros: number;
  rawPerSec: number;
  rawCpuMicros: number;
  ratio: number;
}

interface Target {
  what: string;
  goal: string;
  actual: string;
  met: boolean | undefined;
}

/** Row names by case kind (`raw` is named by its transport). */
const CASE_NAMES: Partial<Record<CaseSummary['kind'], string>> = {
  'raw-pipelined': 'raw NDJSON, 8 KiB writes',
  flowrun: 'flowrun one-step',
  'three-step': 'flowrun three-step',
};

const GIB = 1024 ** 3;
const MB = 1e6;

/** The markdown report: runs, memory, wake-up latency, blobs, and the issue's targets. */
export function renderReport(r: Report): string {
  const lines: string[] = [];
  lines.push(`## flowrun bench — ${r.generatedAt.slice(0, 16).replace('T', ' ')} UTC, ${r.plan.quick ? 'quick' : 'full'}, median of ${r.plan.reps}`);
  lines.push('');
  lines.push(`${r.machine.cpus} × ${r.machine.cpuModel}, node ${r.machine.node}, ${r.machine.platform}; took ${r.durationSeconds.toFixed(0)} s.`);
  lines.push('Runtime CPU = this process (the runtime, or the raw client loop for baselines); server CPU = the echo child, over the same window.');
  lines.push('');
  if (r.cases.length > 0) {
    lines.push('| case | transport | payload | C | items | items/s | runtime CPU µs/item | server CPU µs/item | baseline items/s | ratio |');
    lines.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const c of r.cases) {
      const name = c.label ?? CASE_NAMES[c.kind] ?? (c.transport === 'stdio' ? 'raw NDJSON' : 'raw ws');
      if (c.error !== undefined && c.reps.length === 0) {
        lines.push(`| ${name} | ${c.transport} | ${c.payload} | ${c.concurrency} | ${c.items} | failed: ${c.error} | | | | |`);
        continue;
      }
      lines.push(
        `| ${name} | ${c.transport} | ${c.payload} | ${c.concurrency} | ${c.items} | ${k(c.itemsPerSec)} | ${fixed(c.cpuMicrosPerItem)} | ${fixed(c.peerCpuMicrosPerItem)} | ${c.baselineItemsPerSec === undefined ? '' : k(c.baselineItemsPerSec)} | ${c.ratio === undefined ? '' : `${c.ratio.toFixed(2)}×`} |`,
      );
    }
    lines.push('');
    lines.push(`Three-step ${r.threeStepNote}.`);
  }
  if (r.memory) {
    const m = r.memory;
    lines.push('');
    lines.push(`### Memory: one run of ${m.items.toLocaleString('en')} small items (stdio, C=${m.concurrency}, memory stores)`);
    lines.push('');
    lines.push('| peak RSS | peak heap used | heap per item at peak | heap per item retained (run kept, after GC) | items/s | runtime CPU µs/item |');
    lines.push('|---:|---:|---:|---:|---:|---:|');
    lines.push(
      `| ${(m.peakRss / MB).toFixed(0)} MB | ${(m.peakHeap / MB).toFixed(0)} MB | ${((m.peakHeap - m.heapBefore) / m.items).toFixed(0)} B | ${((m.retainedHeap - m.heapBefore) / m.items).toFixed(0)} B | ${k(m.itemsPerSec)} | ${fixed(m.cpuMicrosPerItem)} |`,
    );
  }
  if (r.waitLatency) {
    const w = r.waitLatency;
    lines.push('');
    lines.push(`### \`runs/get\` wait wake-up after the last item completes (${w.samples} samples, in process)`);
    lines.push('');
    lines.push('| median | p99 | max |');
    lines.push('|---:|---:|---:|');
    lines.push(`| ${fixed(w.medianMicros, 1)} µs | ${fixed(w.p99Micros, 1)} µs | ${fixed(w.maxMicros, 0)} µs |`);
  }
  if (r.blobs.length > 0) {
    lines.push('');
    lines.push(`### Blob store, filesystem backend (${r.plan.blobDir}), one blob at a time`);
    lines.push('');
    lines.push('| size | op | blobs | store /s | store CPU µs | raw /s | raw CPU µs | ratio |');
    lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
    for (const b of r.blobs) {
      lines.push(`| ${b.size} | ${b.op} | ${b.blobs} | ${k(b.storePerSec)} | ${fixed(b.storeCpuMicros, 0)} | ${k(b.rawPerSec)} | ${fixed(b.rawCpuMicros, 0)} | ${b.ratio.toFixed(2)}× |`);
    }
  }
  if (r.durable) lines.push(...renderDurable(r.durable));
  if (r.dashboard) lines.push(...renderDashboard(r.dashboard));
  const targets = evaluateTargets(r);
  if (targets.length > 0) {
    lines.push('');
    lines.push('### Targets');
    lines.push('');
    lines.push('| target | goal | actual | met |');
    lines.push('|---|---|---|---|');
    for (const t of targets) lines.push(`| ${t.what} | ${t.goal} | ${t.actual} | ${t.met === undefined ? '–' : t.met ? 'yes' : '**no**'} |`);
  }
  return lines.join('\n');
}

/** The issue's targets against this report (those it has numbers for). */
export function evaluateTargets(r: Report): Target[] {
  const out: Target[] = [];
  const find = (id: string) => r.cases.find((c) => c.id === id && c.reps.length > 0);
  const ratio = (id: string, what: string) => {
    const c = find(id);
    if (c?.ratio !== undefined) out.push({ what, goal: '≥ 0.5×', actual: `${c.ratio.toFixed(2)}× (${k(c.itemsPerSec)}/s vs ${k(c.baselineItemsPerSec!)}/s)`, met: c.ratio >= 0.5 });
  };
  ratio('stdio/flowrun/small/c256', 'stdio one-step small C=256 vs raw NDJSON');
  const c256 = find('stdio/flowrun/small/c256');
  const pipelined = find('stdio/raw-pipelined/small/c256');
  if (pipelined && c256) {
    const x = c256.itemsPerSec / pipelined.itemsPerSec;
    out.push({ what: 'stdio one-step small C=256 vs raw NDJSON in 8 KiB writes (for reference)', goal: '–', actual: `${x.toFixed(2)}× (${k(c256.itemsPerSec)}/s vs ${k(pipelined.itemsPerSec)}/s)`, met: undefined });
  }
  if (c256) out.push({ what: 'stdio one-step small C=256 runtime CPU', goal: '≤ 8 µs/item', actual: `${fixed(c256.cpuMicrosPerItem)} µs/item`, met: c256.cpuMicrosPerItem <= 8 });
  ratio('stdio/flowrun/small/c16', 'stdio one-step small C=16 vs raw NDJSON');
  ratio('websocket/flowrun/small/c16', 'WebSocket one-step small C=16 vs raw ws');
  ratio('websocket/flowrun/small/c256', 'WebSocket one-step small C=256 vs raw ws');
  if (r.memory) {
    out.push({ what: `${r.memory.items.toLocaleString('en')} items, peak RSS`, goal: r.memory.items >= 1_000_000 ? '≤ 1 GiB' : '(quick: not the 1M target)', actual: `${(r.memory.peakRss / MB).toFixed(0)} MB`, met: r.memory.items >= 1_000_000 ? r.memory.peakRss <= GIB : undefined });
  }
  if (r.waitLatency) out.push({ what: 'wait wake-up median', goal: '≤ 1 ms', actual: `${fixed(r.waitLatency.medianMicros, 1)} µs`, met: r.waitLatency.medianMicros <= 1000 });
  for (const b of r.blobs.filter((x) => x.op === 'put')) {
    out.push({ what: `filesystem blob put ${b.size} vs raw write+fsync+rename`, goal: '≥ 0.5×', actual: `${b.ratio.toFixed(2)}×`, met: b.ratio >= 0.5 });
  }
  for (const d of r.durable?.stores ?? []) {
    if (d.target === undefined || d.reps.length === 0) continue;
    out.push({ what: `durable run through serve, ${d.store} vs memory store`, goal: `≥ ${d.target}×`, actual: `${d.ratio.toFixed(2)}× (${k(d.itemsPerSec)}/s)`, met: d.ratio >= d.target });
  }
  for (const q of r.dashboard?.queries ?? []) {
    out.push({ what: `dashboard: ${q.query}, ${r.dashboard!.runs.toLocaleString('en')} runs`, goal: `p95 < ${r.dashboard!.targetMs} ms`, actual: `p95 ${q.p95Ms.toFixed(1)} ms`, met: q.p95Ms < r.dashboard!.targetMs });
  }
  return out;
}

/** The dashboard case: one row per listing. */
function renderDashboard(d: DashboardSummary): string[] {
  const lines = ['', `### Dashboard listings: ${d.runs.toLocaleString('en')} runs of ${d.itemsPerRun} items in SQLite, through \`flowrun serve\` over one WebSocket`, ''];
  lines.push(`${d.samples} timed requests per listing, one at a time, after ${d.warmup} untimed; filling the store took ${(d.fillMs / 1000).toFixed(1)} s.`);
  lines.push('');
  lines.push('| listing | rows | p50 | p95 | max |');
  lines.push('|---|---:|---:|---:|---:|');
  for (const q of d.queries) lines.push(`| ${q.query} | ${q.rows} | ${q.p50Ms.toFixed(1)} ms | ${q.p95Ms.toFixed(1)} ms | ${q.maxMs.toFixed(1)} ms |`);
  return lines;
}

/** The durable case: one row per state store. */
function renderDurable(d: DurableSummary): string[] {
  const lines = ['', `### Durable: one run of ${d.items.toLocaleString('en')} small items through \`flowrun serve\` (stdio echo, C=${d.concurrency})`, ''];
  lines.push('Serve CPU = the `flowrun serve` process, every thread, from /proc; ratio = items/s ÷ the memory store\'s.');
  lines.push('');
  lines.push('| state store | items/s | serve CPU µs/item | vs memory | reps (items/s) |');
  lines.push('|---|---:|---:|---:|---|');
  for (const s of d.stores) {
    if (s.reps.length === 0) {
      if (s.error !== undefined) lines.push(`| ${s.store} | failed: ${s.error} | | | |`);
      continue;
    }
    lines.push(`| ${s.store} | ${k(s.itemsPerSec)} | ${fixed(s.serveCpuMicrosPerItem)} | ${s.ratio.toFixed(2)}× | ${s.reps.map((x) => k(x.itemsPerSec)).join(' / ')} |`);
  }
  return lines;
}

function k(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

function fixed(n: number | undefined, digits = 2): string {
  return n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits);
}
