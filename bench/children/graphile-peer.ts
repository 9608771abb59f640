/**
 * graphile-worker peer (bench/README.md, `--peers`): noop jobs added in batches with `addJobs`,
 * worked by one runner with the settings of graphile-worker's performance page (24 concurrent
 * jobs, a pool of 25, a local queue of 500, batched completion). Timed from the first enqueue to
 * the last completion.
 */
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from 'graphile-worker';
import { measure } from '../lib/measure.js';
import { parsePeerArgs, printMeasure } from '../lib/peer-pass.js';

/** Jobs per `addJobs` call. */
const BATCH = 1_000;

const args = parsePeerArgs(process.argv.slice(2));
let done = 0;
let target = 0;
let finished: (() => void) | undefined;

const runner: Runner = await run({
  noHandleSignals: true,
  preset: {
    worker: {
      connectionString: args.url,
      concurrentJobs: 24,
      maxPoolSize: 25,
      localQueue: { size: 500 },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
      logger: quietLogger(),
    },
  },
  taskList: {
    noop: async () => {
      if (++done === target) finished?.();
    },
  },
});
const utils = await makeWorkerUtils({ connectionString: args.url, logger: quietLogger() });
try {
  await pass(utils, args.warmup);
  const m = await measure(args.items, () => pass(utils, args.items));
  printMeasure(m);
} finally {
  await utils.release();
  await runner.stop();
}

/** Enqueues `count` noop jobs in batches and resolves when the worker has completed them all. */
async function pass(workerUtils: WorkerUtils, count: number): Promise<void> {
  done = 0;
  target = count;
  const all = new Promise<void>((resolve) => (finished = resolve));
  for (let start = 0; start < count; start += BATCH) {
    const specs = Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => ({ identifier: 'noop', payload: { i: start + i } }));
    await workerUtils.addJobs(specs);
  }
  await all;
}

/** graphile-worker logs each job at info; only errors matter to the bench (on stderr). */
function quietLogger(): Logger {
  return new Logger((scope) => (level, message) => {
    if (level === 'error') process.stderr.write(`graphile-worker ${JSON.stringify(scope)}: ${message}\n`);
  });
}
