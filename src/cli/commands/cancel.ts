import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION, printListing } from '../listing.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, withRemote } from '../remote.js';
import { resolveRunId } from '../run-id.js';
import { runTable } from '../run-table.js';
import { UsageError } from '../usage-error.js';

const USAGE = `flowrun cancel RUN_ID [--json]

Cancels a run of a served runtime (and its child runs) and shows its status: a table on a
terminal, RunStatus JSON otherwise (or with --json). Finished results are kept; cancelling a
finished run changes nothing. RUN_ID may be any unique prefix of 8 or more characters.

  --json               JSON even on a terminal
${REMOTE_HELP}

example:
  flowrun cancel 3f2a9c1e`;

/** `flowrun cancel`: cancels a run on a served runtime (docs/cli.md). */
export async function cancelCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length !== 1) throw new UsageError(`expected one RUN_ID\nusage: flowrun cancel RUN_ID (see flowrun cancel --help)`);
  return withRemote(values, async (client) => {
    const status = await client.run(await resolveRunId(client, positionals[0])).cancel();
    printListing(out, values.json, status, () => runTable([status]));
    return 0;
  });
}

const OPTIONS = { ...REMOTE_OPTIONS, ...JSON_OPTION, ...HELP_OPTION } as const;
