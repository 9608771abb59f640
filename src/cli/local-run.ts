import type { ResultOrder } from '../../protocol/index.js';
import type { LiveRun } from '../api/live-run.js';
import { formatFailureSummary, type FirstFailure } from './failure-summary.js';
import { handleInterrupt, INTERRUPTED_EXIT_CODE } from './interrupt.js';
import type { Output } from './output.js';
import { ProgressBar } from './progress.js';
import type { ResultSink } from './result-sink.js';
import { ResultStream } from './result-stream.js';

/** How `flowrun run` follows its run. */
export interface LocalRunOptions {
  order: ResultOrder;
  /** Draw a progress bar (on a terminal). */
  progress: boolean;
}

/**
 * Follows a run of this process to its end: streams results to `sink`, draws the progress
 * bar, and on Ctrl-C cancels the run, writes every finished result and says what was done.
 * Returns the exit code: 0 all succeeded, 1 some failed, 130 interrupted.
 */
export async function followLocalRun(run: LiveRun, sink: ResultSink, out: Output, options: LocalRunOptions): Promise<number> {
  const stream = new ResultStream(run, options.order, sink);
  const progress = options.progress ? new ProgressBar(() => run.counts).start() : undefined;
  let interrupted = false;
  const stopListening = handleInterrupt(() => {
    interrupted = true;
    void run.cancel();
  });
  try {
    await run.finished();
  } finally {
    stopListening();
    progress?.stop();
    stream.close();
  }
  const c = run.counts;
  if (interrupted) {
    stream.flushFinished();
    const done = c.success + c.failed;
    out.error(`interrupted: ${done} of ${c.total} done (${c.success} ok, ${c.failed} failed), results written`);
    return INTERRUPTED_EXIT_CODE;
  }
  stream.flush();
  if (c.failed > 0) out.error(formatFailureSummary(c, firstFailure(run)));
  return c.failed > 0 || c.cancelled > 0 ? 1 : 0;
}

/** The failed item with the lowest index, with its result. */
function firstFailure(run: LiveRun): FirstFailure | undefined {
  for (let i = 0; i < run.total; i++) {
    if (run.itemStatus(i) !== 'failed') continue;
    return { itemIndex: i, result: run.results({ offset: i, limit: 1 })[0]?.result };
  }
  return undefined;
}
