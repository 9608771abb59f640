import type { RerunItems } from '../../../protocol/index.js';
import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { integerFlag } from '../integer-flag.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, withRemote } from '../remote.js';
import { resolveRunId } from '../run-id.js';
import { UsageError } from '../usage-error.js';
import { printOrWait } from './submit.js';

const USAGE = `flowrun rerun RUN_ID [--items failed|failedOrCancelled|all|I,J,…] [options]

Runs items of a finished run of a served runtime again, over their original inputs, as a new
run of the same flow (its rerunOf is RUN_ID; each item's sourceIndex is its index in RUN_ID), and
prints the new run's RunStatus as JSON. No item chosen gives a run of no items, which succeeds
at once. RUN_ID may be any unique prefix of 8 or more characters.

  --items WHICH           failed (default), failedOrCancelled, all, or item indices: 0,3,17
  --max-concurrency N     items at once (default: the source run's)
  --label L               the new run's flowLabel (default: the source run's)
  --wait                  wait for the new run to end, then print its final status; exit 1 if
                          any item did not succeed. Ctrl-C stops waiting (exit 130)
${REMOTE_HELP}

examples:
  flowrun rerun 3f2a9c1e --wait
  flowrun rerun 3f2a9c1e --items 0,3,17`;

/** `flowrun rerun`: reruns items of a finished run on a served runtime (docs/cli.md). */
export async function rerunCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length !== 1) throw new UsageError(`expected one RUN_ID\nusage: flowrun rerun RUN_ID [options] (see flowrun rerun --help)`);
  const items = parseItems(values.items);
  const maxConcurrency = integerFlag(values['max-concurrency'], '--max-concurrency');
  return withRemote(values, async (client) => {
    const source = await resolveRunId(client, positionals[0]);
    const handle = await client.run(source).rerun({ items, maxConcurrency, flowLabel: values.label });
    out.error(`rerun ${handle.runId} of run ${source} (${handle.submitted!.items.total} item(s))`);
    return printOrWait(client, handle, values.wait, out);
  });
}

/** `--items`: a selection by status, or a comma-separated list of item indices. */
function parseItems(text: string | undefined): RerunItems | undefined {
  if (text === undefined) return undefined;
  if (text === 'failed' || text === 'failedOrCancelled' || text === 'all') return text;
  const parts = text.split(',').map((part) => part.trim());
  if (parts.some((part) => !/^\d+$/.test(part))) {
    throw new UsageError(`--items: expected failed, failedOrCancelled, all or item indices like 0,3,17, got "${text}"`);
  }
  return parts.map(Number);
}

const OPTIONS = {
  ...REMOTE_OPTIONS,
  items: { type: 'string' },
  'max-concurrency': { type: 'string' },
  label: { type: 'string' },
  wait: { type: 'boolean' },
  ...HELP_OPTION,
} as const;
