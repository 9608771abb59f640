import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error.js';

/**
 * Parses a command's flags (strict by default); a mistake becomes a UsageError (exit 2) naming
 * the flag, with the first line of the command's help and where the rest is.
 */
export function parseCommandArgs<C extends ParseArgsConfig>(config: C, usage: string): ReturnType<typeof parseArgs<C>> {
  try {
    return parseArgs(config);
  } catch (err) {
    const synopsis = usage.split('\n', 1)[0];
    const command = /^flowrun \w+/.exec(synopsis)?.[0] ?? 'flowrun';
    throw new UsageError(`${(err as Error).message}\nusage: ${synopsis} (see ${command} --help)`);
  }
}
