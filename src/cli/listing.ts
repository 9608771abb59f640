import type { Output } from './output.js';

/** The `--json` flag of listing commands. */
export const JSON_OPTION = { json: { type: 'boolean' } } as const;

/**
 * Prints what a listing command found: a table for a person at a terminal, JSON otherwise
 * (`--json`, or stdout is not a terminal), see docs/cli.md.
 */
export function printListing(out: Output, json: boolean | undefined, value: unknown, table: () => string): void {
  out.line(json || !out.isTerminal ? JSON.stringify(value) : table());
}
