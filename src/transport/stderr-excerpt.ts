/** Longest stderr line kept; a child spewing without newlines cannot grow memory past it. */
export const STDERR_LINE_CHARS = 1024;
/** The tail keeps at most this many lines… */
const TAIL_LINES = 50;
/** …and at most this many characters (docs/component-servers.md: "stderr"). */
const TAIL_CHARS = 4096;
/** Lines quoted in error messages and error data: the first error line and the last few. */
const BRIEF_LAST_LINES = 3;
const BRIEF_LINE_CHARS = 240;

/**
 * A line that says why a process failed: `Error: Cannot find module …`, `ModuleNotFoundError: …`,
 * `fatal: …`, `panic: …`. Node and Python put the reason first or last and a stack around it, so
 * the tail alone often quotes only stack frames.
 */
const ERROR_LINE = /\b(?:[A-Z][\w$]*)?(?:Error|Exception)\b|\b(?:error|fatal|panic|cannot|failed)\b/i;

/**
 * What a child process said on stderr, bounded: the last lines (at most 50 and 4 KiB) and the
 * first line that looks like an error. One per process: one incident when it dies.
 */
export class StderrExcerpt {
  private readonly lines: string[] = [];
  private chars = 0;
  private firstErrorLine: string | undefined;

  /** Adds one line (without its newline), cut to {@link STDERR_LINE_CHARS}. */
  push(line: string): void {
    if (line.length > STDERR_LINE_CHARS) line = line.slice(0, STDERR_LINE_CHARS) + '…';
    if (this.firstErrorLine === undefined && ERROR_LINE.test(line)) this.firstErrorLine = line;
    this.lines.push(line);
    this.chars += line.length;
    while (this.lines.length > TAIL_LINES || (this.chars > TAIL_CHARS && this.lines.length > 1)) {
      this.chars -= this.lines.shift()!.length;
    }
  }

  /** The last lines, oldest first (at most 50 lines and 4 KiB). */
  tail(): string[] {
    return this.lines.slice();
  }

  /** The first line that looked like an error, if any. */
  get firstError(): string | undefined {
    return this.firstErrorLine;
  }

  /**
   * A few short lines for an error message or an item's error data: the first error line (unless
   * it is among the last lines) and the last non-empty lines, each cut to 240 characters.
   */
  brief(): string[] {
    const last = this.lines.filter((l) => l.trim() !== '').slice(-BRIEF_LAST_LINES);
    const first = this.firstErrorLine;
    const lines = first !== undefined && !last.includes(first) ? [first, ...last] : last;
    return lines.map((l) => (l.length > BRIEF_LINE_CHARS ? l.slice(0, BRIEF_LINE_CHARS) + '…' : l));
  }
}
