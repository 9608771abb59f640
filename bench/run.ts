/**
 * `npm run bench` (bench/README.md): baselines, flowrun runs over stdio and WebSocket, a three-step
 * flow, memory for a million items, long-poll wake-up latency, the filesystem blob store and the
 * dashboard's listings of 10,000 stored runs,
 * in one process tree. Prints a markdown table and writes bench/results.json.
 *
 *   node dist/bench/run.js [--quick] [--reps N] [--only TEXT] [--blob-dir DIR] [--out FILE]
 *   node dist/bench/run.js --peers [--quick] [--reps N] [--out FILE]   (only flowrun and its PostgreSQL peers: peers.ts)
 *   node dist/bench/run.js --cluster [--quick] [--reps N] [--no-peers] [--out FILE]   (serve nodes on one PostgreSQL: cluster/run-cluster.ts)
 *
 * Each timed pass spawns fresh children and warms up first; passes run rep by rep through every
 * case (every other rep in reverse order, so no case always follows its baseline), so noise spreads
 * over all of them; the reported figures are medians over the reps.
 * See bench/README.md for what each case measures.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { blobRoot, rawPass, storePass, type BlobPass, type BlobSize } from './cases/blobs.js';
import { dashboardCase, type DashboardSummary } from './cases/dashboard-list.js';
import { durableOrder, durablePass, summarizeDurable, type DurableStore } from './cases/durable-serve.js';
import { flowrunPass, ONE_STEP_FLOW, THREE_STEP_FLOW, type Transport } from './cases/flowrun-runs.js';
import { rawNdjsonPass, rawWebSocketPass } from './cases/raw-baselines.js';
import { waitLatency, type WaitLatency } from './cases/wait-latency.js';
import { workersPass } from './cases/workers.js';
import { watchPass } from './cases/watch.js';
import { childScript } from './lib/children.js';
import { runPeers } from './peers.js';
import { runClusterBench } from './cluster/run-cluster.js';
import { startPostgres, createDatabase, type PostgresFixture } from './lib/throwaway-postgres.js';
import { cpuPerItem, median, rate, settle, type Measure } from './lib/measure.js';
import { makePlan, type Plan } from './lib/plan.js';
import type { PayloadName } from './lib/payloads.js';
import { renderReport, type CaseSummary, type MemoryResult, type BlobSummary, type Report } from './lib/report.js';

interface RunCase {
  id: string;
  kind: CaseSummary['kind'];
  label?: string;
  transport: Transport;
  payload: PayloadName;
  concurrency: number;
  items: number;
  /** Component calls per item: the baseline's requests/s are divided by it. */
  callsPerItem: number;
  baselineId?: string;
  run(): Promise<Measure>;
}

/**
 * Write size of the pipelined raw loop (`stdio/raw-pipelined/…`): the raw loop's best here (A/B, 8
 * rounds at C=256 small: per tick 410k/s, 16 KiB 466k/s, 8 KiB 528k/s).
 */
const PIPELINED_RAW_WRITE_CHARS = 8_192;

/** A pass that does not finish in this time is reported as failed and the bench goes on. */
const PASS_TIMEOUT_MS = 180_000;

const args = parseArgs(process.argv.slice(2));
const plan = makePlan(args.quick, args.reps);
const started = Date.now();
if (args.peers) {
  await runPeers({ quick: args.quick, reps: args.reps, out: args.out, progress });
  process.exit(0);
}
if (args.cluster) {
  await runClusterBench({ quick: args.quick, reps: args.reps, out: args.out, peers: !args.noPeers, progress });
  process.exit(0);
}

