import type { Logger } from '../log.js';
import type { RunEventLog, StoredRunEvent } from '../statestore/run-event-log.js';

/** The log is re-read this often even without a hint (one may be lost). */
const TAIL_RECHECK_MS = 1000;
/** A missing cursor (an append of another node not committed yet) is waited for this long, then passed. */
const TAIL_GAP_MS = 2000;
/** Events read per page. */
const PAGE = 1000;

/**
 * Reads a shared run event log in cursor order and hands on each event once (docs/events.md, "On
 * a cluster"): what every node appended, this one's too. Woken by hints and a periodic re-check;
 * one read at a time. A cursor missing after the last delivered one may be an append of another
 * node that has not committed yet: it is waited for a while, then passed.
 */
export class EventLogTail {
  private delivered = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  /** When the cursor after the last delivered was first seen missing, or undefined. */
  private gapSince: number | undefined;
  private closed = false;

  constructor(
    private readonly log: RunEventLog,
    private readonly deliver: (event: StoredRunEvent) => void,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  /** The highest cursor handed on. */
  get lastDelivered(): number {
    return this.delivered;
  }

  /** Starts after the newest event stored now; `onHint` registers the wake-up of appends anywhere. */
  async start(onHint: (wake: () => void) => void): Promise<void> {
    this.delivered = await this.log.lastCursor();
    onHint(() => void this.poll());
    this.timer = setInterval(() => void this.poll(), TAIL_RECHECK_MS);
    this.timer.unref();
  }

  /** Reads what is new (after the read in progress, if one is). */
  poll(): Promise<void> {
    if (this.polling !== undefined) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = this.read()
      .catch((err: unknown) => this.logger.warn({ err }, 'cannot read run events'))
      .finally(() => {
        this.polling = undefined;
        if (this.pollAgain && !this.closed) {
          this.pollAgain = false;
          void this.poll();
        }
      });
    return this.polling;
  }

  private async read(): Promise<void> {
    while (!this.closed) {
      const page = await this.log.after(this.delivered, PAGE);
      for (const event of page) {
        if (event.cursor !== this.delivered + 1) {
          this.gapSince ??= this.now();
          if (this.now() - this.gapSince < TAIL_GAP_MS) {
            setTimeout(() => void this.poll(), 100).unref();
            return;
          }
        }
        this.gapSince = undefined;
        this.delivered = event.cursor;
        this.deliver(event);
      }
      if (page.length < PAGE) return;
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }
}
