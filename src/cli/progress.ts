import type { ItemCounts } from '../../protocol/index.js';

/**
 * A one-line progress bar on stderr (items done/total, failed, rate, ETA), drawn only when
 * stderr is a terminal so that logs and pipes stay clean.
 */
export class ProgressBar {
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly enabled: boolean;

  constructor(
    private readonly read: () => ItemCounts,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = Boolean(stream.isTTY);
  }

  start(intervalMs = 200): this {
    if (this.enabled) this.timer = setInterval(() => this.draw(), intervalMs).unref();
    return this;
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.draw();
    this.stream.write('\n');
  }

  private draw(): void {
    const c = this.read();
    const done = c.success + c.failed + c.cancelled;
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? (c.total - done) / rate : 0;
    const width = 30;
    const filled = c.total > 0 ? Math.round((done / c.total) * width) : width;
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    this.stream.write(
      `\r[${bar}] ${done}/${c.total} failed ${c.failed} · ${rate.toFixed(0)} items/s · ETA ${eta.toFixed(0)}s   `,
    );
  }
}
