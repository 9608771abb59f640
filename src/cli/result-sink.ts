import { closeSync, openSync, writeSync } from 'node:fs';
import { UsageError } from './usage-error.js';
import type { Output } from './output.js';

/** Where `run` writes its FlowResult lines: stdout, or the `--output` file. */
export interface ResultSink {
  /** Writes whole lines (each ending in `\n`) at once. */
  write(text: string): void;
  close(): void;
}

/**
 * Opens `--output FILE` (created or truncated) or stdout. File writes are synchronous, so
 * every line written is in the file even if the process is interrupted right after.
 */
export function openResultSink(file: string | undefined, out: Output): ResultSink {
  if (file === undefined) return { write: (text) => out.line(text.endsWith('\n') ? text.slice(0, -1) : text), close: () => {} };
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (err) {
    throw new UsageError(`--output ${file}: ${(err as Error).message}`);
  }
  return {
    write: (text) => void writeSync(fd, text),
    close: () => closeSync(fd),
  };
}
