import type { ItemResult } from '../../../protocol/index.js';
import { parseCommandArgs } from '../args.js';
import { describeFailure } from '../failure-summary.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION, printListing } from '../listing.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, collectResults, withRemote } from '../remote.js';
import { resolveRunId } from '../run-id.js';
import { renderTable, type Column } from '../table.js';
import { UsageError } from '../usage-error.js';
import { parseStatuses } from './list.js';

const USAGE = `flowrun items RUN_ID [--status S,…] [--json]

Lists the items of a run of a served runtime in input order: a table on a terminal (index,
status, attempts, and what failed), JSON {runId, items} otherwise (or with --json).
RUN_ID may be any unique prefix of 8 or more characters.

  --status S,…         only items in these states: pending, running, success, failed, cancelled
  --json               JSON even on a terminal
${REMOTE_HELP}

example:
  flowrun items 3f2a9c1e --status failed`;

const ITEM_COLUMNS: readonly Column<ItemResult>[] = [
  { header: 'ITEM', cell: (i) => String(i.itemIndex), right: true },
  { header: 'STATUS', cell: (i) => i.status },
  { header: 'ATTEMPTS', cell: (i) => String(i.attempts ?? 0), right: true },
  { header: 'RESULT', cell: (i) => (i.result?.outcome === 'failed' ? describeFailure(i.result) : (i.result?.outcome ?? '')) },
];

/** `flowrun items`: a run's items, filtered by status (docs/cli.md). */
export async function itemsCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length !== 1) throw new UsageError(`expected one RUN_ID\nusage: flowrun items RUN_ID [options] (see flowrun items --help)`);
  const statuses = values.status === undefined ? undefined : new Set(parseStatuses(values.status));
  return withRemote(values, async (client) => {
    const runId = await resolveRunId(client, positionals[0]);
    const all = (await collectResults(client, runId, 'byIndex')).results ?? [];
    const items = statuses === undefined ? all : all.filter((i) => statuses.has(i.status));
    printListing(out, values.json, { runId, items }, () => renderTable(ITEM_COLUMNS, items));
    return 0;
  });
}

const OPTIONS = { ...REMOTE_OPTIONS, status: { type: 'string' }, ...JSON_OPTION, ...HELP_OPTION } as const;
