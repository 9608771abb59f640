import { StatusSchema, type Status } from '../../../protocol/index.js';
import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION, printListing } from '../listing.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, withRemote } from '../remote.js';
import { integerFlag } from '../integer-flag.js';
import { runTable } from '../run-table.js';
import { UsageError } from '../usage-error.js';

const USAGE = `flowrun list [--status S,…] [--limit N] [--cursor C] [--namespace NS] [--json]

Lists the runs of a served runtime, newest first: a table on a terminal, JSON
{runs, nextCursor?} otherwise (or with --json).

  --status S,…         only runs in these states: pending, running, success, failed, cancelled
  --limit N            at most N runs (1..1000, default 50)
  --cursor C           the next page: the nextCursor of the previous answer
  --namespace NS       the runs of namespace NS (an admin's token; others see only
                       their own namespace; default: the token's, an admin's every one)
  --json               JSON even on a terminal
${REMOTE_HELP}

examples:
  flowrun list
  flowrun list --status running,failed --json
  flowrun list --namespace team-a`;

/** `flowrun list`: the runs of a served runtime (docs/cli.md). */
export async function listCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"\nusage: flowrun list [options] (see flowrun list --help)`);
  const status = values.status === undefined ? undefined : parseStatuses(values.status);
  const limit = integerFlag(values.limit, '--limit', 1, 1000);
  return withRemote(values, async (client) => {
    const page = await client.list({ status, limit, cursor: values.cursor, namespace: values.namespace });
    printListing(out, values.json, page, () => runTable(page.runs) + (page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : ''));
    return 0;
  });
}

/** Parses `--status a,b`; an unknown state names itself and the choices. */
export function parseStatuses(text: string, flag = '--status'): Status[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const parsed = StatusSchema.safeParse(s);
      if (!parsed.success) throw new UsageError(`${flag}: "${s}" is not one of ${StatusSchema.options.join(', ')}`);
      return parsed.data;
    });
}

const OPTIONS = {
  ...REMOTE_OPTIONS,
  status: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  namespace: { type: 'string' },
  ...JSON_OPTION,
  ...HELP_OPTION,
} as const;
