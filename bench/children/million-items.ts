/**
 * The memory case (d), in a process of its own so its peak RSS is the run's: a runtime
 * with the memory state and blob stores runs `--items` small items (default 1,000,000) through
 * the one-step flow against the stdio SDK echo server, at `--concurrency` (default 256).
 * The run is submitted without `wait` and awaited with `runs/get {wait: true}` (no results in the
 * answer, so no million-entry response is built); one page of results is read to check them.
 * Prints one JSON line on stdout with RSS and heap before, at peak (sampled every 20 ms) and
 * after, the run's items/s and this process's CPU µs per item.
 */
import { measure, rate, cpuPerItem } from '../lib/measure.js';
import { inputsOf } from '../lib/payloads.js';
import { ONE_STEP_FLOW, startBenchRuntime, submitAndWait } from '../cases/flowrun-runs.js';

const items = numberArg('--items', 1_000_000);
const concurrency = numberArg('--concurrency', 256);

const bench = await startBenchRuntime('stdio');
const { runtime } = bench;
await submitAndWait(runtime, ONE_STEP_FLOW, inputsOf('small', 5000), concurrency);
globalThis.gc?.();
const before = process.memoryUsage();
let peakRss = before.rss;
let peakHeap = before.heapUsed;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  if (m.rss > peakRss) peakRss = m.rss;
  if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
}, 20);

let checked = 0;
const m = await measure(items, async () => {
  const inputs = inputsOf('small', items);
  const { runId } = await runtime.runs.submit({ flow: ONE_STEP_FLOW, inputs, wait: false, maxConcurrency: concurrency, variables: {} });
  const status = await runtime.runs.get({ runId, wait: true, includeResults: false, resultOrder: 'byIndex', offset: 0 });
  if (status.items.success !== items) throw new Error(`run ended ${status.status} with ${JSON.stringify(status.items)}`);
  const page = await runtime.runs.get({ runId, wait: false, includeResults: true, resultOrder: 'byIndex', offset: items - 100, limit: 100 });
  checked = page.results!.filter((r) => r.result?.outcome === 'success').length;
});
clearInterval(sampler);
const end = process.memoryUsage();
peakRss = Math.max(peakRss, end.rss);
peakHeap = Math.max(peakHeap, end.heapUsed);
// The run is still held (runs stay queryable): what remains now is its resident cost.
globalThis.gc?.();
const retained = process.memoryUsage();
const maxRssBytes = process.resourceUsage().maxRSS * 1024;
await bench.close();

process.stdout.write(
  JSON.stringify({
    items,
    concurrency,
    checked,
    itemsPerSec: rate(m),
    cpuMicrosPerItem: cpuPerItem(m),
    rssBefore: before.rss,
    heapBefore: before.heapUsed,
    peakRss: Math.max(peakRss, maxRssBytes),
    peakHeap,
    retainedRss: retained.rss,
    retainedHeap: retained.heapUsed,
  }) + '\n',
);

function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}
