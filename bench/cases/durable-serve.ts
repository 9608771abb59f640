/**
 * The durable case (bench/README.md): a real `flowrun serve` process with the memory, SQLite or
 * PostgreSQL state store, the SDK echo server as its stdio component server, and this process as
 * a client submitting one run and waiting for it. The CPU measured is the serve process's (every
 * thread of it), read from /proc, so the cost of the journal shows whichever thread pays it.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isTerminal, type RunStatus } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { childScript, stopChild } from '../lib/children.js';
import { cpuPerItem, median, rate, type Measure } from '../lib/measure.js';
import { inputsOf } from '../lib/payloads.js';
import { makeTempDir } from '../lib/temp-dir.js';
import { ONE_STEP_FLOW } from './flowrun-runs.js';

export type DurableStore = 'memory' | 'sqlite' | 'postgres';

export const DURABLE_STORES: readonly DurableStore[] = ['memory', 'sqlite', 'postgres'];

/** Goals of each durable store's items/s as a share of the memory store's. */
export const DURABLE_TARGETS: Readonly<Record<Exclude<DurableStore, 'memory'>, number>> = { sqlite: 0.8, postgres: 0.7 };

export interface DurablePassOptions {
  store: DurableStore;
  items: number;
  warmup: number;
  concurrency: number;
  /** A fresh database for the postgres store. */
  postgresUrl?: string;
}

/** The built CLI the bench runs as `flowrun serve`. */
const CLI = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));
const READY_TIMEOUT_MS = 60_000;

/** One timed run on a fresh `serve` process and store, after a warm-up run on it. */
export async function durablePass(options: DurablePassOptions): Promise<Measure> {
  const dir = await makeTempDir(`bench-durable-${options.store}`);
  let serve: ChildProcess | undefined;
  let client: FlowrunClient | undefined;
  try {
    const configPath = join(dir, 'flowrun.yaml');
    writeFileSync(configPath, JSON.stringify(serveConfig(options, dir)));
    const started = await startServe(configPath, dir);
    serve = started.child;
    client = await connect(started.url);
    await submitAndWait(client, options.warmup, options.concurrency);
    const inputs = inputsOf('small', options.items);
    const cpuBefore = processCpuMicros(serve.pid!);
    const t0 = process.hrtime.bigint();
    await submitAndWait(client, inputs, options.concurrency);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    return { items: options.items, wallMs, cpuMicros: processCpuMicros(serve.pid!) - cpuBefore };
  } finally {
    await client?.close();
    if (serve) {
      serve.kill('SIGTERM');
      await stopChild(serve, 10_000);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

function serveConfig(options: DurablePassOptions, dir: string): Record<string, unknown> {
  const stateStore =
    options.store === 'memory'
      ? { type: 'memory' }
      : options.store === 'sqlite'
        ? { type: 'sqlite', path: join(dir, 'state.db') }
        : { type: 'postgres', url: options.postgresUrl };
  if (options.store === 'postgres' && options.postgresUrl === undefined) throw new Error('the postgres durable pass needs a database URL');
  return {
    plugins: { bench: { type: 'stepflow', command: process.execPath, args: [childScript('sdk-echo')], env: { FLOWRUN_LOG_LEVEL: 'warn' } } },
    routes: { '/bench/{*component}': [{ plugin: 'bench' }] },
    blobStore: { type: 'filesystem', path: join(dir, 'blobs') },
    stateStore,
  };
}

/** Submits a run of `inputs` (or that many small inputs), waits for it and checks every item succeeded. */
async function submitAndWait(client: FlowrunClient, inputs: unknown[] | number, maxConcurrency: number): Promise<RunStatus> {
  const list = typeof inputs === 'number' ? inputsOf('small', inputs) : inputs;
  const handle = await client.submit({ flow: ONE_STEP_FLOW, inputs: list, maxConcurrency });
  let status = await handle.wait();
  while (!isTerminal(status.status)) status = await handle.wait();
  if (status.status !== 'success' || status.items.success !== list.length) {
    throw new Error(`durable bench run ${handle.runId} did not succeed: ${JSON.stringify({ status: status.status, items: status.items })}`);
  }
  return status;
}

/**
 * Spawns `flowrun serve --port 0` in `cwd` and waits for its `{"url": …}` line. Extra node flags
 * (e.g. `--cpu-prof`) come from BENCH_SERVE_NODE_ARGS.
 */
export async function startServe(configPath: string, cwd: string): Promise<{ child: ChildProcess; url: string }> {
  const nodeArgs = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve', '--port', '0', '--config', configPath], {
    cwd,
    env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn', FLOWRUN_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`flowrun serve did not listen within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolve({ child, url: (JSON.parse(line) as { url: string }).url });
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`flowrun serve exited with ${code} before listening`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

let ticksPerSecond: number | undefined;

/** User + system CPU µs a process (all its threads) has used so far, from /proc/<pid>/stat. */
function processCpuMicros(pid: number): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[14 - 3]) + Number(fields[15 - 3]);
  return (ticks / ticksPerSecond) * 1e6;
}

/** What the report shows of the durable case: per store, medians over the reps. */
export interface DurableSummary {
  items: number;
  concurrency: number;
  stores: Array<{
    store: DurableStore;
    reps: Array<{ itemsPerSec: number; serveCpuMicrosPerItem: number; wallMs: number }>;
    itemsPerSec: number;
    serveCpuMicrosPerItem: number;
    /** items/s ÷ the memory store's; 1 for memory. */
    ratio: number;
    target?: number;
    error?: string;
  }>;
}

/** The stores of rep `rep` (from 1), rotated so that no store always runs first or last. */
export function durableOrder(rep: number): DurableStore[] {
  const shift = (rep - 1) % DURABLE_STORES.length;
  return [...DURABLE_STORES.slice(shift), ...DURABLE_STORES.slice(0, shift)];
}

/** Medians per store and their ratios to the memory store. */
export function summarizeDurable(items: number, concurrency: number, passes: ReadonlyMap<DurableStore, Measure[]>, failures: ReadonlyMap<DurableStore, string>): DurableSummary {
  const memory = median((passes.get('memory') ?? []).map(rate));
  return {
    items,
    concurrency,
    stores: DURABLE_STORES.map((store) => {
      const ms = passes.get(store) ?? [];
      const itemsPerSec = median(ms.map(rate));
      return {
        store,
        reps: ms.map((m) => ({ itemsPerSec: rate(m), serveCpuMicrosPerItem: cpuPerItem(m), wallMs: m.wallMs })),
        itemsPerSec,
        serveCpuMicrosPerItem: median(ms.map(cpuPerItem)),
        ratio: itemsPerSec / memory,
        target: store === 'memory' ? undefined : DURABLE_TARGETS[store],
        error: failures.get(store),
      };
    }),
  };
}
