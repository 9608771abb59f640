/**
 * The watch case (i): the one-step flow at C=256 over stdio in this process's runtime (memory
 * stores), with and without a watcher attached, in the same bench run. The watcher is a real
 * client on a WebSocket of `startRuntimeServer` (as `flowrun serve` serves it) with `runs/watch`
 * of every run, default progress pacing; it reads every event. What watching costs the runtime
 * is the ratio of the two rates (docs/events.md, "What it costs").
 */
import { connect } from '../../src/client/index.js';
import { startRuntimeServer } from '../../src/serve/ws-server.js';
import { measure, type Measure } from '../lib/measure.js';
import { inputsOf, type PayloadName } from '../lib/payloads.js';
import { ONE_STEP_FLOW, startBenchRuntime, submitAndWait } from './flowrun-runs.js';

export interface WatchPassOptions {
  watched: boolean;
  payload: PayloadName;
  concurrency: number;
  items: number;
  warmup: number;
}

/** One timed run after a warm-up run, on a fresh runtime and echo child; with `watched`, a watcher of every run reads the events. */
export async function watchPass(options: WatchPassOptions): Promise<Measure> {
  const bench = await startBenchRuntime('stdio');
  const server = await startRuntimeServer({ runtime: bench.runtime, port: 0 });
  const client = options.watched ? await connect(server.url) : undefined;
  let events = 0;
  const stream = client?.watch();
  const reading = stream === undefined ? undefined : (async () => {
    for await (const _event of stream) events++;
  })().catch(() => {});
  try {
    await stream?.start();
    const { runtime } = bench;
    await submitAndWait(runtime, ONE_STEP_FLOW, inputsOf(options.payload, options.warmup), options.concurrency);
    const inputs = inputsOf(options.payload, options.items);
    const m = await measure(options.items, () => submitAndWait(runtime, ONE_STEP_FLOW, inputs, options.concurrency).then(() => undefined));
    if (stream !== undefined && events === 0) throw new Error('the watcher got no event');
    return m;
  } finally {
    await stream?.close();
    await client?.close();
    await reading;
    await server.close();
    await bench.close();
  }
}
