/**
 * Lets at most `perTurn` callers through per turn of the event loop; the others wait, first come
 * first served, for a later turn. Work that needs no I/O (builtins starting child runs) would
 * otherwise run as one chain of microtasks and keep every client waiting until it ends.
 */
export class TurnBudget {
  private used = 0;
  private readonly waiting: Array<() => void> = [];
  /** Index of the first waiter still waiting (a queue without `shift`). */
  private head = 0;
  private resetScheduled = false;

  constructor(private readonly perTurn: number) {}

  /** Resolves when the caller may go on: at once while this turn's budget lasts. */
  take(): Promise<void> {
    this.scheduleReset();
    if (this.used < this.perTurn && this.head === this.waiting.length) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private scheduleReset(): void {
    if (this.resetScheduled) return;
    this.resetScheduled = true;
    setImmediate(() => {
      this.resetScheduled = false;
      this.used = 0;
      while (this.used < this.perTurn && this.head < this.waiting.length) {
        this.used++;
        this.waiting[this.head++]();
      }
      if (this.head === this.waiting.length) {
        this.waiting.length = 0;
        this.head = 0;
      } else {
        this.scheduleReset();
      }
    });
  }
}
