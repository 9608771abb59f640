/**
 * The flowrun cases (b, c): a run of N items through `runs/submit` with `wait`, in this
 * process, against the SDK echo server as a real child (stdio or WebSocket). In-process
 * `runs.submit` is what a client's `runs/submit` reaches once off the wire; state and blobs are
 * the memory stores. The CPU measured is this process's: the runtime's share.
 */
import type { ChildProcess } from 'node:child_process';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import type { RunStatus } from '../../protocol/index.js';
import { parseConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { MemoryStateStore } from '../../src/statestore/memory-state-store.js';
import type { StateStore } from '../../src/statestore/state-store.js';
import { childScript, readPort, spawnNode, stopChild } from '../lib/children.js';
import { measure, type Measure } from '../lib/measure.js';
import { inputsOf, type PayloadName } from '../lib/payloads.js';

export type Transport = 'stdio' | 'websocket';

/** `$input` → /echo → output. */
export const ONE_STEP_FLOW = {
  name: 'bench-one-step',
  steps: [{ id: 'echo', component: '/bench/echo', input: { $input: '$' } }],
  output: { $step: 'echo' },
};

/** Two independent echoes of the input and a join echoing both: 3 calls per item. */
export const THREE_STEP_FLOW = {
  name: 'bench-three-step',
  steps: [
    { id: 'left', component: '/bench/echo', input: { $input: '$' } },
    { id: 'right', component: '/bench/echo', input: { $input: '$' } },
    { id: 'join', component: '/bench/echo', input: { left: { $step: 'left' }, right: { $step: 'right' } } },
  ],
  output: { $step: 'join' },
};

const CPU_FLOW = { steps: [{ id: 'cpu', component: '/bench/cpu' }], output: { $step: 'cpu' } };

export interface FlowrunPassOptions {
  transport: Transport;
  flow: Record<string, unknown>;
  payload: PayloadName;
  concurrency: number;
  items: number;
  warmup: number;
}

/** A runtime wired to a fresh echo server child; `close` stops both. */
export interface BenchRuntime {
  runtime: Runtime;
  close(): Promise<void>;
}

/**
 * Starts a runtime with the memory blob store, `stateStore` (default: the memory store; the runtime
 * closes it) and one plugin, `bench`, served by a fresh SDK echo child.
 */
export async function startBenchRuntime(transport: Transport, stateStore: StateStore = new MemoryStateStore()): Promise<BenchRuntime> {
  let child: ChildProcess | undefined;
  let plugin: Record<string, unknown>;
  if (transport === 'stdio') {
    plugin = { type: 'stepflow', command: process.execPath, args: [...childNodeArgs(), childScript('sdk-echo')], env: { FLOWRUN_LOG_LEVEL: 'warn' } };
  } else {
    child = spawnNode(childScript('sdk-echo'), ['--port', '0']);
    const port = await readPort(child);
    plugin = { type: 'stepflow', url: `ws://127.0.0.1:${port}/` };
  }
  const config = parseConfig(
    { plugins: { bench: plugin }, routes: { '/bench/{*component}': [{ plugin: 'bench' }] } },
    { workingDirectory: process.cwd(), env: process.env },
  );
  // One process executing its own runs: on PostgreSQL, today's single-process mode (the cluster has its own bench, --cluster).
  const runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore(), stateStore, joinCluster: false });
  return {
    runtime,
    close: async () => {
      await runtime.close();
      if (child) {
        child.kill('SIGTERM');
        await stopChild(child);
      }
    },
  };
}

/** Runs `inputs` through `flow` with `runs.submit` + `wait` and checks every item succeeded. */
export async function submitAndWait(runtime: Runtime, flow: Record<string, unknown>, inputs: unknown[], maxConcurrency: number): Promise<RunStatus> {
  const status = await runtime.runs.submit({ flow, inputs, wait: true, maxConcurrency, variables: {} });
  if (status.status !== 'success' || status.items.success !== inputs.length) {
    throw new Error(`bench run did not succeed: ${JSON.stringify({ status: status.status, items: status.items, first: status.results?.find((r) => r.result?.outcome !== 'success') })}`);
  }
  return status;
}

/** Extra node flags for the echo child (e.g. `--cpu-prof`), from BENCH_CHILD_NODE_ARGS. */
function childNodeArgs(): string[] {
  const raw = process.env.BENCH_CHILD_NODE_ARGS;
  return raw ? raw.split(' ').filter((a) => a !== '') : [];
}

/** The echo server's CPU µs so far, asked through a one-item run. */
async function serverCpu(runtime: Runtime): Promise<number> {
  const status = await submitAndWait(runtime, CPU_FLOW, [null], 1);
  const result = status.results![0].result!;
  return (result as { value: number }).value;
}

/** One timed run on a fresh runtime + server after a warm-up run. */
export async function flowrunPass(options: FlowrunPassOptions, stateStore?: StateStore): Promise<Measure> {
  const bench = await startBenchRuntime(options.transport, stateStore);
  try {
    const { runtime } = bench;
    await submitAndWait(runtime, options.flow, inputsOf(options.payload, options.warmup), options.concurrency);
    const inputs = inputsOf(options.payload, options.items);
    const before = await serverCpu(runtime);
    const m = await measure(options.items, () => submitAndWait(runtime, options.flow, inputs, options.concurrency).then(() => undefined));
    const after = await serverCpu(runtime);
    return { ...m, peerCpuMicros: after - before };
  } finally {
    await bench.close();
  }
}