const cases = runCases(plan).filter((c) => args.only === undefined || c.id.includes(args.only));
const measures = new Map<string, Measure[]>(cases.map((c) => [c.id, []]));
const failures = new Map<string, string>();
const blobBase = args.blobDir ?? os.tmpdir();
const blobDir = blobRoot(blobBase);
const blobPasses: Array<{ size: BlobSize; store: BlobPass; raw: BlobPass }> = [];
const wantBlobs = args.only === undefined || 'blobs'.includes(args.only);
const wantMemory = args.only === undefined || 'memory'.includes(args.only);
const wantWait = args.only === undefined || 'wait'.includes(args.only);
const wantDurable = args.only === undefined || 'durable'.includes(args.only);
const wantDashboard = args.only === undefined || 'dashboard'.includes(args.only);
const durablePasses = new Map<DurableStore, Measure[]>();
const durableFailures = new Map<DurableStore, string>();
const DURABLE_CONCURRENCY = 256;
let postgres: PostgresFixture | undefined;

try {
  for (let rep = 1; rep <= plan.reps; rep++) {
    // Every other rep runs the cases in reverse, so no case always runs right after its baseline
    // (a process warms up as it goes: the second of a pair had been favoured).
    for (const c of rep % 2 === 0 ? [...cases].reverse() : cases) {
      if (failures.has(c.id)) continue;
      progress(`rep ${rep}/${plan.reps} ${c.id} (${c.items} items)`);
      try {
        const m = await withTimeout(c.run(), PASS_TIMEOUT_MS, c.id);
        measures.get(c.id)!.push(m);
        progress(`  ${Math.round(rate(m))} items/s, ${cpuPerItem(m).toFixed(2)} µs CPU/item`);
      } catch (err) {
        failures.set(c.id, (err as Error).message);
        progress(`  FAILED: ${(err as Error).message}`);
      }
      await settle();
    }
    if (wantBlobs) {
      for (const size of ['1KiB', '1MiB'] as const) {
        progress(`rep ${rep}/${plan.reps} blobs ${size} (${plan.blobCounts[size]} blobs)`);
        const store = await storePass(blobDir, size, plan.blobCounts[size]);
        const raw = await rawPass(blobDir, size, plan.blobCounts[size]);
        blobPasses.push({ size, store, raw });
      }
    }
    if (wantDurable) await durableRep(rep);
  }
} finally {
  rmSync(blobDir, { recursive: true, force: true });
  await postgres?.close();
}

let waits: WaitLatency | undefined;
if (wantWait) {
  progress(`wait wake-up latency (${plan.waitSamples} samples)`);
  waits = await waitLatency(plan.waitSamples);
}
let dashboard: DashboardSummary | undefined;
if (wantDashboard) {
  progress(`dashboard: listings of ${plan.dashboard.runs} runs stored in SQLite, through serve`);
  dashboard = await withTimeout(dashboardCase(plan.dashboard, progress), PASS_TIMEOUT_MS, 'dashboard');
}
let memory: MemoryResult | undefined;
if (wantMemory) {
  progress(`memory: one run of ${plan.millionItems} items in a fresh process`);
  memory = await memoryRun(plan.millionItems);
}

