/**
 * The workers case (h): the one-step flow through SDK echo children that dial in to the runtime
 * at `/workers` as workers of one pool (1, 2 or 4 of them), against the same SDK echo dialled by a
 * `url:` WebSocket plugin, in the same bench run. The runtime runs in this process with the
 * memory stores and serves `/workers` with `startRuntimeServer`, as `flowrun serve` does; the CPU
 * measured is this process's: the runtime's share.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { parseConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { startRuntimeServer } from '../../src/serve/ws-server.js';
import { MemoryStateStore } from '../../src/statestore/memory-state-store.js';
import { childScript, spawnNode, stopChild } from '../lib/children.js';
import { measure, type Measure } from '../lib/measure.js';
import { inputsOf, type PayloadName } from '../lib/payloads.js';
import { ONE_STEP_FLOW, startBenchRuntime, submitAndWait, type BenchRuntime } from './flowrun-runs.js';

export interface WorkersPassOptions {
  /** Dial-in workers; 0 = the `url:` plugin instead. */
  workers: number;
  payload: PayloadName;
  concurrency: number;
  items: number;
  warmup: number;
}

/** One timed run of the one-step flow after a warm-up run, on a fresh runtime and fresh echo children. */
export async function workersPass(options: WorkersPassOptions): Promise<Measure> {
  const bench = options.workers === 0 ? await startBenchRuntime('websocket') : await startWorkersRuntime(options.workers, options.concurrency);
  try {
    const { runtime } = bench;
    await submitAndWait(runtime, ONE_STEP_FLOW, inputsOf(options.payload, options.warmup), options.concurrency);
    const inputs = inputsOf(options.payload, options.items);
    return await measure(options.items, () => submitAndWait(runtime, ONE_STEP_FLOW, inputs, options.concurrency).then(() => undefined));
  } finally {
    await bench.close();
  }
}

/**
 * A runtime whose plugin `bench` is `{type: workers, pool: bench}`, served on a free port, and
 * `count` SDK echo children started with `--connect …/workers`, each with capacity C (the pool,
 * not the workers, is the limit the url plugin lacks too). Resolves once every one registered.
 */
async function startWorkersRuntime(count: number, concurrency: number): Promise<BenchRuntime> {
  const config = parseConfig(
    { plugins: { bench: { type: 'workers', pool: 'bench' } }, routes: { '/bench/{*component}': [{ plugin: 'bench' }] } },
    { workingDirectory: process.cwd(), env: process.env },
  );
  const runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore(), stateStore: new MemoryStateStore(), joinCluster: false });
  const server = await startRuntimeServer({ runtime, port: 0 });
  const children: ChildProcess[] = [];
  const close = async (): Promise<void> => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => stopChild(child)));
    await server.close();
    await runtime.close();
  };
  try {
    for (let i = 0; i < count; i++) {
      children.push(spawnNode(childScript('sdk-echo'), ['--connect', `${server.url}workers`, '--pool', 'bench', '--capacity', String(concurrency), '--name', `echo-${i}`]));
    }
    await Promise.all(children.map(registered));
  } catch (err) {
    await close();
    throw err;
  }
  return { runtime, close };
}

/** Resolves on the worker's first stdout line, its registration. */
function registered(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (code) => reject(new Error(`worker exited (code ${code}) before registering`)));
  });
}
