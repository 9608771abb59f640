import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION, printListing } from '../listing.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, collectResults, exitCodeOf, parseOrder, reportFailures, waitForRun, withRemote } from '../remote.js';
import { resolveRunId } from '../run-id.js';
import { runTable } from '../run-table.js';
import { UsageError } from '../usage-error.js';

const USAGE = `flowrun get RUN_ID [--wait] [--results [--order byIndex|byCompletion]] [--json]

Shows a run of a served runtime: a one-row table on a terminal, its RunStatus as JSON otherwise
(or with --json). RUN_ID may be any unique prefix of 8 or more characters.

  --wait               wait until the run ends (a progress bar on stderr when it is a terminal);
                       exit 1 if any item did not succeed, with a summary line on stderr
  --results            print the RunStatus with every item result, as JSON
  --order ORDER        order of --results: byIndex (input order, default) or byCompletion
  --json               JSON even on a terminal
${REMOTE_HELP}

examples:
  flowrun get 3f2a9c1e --wait
  flowrun get 3f2a9c1e-0d4b-4c6e-9a71-5b8e2f0c7d19 --results --order byCompletion`;

/** `flowrun get`: a run's status, optionally waiting for it and with its results (docs/cli.md). */
export async function getCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length !== 1) throw new UsageError(`expected one RUN_ID\nusage: flowrun get RUN_ID [options] (see flowrun get --help)`);
  const order = parseOrder(values.order);
  if (values.order !== undefined && !values.results) throw new UsageError('--order applies to --results only');

  return withRemote(values, async (client) => {
    const runId = await resolveRunId(client, positionals[0]);
    const handle = client.run(runId);
    let status = values.wait ? await waitForRun(handle, undefined) : await handle.status();
    if (values.results) {
      status = await collectResults(client, runId, order);
      out.line(JSON.stringify(status));
    } else {
      printListing(out, values.json, status, () => runTable([status]));
    }
    if (!values.wait) return 0;
    await reportFailures(client, status, out);
    return exitCodeOf(status);
  });
}

const OPTIONS = {
  ...REMOTE_OPTIONS,
  wait: { type: 'boolean' },
  results: { type: 'boolean' },
  order: { type: 'string' },
  ...JSON_OPTION,
  ...HELP_OPTION,
} as const;
