import type { ItemDetail, Status } from '../../../protocol/index.js';
import type { FlowrunClient } from '../../client/index.js';
import { parseCommandArgs } from '../args.js';
import { describeFailure } from '../failure-summary.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION, printListing } from '../listing.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, withRemote } from '../remote.js';
import { resolveRunId } from '../run-id.js';
import { renderTable, type Column } from '../table.js';
import { UsageError } from '../usage-error.js';
import { parseStatuses } from './list.js';

const USAGE = `flowrun items RUN_ID [--status S,…] [--json]

Lists the items of a run of a served runtime in input order: a table on a terminal (index,
status, attempts, duration, and for a failed item the step and message), JSON {runId, items}
otherwise (or with --json), each item with its timings and, when kept, its step records.
RUN_ID may be any unique prefix of 8 or more characters.

  --status S,…         only items in these states: pending, running, success, failed, cancelled
  --json               JSON even on a terminal
${REMOTE_HELP}

example:
  flowrun items 3f2a9c1e --status failed`;

/** Items per `runs/items` request (its maximum). */
const PAGE = 1000;

const ITEM_COLUMNS: readonly Column<ItemDetail>[] = [
  { header: 'ITEM', cell: (i) => String(i.itemIndex), right: true },
  { header: 'STATUS', cell: (i) => i.status },
  { header: 'ATTEMPTS', cell: (i) => String(i.attempts), right: true },
  { header: 'DURATION', cell: (i) => (i.durationMs === undefined ? '' : `${i.durationMs} ms`), right: true },
  { header: 'STEP', cell: failedStep },
  { header: 'ERROR', cell: (i) => (i.result?.outcome === 'failed' ? describeFailure(i.result) : '') },
];

/** `flowrun items`: a run's items, filtered by status (docs/cli.md). */
export async function itemsCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length !== 1) throw new UsageError(`expected one RUN_ID\nusage: flowrun items RUN_ID [options] (see flowrun items --help)`);
  const statuses = values.status === undefined ? undefined : parseStatuses(values.status);
  return withRemote(values, async (client) => {
    const runId = await resolveRunId(client, positionals[0]);
    const items = await allItems(client, runId, statuses);
    printListing(out, values.json, { runId, items }, () => renderTable(ITEM_COLUMNS, items));
    return 0;
  });
}

/** Every item of the run in the given states, page by page, with step records. */
async function allItems(client: FlowrunClient, runId: string, status: Status[] | undefined): Promise<ItemDetail[]> {
  const run = client.run(runId);
  const items: ItemDetail[] = [];
  for (let offset: number | undefined = 0; offset !== undefined; ) {
    const page: { items: ItemDetail[]; nextOffset?: number } = await run.items({ status, offset, limit: PAGE, includeSteps: true });
    items.push(...page.items);
    offset = page.nextOffset;
  }
  return items;
}

/** The step a failed item failed in: its failed step record, else the step its error names. */
function failedStep(item: ItemDetail): string {
  if (item.status !== 'failed') return '';
  const recorded = item.steps?.find((s) => s.status === 'failed')?.stepId;
  if (recorded !== undefined) return recorded;
  const data = item.result?.outcome === 'failed' ? (item.result.error.data as { stepId?: unknown } | undefined) : undefined;
  return typeof data?.stepId === 'string' ? data.stepId : '';
}

const OPTIONS = { ...REMOTE_OPTIONS, status: { type: 'string' }, ...JSON_OPTION, ...HELP_OPTION } as const;
