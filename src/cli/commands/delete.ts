import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION, printListing } from '../listing.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, withRemote } from '../remote.js';
import { resolveRunId } from '../run-id.js';
import { UsageError } from '../usage-error.js';

const USAGE = `flowrun delete RUN_ID [--json]

Deletes a finished run of a served runtime with its items, results and child runs, and says
what it deleted (JSON with --json or when stdout is not a terminal). A run that is not finished
is refused (-32013, exit 2): cancel it first. RUN_ID may be any unique prefix of 8 or more characters.

  --json               JSON even on a terminal
${REMOTE_HELP}

example:
  flowrun delete 3f2a9c1e`;

/** `flowrun delete`: deletes a finished run on a served runtime (docs/cli.md). */
export async function deleteCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length !== 1) throw new UsageError(`expected one RUN_ID\nusage: flowrun delete RUN_ID (see flowrun delete --help)`);
  return withRemote(values, async (client) => {
    const deleted = await client.run(await resolveRunId(client, positionals[0])).delete();
    printListing(out, values.json, deleted, () => {
      const [runId, ...children] = deleted.runIds;
      const withChildren = children.length === 0 ? '' : ` and ${children.length} child run(s)`;
      return `deleted run ${runId}${withChildren} (${deleted.items} item(s))`;
    });
    return 0;
  });
}

const OPTIONS = { ...REMOTE_OPTIONS, ...JSON_OPTION, ...HELP_OPTION } as const;
