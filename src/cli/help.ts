import type { Output } from './output.js';

/** The `--help`/`-h` flag every command takes. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** Prints a command's help on stdout (it was asked for: not an error); returns exit code 0. */
export function printHelp(out: Output, usage: string): number {
  out.line(usage);
  return 0;
}
