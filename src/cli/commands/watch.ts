import { isTerminal, type RunStatus } from '../../../protocol/index.js';
import type { FlowrunClient, RunEvent } from '../../client/index.js';
import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION } from '../listing.js';
import type { Output } from '../output.js';
import { formatProgress } from '../progress.js';
import { REMOTE_HELP, REMOTE_OPTIONS, exitCodeOf, reportFailures, withRemote } from '../remote.js';
import { resolveRunId } from '../run-id.js';
import { UsageError } from '../usage-error.js';
import { watchTable } from '../watch-table.js';

const USAGE = `flowrun watch [RUN_ID] [--namespace NS] [--json]

Follows the runs of a served runtime live (docs/events.md). Without RUN_ID: a table of the active
runs (id, flow, status, progress, duration) redrawn in place on a terminal, one JSON event per line
otherwise; it runs until interrupted. With RUN_ID: a live progress line on a terminal (one JSON
event per line otherwise) until the run ends; exits 0 when every item succeeded, else 1, like
get --wait. RUN_ID may be any unique prefix of 8 or more characters.

  --namespace NS       the runs of namespace NS (an admin's token; others see only their own
                       namespace; default: the token's, an admin's every one)
  --json               JSON lines even on a terminal
${REMOTE_HELP}

examples:
  flowrun watch
  flowrun watch 3f2a9c1e`;

/** Redraws of the live table at most this often. */
const REDRAW_MS = 250;

/** `flowrun watch`: live run events as a table, a progress line or JSON lines (docs/cli.md). */
export async function watchCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length > 1) throw new UsageError('expected at most one RUN_ID\nusage: flowrun watch [RUN_ID] [options] (see flowrun watch --help)');
  const live = out.isTerminal === true && !values.json;
  const { namespace } = values;
  return withRemote(values, (client) => (positionals.length === 1 ? watchOne(client, positionals[0], live, out, namespace) : watchActive(client, live, out, namespace)));
}

async function watchOne(client: FlowrunClient, prefix: string, live: boolean, out: Output, namespace: string | undefined): Promise<number> {
  const runId = await resolveRunId(client, prefix);
  let last: RunStatus | undefined;
  for await (const event of client.run(runId).events({ namespace })) {
    last = event.run;
    if (!live) out.line(JSON.stringify(event));
    else process.stderr.write(`\r\x1b[2K${formatProgress({ counts: event.run.items, elapsedMs: elapsedOf(event.run) })}`);
  }
  if (live) process.stderr.write('\n');
  if (last === undefined) return 1;
  await reportFailures(client, last, out);
  return exitCodeOf(last);
}

async function watchActive(client: FlowrunClient, live: boolean, out: Output, namespace: string | undefined): Promise<number> {
  const stream = client.watch({ filter: { status: ['pending', 'running'] }, namespace });
  await stream.start();
  const shown = new Map<string, RunStatus>();
  if (live) for (const run of (await client.list({ status: ['pending', 'running'], limit: 1000, namespace })).runs) shown.set(run.runId, run);
  let redraw: ReturnType<typeof setTimeout> | undefined;
  const draw = (): void => {
    redraw = undefined;
    process.stdout.write(`\x1b[H\x1b[2J${shown.size === 0 ? 'no active runs' : watchTable([...shown.values()], Date.now())}\n`);
  };
  if (live) draw();
  const interrupted = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  const events = (async () => {
    for await (const event of stream) {
      if (!live) {
        out.line(JSON.stringify(event));
        continue;
      }
      apply(shown, event);
      redraw ??= setTimeout(draw, REDRAW_MS);
    }
  })();
  await Promise.race([interrupted, events]);
  if (redraw !== undefined) clearTimeout(redraw);
  await stream.close();
  return 0;
}

/** The table's runs after an event: a finished run leaves it. */
function apply(shown: Map<string, RunStatus>, event: RunEvent): void {
  if (isTerminal(event.run.status)) shown.delete(event.run.runId);
  else shown.set(event.run.runId, event.run);
}

function elapsedOf(run: RunStatus): number {
  return run.durationMs ?? Math.max(0, Date.now() - Date.parse(run.createdAt));
}

const OPTIONS = {
  ...REMOTE_OPTIONS,
  namespace: { type: 'string' },
  ...JSON_OPTION,
  ...HELP_OPTION,
} as const;
