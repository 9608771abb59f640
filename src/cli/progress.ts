import type { ItemCounts } from '../../protocol/index.js';

/** What a progress line is drawn from. */
export interface ProgressSnapshot {
  counts: ItemCounts;
  elapsedMs: number;
}

/** One line: done/total, failed, cancelled, rate and ETA (docs/cli.md). */
export function formatProgress({ counts: c, elapsedMs }: ProgressSnapshot, width = 24): string {
  const done = c.success + c.failed + c.cancelled;
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? done / seconds : 0;
  const eta = rate > 0 ? (c.total - done) / rate : undefined;
  const filled = c.total > 0 ? Math.min(width, Math.round((done / c.total) * width)) : width;
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  return `[${bar}] ${done}/${c.total} · ${c.failed} failed · ${c.cancelled} cancelled · ${formatRate(rate)} · ETA ${eta === undefined ? '?' : formatDuration(eta * 1000)}`;
}

/**
 * The line a finished bar is replaced by: how the items ended, the rate of items that ran to
 * an end (cancelled ones did not), and the elapsed time.
 */
export function formatProgressSummary({ counts: c, elapsedMs }: ProgressSnapshot): string {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? (c.success + c.failed) / seconds : 0;
  const unfinished = c.pending + c.running;
  return (
    `${c.total} items: ${c.success} ok · ${c.failed} failed · ${c.cancelled} cancelled` +
    `${unfinished > 0 ? ` · ${unfinished} unfinished` : ''} · ${formatRate(rate)} · elapsed ${formatDuration(elapsedMs)}`
  );
}

function formatRate(perSecond: number): string {
  return `${perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(1)} items/s`;
}

/** `850ms`, `12.3s`, `4m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** The stream a bar is drawn on: a terminal (`isTTY`) or not. */
export type ProgressStream = Pick<NodeJS.WriteStream, 'write' | 'isTTY'>;

/**
 * A one-line progress bar on stderr, redrawn in place and ended by a summary line with the
 * elapsed time. Drawn only when the stream is a terminal, so that logs and pipes stay clean.
 */
export class ProgressBar {
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly enabled: boolean;

  constructor(
    private readonly read: () => ItemCounts,
    private readonly stream: ProgressStream = process.stderr,
  ) {
    this.enabled = Boolean(stream.isTTY);
  }

  start(intervalMs = 200): this {
    if (this.enabled) {
      this.draw();
      this.timer = setInterval(() => this.draw(), intervalMs).unref();
    }
    return this;
  }

  /** Replaces the bar by its summary line. Nothing when the stream is not a terminal. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.write(`\r\x1b[2K${formatProgressSummary(this.snapshot())}\n`);
  }

  private draw(): void {
    this.stream.write(`\r\x1b[2K${formatProgress(this.snapshot())}`);
  }

  private snapshot(): ProgressSnapshot {
    return { counts: this.read(), elapsedMs: Date.now() - this.started };
  }
}