const report: Report = {
  generatedAt: new Date().toISOString(),
  durationSeconds: (Date.now() - started) / 1000,
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` },
  plan: { quick: plan.quick, reps: plan.reps, blobDir: blobBase },
  cases: summarize(cases),
  threeStepNote: 'baseline: raw NDJSON small C=256 requests/s ÷ 3 (three calls per item)',
  memory,
  waitLatency: waits,
  blobs: wantBlobs ? summarizeBlobs(blobPasses) : [],
  durable: wantDurable ? summarizeDurable(plan.durableItems, DURABLE_CONCURRENCY, durablePasses, durableFailures) : undefined,
  dashboard,
};
const markdown = renderReport(report);
process.stdout.write(markdown + '\n');
const out = args.out ?? fileURLToPath(new URL('../../bench/results.json', import.meta.url));
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
progress(`wrote ${out} (${report.durationSeconds.toFixed(0)} s)`);

/** Every run case of the plan: baselines first, then what is compared with them. */
function runCases(p: Plan): RunCase[] {
  const out: RunCase[] = [];
  for (const transport of ['stdio', 'websocket'] as const) {
    for (const payload of p.payloads) {
      for (const concurrency of p.concurrencies) {
        const items = p.items(concurrency, payload);
        const pass = { payload, concurrency, items, warmup: p.warmup(concurrency) };
        const rawId = `${transport}/raw/${payload}/c${concurrency}`;
        out.push({
          id: rawId, kind: 'raw', transport, payload, concurrency, items, callsPerItem: 1,
          run: () => (transport === 'stdio' ? rawNdjsonPass(pass) : rawWebSocketPass(pass)),
        });
        if (transport === 'stdio' && concurrency === 256) {
          // Not a target's baseline: the raw loop with the write size that suits it best here.
          out.push({
            id: `stdio/raw-pipelined/${payload}/c${concurrency}`, kind: 'raw-pipelined', transport, payload, concurrency, items, callsPerItem: 1,
            run: () => rawNdjsonPass({ ...pass, writeAtChars: PIPELINED_RAW_WRITE_CHARS }),
          });
        }
        out.push({
          id: `${transport}/flowrun/${payload}/c${concurrency}`, kind: 'flowrun', transport, payload, concurrency, items, callsPerItem: 1,
          baselineId: rawId,
          run: () => flowrunPass({ ...pass, transport, flow: ONE_STEP_FLOW }),
        });
      }
    }
  }
  const c = 256;
  out.push({
    id: `stdio/three-step/small/c${c}`, kind: 'three-step', transport: 'stdio', payload: 'small', concurrency: c,
    items: p.threeStepItems, callsPerItem: 3, baselineId: `stdio/raw/small/c${c}`,
    run: () => flowrunPass({ transport: 'stdio', flow: THREE_STEP_FLOW, payload: 'small', concurrency: c, items: p.threeStepItems, warmup: p.warmup(c) }),
  });
  // The workers case: dial-in workers against the same SDK echo as a `url:` plugin, same run.
  const workersPlan = { payload: 'small' as const, concurrency: c, items: p.items(c, 'small'), warmup: p.warmup(c) };
  const urlId = `workers/url-plugin/small/c${c}`;
  out.push({ id: urlId, kind: 'workers', label: 'one-step, url: plugin', transport: 'websocket', ...workersPlan, callsPerItem: 1, run: () => workersPass({ ...workersPlan, workers: 0 }) });
  for (const workers of [1, 2, 4]) {
    out.push({
      id: `workers/dial-in-${workers}/small/c${c}`, kind: 'workers', label: `one-step, ${workers} dial-in worker${workers > 1 ? 's' : ''}`, transport: 'websocket',
      ...workersPlan, callsPerItem: 1, baselineId: urlId, run: () => workersPass({ ...workersPlan, workers }),
    });
  }
  // The watch case: the same one-step run with and without a watcher of every run, A/B in each rep.
  const watchPlan = { payload: 'small' as const, concurrency: c, items: p.items(c, 'small'), warmup: p.warmup(c) };
  const unwatchedId = `watch/unwatched/small/c${c}`;
  out.push({ id: unwatchedId, kind: 'watch', label: 'one-step, no watcher', transport: 'stdio', ...watchPlan, callsPerItem: 1, run: () => watchPass({ ...watchPlan, watched: false }) });
  out.push({
    id: `watch/watched/small/c${c}`, kind: 'watch', label: 'one-step, a watcher of every run', transport: 'stdio', ...watchPlan, callsPerItem: 1,
    baselineId: unwatchedId, run: () => watchPass({ ...watchPlan, watched: true }),
  });
  return out;
}

function summarize(all: RunCase[]): CaseSummary[] {
  const medians = new Map<string, number>();
  for (const c of all) medians.set(c.id, median((measures.get(c.id) ?? []).map(rate)));
  return all.map((c) => {
    const ms = measures.get(c.id) ?? [];
    const itemsPerSec = medians.get(c.id)!;
    const baseline = c.baselineId === undefined ? undefined : medians.get(c.baselineId);
    const baselineItemsPerSec = baseline === undefined ? undefined : baseline / c.callsPerItem;
    const peer = ms.filter((m) => m.peerCpuMicros !== undefined).map((m) => m.peerCpuMicros! / m.items);
    return {
      id: c.id,
      kind: c.kind,
      label: c.label,
      transport: c.transport,
      payload: c.payload,
      concurrency: c.concurrency,
      items: c.items,
      reps: ms.map((m) => ({ itemsPerSec: rate(m), cpuMicrosPerItem: cpuPerItem(m), peerCpuMicrosPerItem: m.peerCpuMicros === undefined ? undefined : m.peerCpuMicros / m.items, wallMs: m.wallMs })),
      itemsPerSec,
      cpuMicrosPerItem: median(ms.map(cpuPerItem)),
      peerCpuMicrosPerItem: peer.length > 0 ? median(peer) : undefined,
      baselineId: c.baselineId,
      baselineItemsPerSec,
      ratio: baselineItemsPerSec === undefined ? undefined : itemsPerSec / baselineItemsPerSec,
      ratioPerRep: c.baselineId === undefined ? undefined : ms.map((m, i) => {
        const b = measures.get(c.baselineId!)?.[i];
        return b === undefined ? NaN : rate(m) / (rate(b) / c.callsPerItem);
      }),
      error: failures.get(c.id),
    };
  });
}

function summarizeBlobs(passes: typeof blobPasses): BlobSummary[] {
  const out: BlobSummary[] = [];
  for (const size of ['1KiB', '1MiB'] as const) {
    const of = passes.filter((p) => p.size === size);
    if (of.length === 0) continue;
    for (const op of ['put', 'get'] as const) {
      const store = median(of.map((p) => rate(p.store[op])));
      const raw = median(of.map((p) => rate(p.raw[op])));
      out.push({
        size,
        op,
        blobs: of[0].store[op].items,
        storePerSec: store,
        storeCpuMicros: median(of.map((p) => cpuPerItem(p.store[op]))),
        rawPerSec: raw,
        rawCpuMicros: median(of.map((p) => cpuPerItem(p.raw[op]))),
        ratio: store / raw,
      });
    }
  }
  return out;
}

/**
 * One rep of the durable case: a fresh `flowrun serve` per store (PostgreSQL: a fresh database on
 * one throw-away server, started on first use), in an order that rotates from rep to rep.
 */
async function durableRep(rep: number): Promise<void> {
  for (const store of durableOrder(rep)) {
    if (durableFailures.has(store)) continue;
    progress(`rep ${rep}/${plan.reps} durable/serve/${store} (${plan.durableItems} items)`);
    try {
      let postgresUrl: string | undefined;
      if (store === 'postgres') {
        postgres ??= await startPostgres();
        postgresUrl = await createDatabase(postgres.url, `durable_${rep}`);
      }
      const pass = durablePass({ store, items: plan.durableItems, warmup: plan.durableWarmup, concurrency: DURABLE_CONCURRENCY, postgresUrl });
      const m = await withTimeout(pass, PASS_TIMEOUT_MS, `durable/serve/${store}`);
      durablePasses.set(store, [...(durablePasses.get(store) ?? []), m]);
      progress(`  ${Math.round(rate(m))} items/s, serve ${cpuPerItem(m).toFixed(2)} µs CPU/item`);
    } catch (err) {
      durableFailures.set(store, (err as Error).message);
      progress(`  FAILED: ${(err as Error).message}`);
    }
    await settle();
  }
}

/** Runs the million-item case in a fresh node process and reads its JSON line. */
function memoryRun(items: number): Promise<MemoryResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', childScript('million-items'), '--items', String(items)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`memory case exited with code ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as MemoryResult);
    });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function progress(line: string): void {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
}

function parseArgs(argv: string[]): { quick: boolean; peers: boolean; cluster: boolean; noPeers: boolean; reps?: number; only?: string; blobDir?: string; out?: string } {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  const reps = value('--reps');
  return { quick: argv.includes('--quick'), peers: argv.includes('--peers'), cluster: argv.includes('--cluster'), noPeers: argv.includes('--no-peers'), reps: reps === undefined ? undefined : Number(reps), only: value('--only'), blobDir: value('--blob-dir'), out: value('--out') };
}
