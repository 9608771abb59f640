import { MAX_COMPARE_PAGE } from '../../../protocol/index.js';
import type { CompareRunsResult, FlowrunClient } from '../../client/index.js';
import { parseCommandArgs } from '../args.js';
import { COMPARE_TABLE_ITEMS, compareTable } from '../compare-table.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION, printListing } from '../listing.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, withRemote } from '../remote.js';
import { resolveRunId } from '../run-id.js';
import { UsageError } from '../usage-error.js';

const USAGE = `flowrun compare RUN_A RUN_B [RUN_C [RUN_D]] [--only-different] [--json]

Compares 2 to 4 runs of a served runtime item by item: items are matched by index, or through
the rerun's source index when one run reruns another. On a terminal: each run with its counts
and duration, how many items are the same, different or missing from some run, then the items
that differ with each run's result. Otherwise (or with --json) the runs/compare answer as JSON
{runs, summary, items}, every item in it. Run ids may be unique prefixes of 8+ characters.

  --only-different     list only the items that differ or are missing (the table always does)
  --json               JSON even on a terminal
${REMOTE_HELP}

example:
  flowrun compare 3f2a9c1e 9b0c4d2a`;

/** `flowrun compare`: compares 2–4 runs of a served runtime (docs/cli.md). */
export async function compareCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length < 2 || positionals.length > 4) {
    throw new UsageError(`expected 2 to 4 run ids, got ${positionals.length}\nusage: flowrun compare RUN_A RUN_B [RUN_C [RUN_D]] (see flowrun compare --help)`);
  }
  return withRemote(values, async (client) => {
    const runIds: string[] = [];
    for (const text of positionals) runIds.push(await resolveRunId(client, text));
    if (values.json || !out.isTerminal) {
      printListing(out, true, await compareAll(client, runIds, values['only-different'] === true), () => '');
      return 0;
    }
    // The table lists the first differing items; the summary counts them all.
    const page = await client.compare(runIds, { onlyDifferent: true, limit: COMPARE_TABLE_ITEMS });
    out.line(compareTable(page));
    return 0;
  });
}

/** Every page of `runs/compare`, joined. */
async function compareAll(client: FlowrunClient, runIds: string[], onlyDifferent: boolean): Promise<CompareRunsResult> {
  const first = await client.compare(runIds, { onlyDifferent, limit: MAX_COMPARE_PAGE });
  const items = [...first.items];
  let next = first.nextOffset;
  while (next !== undefined) {
    const page = await client.compare(runIds, { onlyDifferent, offset: next, limit: MAX_COMPARE_PAGE });
    items.push(...page.items);
    next = page.items.length > 0 ? page.nextOffset : undefined;
  }
  return { runs: first.runs, settings: first.settings, summary: first.summary, items };
}

const OPTIONS = { ...REMOTE_OPTIONS, 'only-different': { type: 'boolean' }, ...JSON_OPTION, ...HELP_OPTION } as const;
