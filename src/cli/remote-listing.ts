import { parseCommandArgs } from './args.js';
import { HELP_OPTION, printHelp } from './help.js';
import { JSON_OPTION, printListing } from './listing.js';
import type { Output } from './output.js';
import { REMOTE_OPTIONS, withRemote } from './remote.js';
import type { FlowrunClient } from '../client/index.js';
import { renderTable, type Column } from './table.js';
import { UsageError } from './usage-error.js';

const OPTIONS = { ...REMOTE_OPTIONS, ...JSON_OPTION, ...HELP_OPTION } as const;

/** What a remote listing command lists: asked of the served runtime, its rows shown as a table. */
export interface RemoteListing<L, T> {
  name: string;
  usage: string;
  fetch: (client: FlowrunClient) => Promise<L>;
  rows: (listing: L) => readonly T[];
  columns: readonly Column<T>[];
}

/**
 * A command like `flowrun nodes` or `flowrun workers`: no arguments but the remote options and
 * `--json`; a table on a terminal, the answer as JSON otherwise (docs/cli.md).
 */
export function remoteListingCommand<L, T>(listing: RemoteListing<L, T>): (argv: string[], out: Output) => Promise<number> {
  return async (argv, out) => {
    const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, listing.usage);
    if (values.help) return printHelp(out, listing.usage);
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument "${positionals[0]}"\nusage: flowrun ${listing.name} [options] (see flowrun ${listing.name} --help)`);
    }
    return withRemote(values, async (client) => {
      const answer = await listing.fetch(client);
      printListing(out, values.json, answer, () => renderTable(listing.columns, listing.rows(answer)));
      return 0;
    });
  };
}
