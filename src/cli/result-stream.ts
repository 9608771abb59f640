import type { Disposable } from 'vscode-jsonrpc';
import type { FlowResult, ResultOrder } from '../../protocol/index.js';
import { CANCELLED } from '../executor/failures.js';
import type { LiveRun } from '../api/live-run.js';
import type { ResultSink } from './result-sink.js';

/**
 * Streams a local run's FlowResults as JSON lines while it runs: byIndex writes each result
 * once it and every one before it are done; byCompletion writes them in the order they
 * finished. Writes are batched per turn of the event loop.
 */
export class ResultStream {
  /** Results written so far (byIndex: also the index of the next item to write). */
  private written = 0;
  private scheduled = false;
  private closed = false;
  private readonly subscription: Disposable;

  constructor(
    private readonly run: LiveRun,
    private readonly order: ResultOrder,
    private readonly sink: ResultSink,
  ) {
    this.subscription = run.onItemSettled(() => this.schedule());
  }

  get count(): number {
    return this.written;
  }

  /** Writes what is ready now; call once the run is terminal to write the rest. */
  flush(): void {
    const end = this.order === 'byIndex' ? this.readyPrefix() : undefined;
    const results = this.run.results({ order: this.order, offset: this.written, limit: end === undefined ? undefined : end - this.written });
    this.writeResults(results.map((r) => r.result ?? CANCELLED));
  }

  /**
   * After an interrupted run: writes every finished result not written yet (in the stream's
   * order), leaving out the items the interruption cancelled. Returns how many were written.
   */
  flushFinished(): number {
    const finished = this.run.results({ order: this.order, offset: this.written }).filter((r) => r.status === 'success' || r.status === 'failed').map((r) => r.result ?? CANCELLED);
    this.writeResults(finished);
    this.written = this.order === 'byIndex' ? this.run.total : this.written;
    return finished.length;
  }

  close(): void {
    this.closed = true;
    this.subscription.dispose();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.closed) this.flush();
    });
  }

  /** byIndex: the end of the run of finished items starting at the next one to write. */
  private readyPrefix(): number {
    const total = this.run.total;
    let end = this.written;
    while (end < total && isDone(this.run.itemStatus(end))) end++;
    return end;
  }

  private writeResults(results: readonly FlowResult[]): void {
    if (results.length === 0) return;
    let text = '';
    for (const r of results) text += JSON.stringify(r) + '\n';
    this.sink.write(text);
    this.written += results.length;
  }
}

const isDone = (status: string): boolean => status === 'success' || status === 'failed' || status === 'cancelled';
