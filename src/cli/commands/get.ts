import type { Output } from '../output.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, collectResults, connectRemote, exitCodeOf, parseOrder, waitForRun } from '../remote.js';
import { UsageError } from '../usage-error.js';
import { parseCommandArgs } from '../args.js';

const USAGE = `flowrun get RUN_ID ${REMOTE_USAGE} [--wait] [--results] [--order byIndex|byCompletion]

Prints the run's RunStatus as JSON. --wait: once the run ends (a progress bar on stderr when it
is a terminal; exit 1 if any item did not succeed). --results: with every item result, in input
order (byIndex) or in the order items finished (byCompletion).`;

/** `flowrun get`: a run's status, optionally waiting for it and with its results (SPEC §9). */
export async function getCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseOptions(argv);
  if (values.help) {
    out.error(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one RUN_ID\nusage: ${USAGE}`);
  const runId = positionals[0];
  const order = parseOrder(values.order);
  if (values.order !== undefined && !values.results) throw new UsageError('--order applies to --results only');

  const client = await connectRemote(values, USAGE);
  try {
    const handle = client.run(runId);
    let status = values.wait ? await waitForRun(handle, undefined) : await handle.status();
    if (values.results) status = await collectResults(client, runId, order);
    out.line(JSON.stringify(status));
    return values.wait ? exitCodeOf(status) : 0;
  } finally {
    await client.close();
  }
}

function parseOptions(argv: string[]) {
  return parseCommandArgs(
    {
      args: argv,
      options: {
        ...REMOTE_OPTIONS,
        wait: { type: 'boolean' },
        results: { type: 'boolean' },
        order: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    },
    USAGE,
  );
}
