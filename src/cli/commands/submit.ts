import type { RunStatus } from '../../../protocol/index.js';
import type { FlowrunClient } from '../../client/index.js';
import { loadFlowFile } from '../../flow/load.js';
import type { RunHandle } from '../../client/run-handle.js';
import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { handleInterrupt, INTERRUPTED_EXIT_CODE } from '../interrupt.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, exitCodeOf, reportFailures, waitForRun, withRemote } from '../remote.js';
import { RUN_INPUT_HELP, RUN_INPUT_OPTIONS, readRunRequest } from '../run-options.js';
import { UsageError } from '../usage-error.js';
import { parseMetaFlags } from './list.js';

const USAGE = `flowrun submit --flow FILE [input] [options]

Submits a run to a served runtime (\`flowrun serve\`) and prints its RunStatus as JSON. The flow
is validated here and sent inline; the server refuses it (exit 2) when a step's component has
no route there. The run id is printed on stderr as soon as the run is accepted.

${RUN_INPUT_HELP}
  --wait                  wait for the run to end, then print its final status (a progress bar
                          on stderr when it is a terminal); exit 1 if any item did not succeed.
                          Ctrl-C stops waiting and leaves the run going (exit 130)
  --idempotency-key K     a second submit of K (within the server's idempotencyTtl) gets the
                          first run back instead of a new one ("deduplicated": true)
  --meta K=V              metadata of the run (repeatable); V reads as a number or true/false
                          when it is one, else as a string
  --record-steps          keep a step record of every item (flowrun items shows them)
${REMOTE_HELP}

examples:
  flowrun submit --flow examples/greeter/flow.yaml --inputs examples/greeter/inputs.jsonl --wait
  FLOWRUN_URL=ws://10.0.0.5:7837/ FLOWRUN_TOKEN=secret flowrun submit --flow flow.yaml --input-json '{"x":1}'`;

/** `flowrun submit`: submits a run to a served runtime (docs/cli.md). */
export async function submitCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parseCommandArgs({ args: argv, options: OPTIONS }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (values.flow === undefined) throw new UsageError(`--flow is required\nusage: flowrun submit --flow FILE [input] [options] (see flowrun submit --help)`);
  const flow = await loadFlowFile(values.flow, { onWarning: (w) => out.error(w) });
  const { batch: _batch, ...request } = await readRunRequest(values);
  const lifecycle = {
    ...(values['idempotency-key'] !== undefined && { idempotencyKey: values['idempotency-key'] }),
    ...(values.meta !== undefined && { metadata: parseMetaFlags(values.meta) }),
    ...(values['record-steps'] && { recordSteps: true }),
  };
  return withRemote(values, async (client) => {
    const handle = await client.submit({ flow: flow as Record<string, unknown>, ...request, ...lifecycle });
    out.error(`submitted run ${handle.runId} (${request.inputs.length} item(s))`);
    return printOrWait(client, handle, values.wait, out);
  });
}

/** A run just started: prints its status, or with `wait` waits for it and answers like `get --wait`. */
export async function printOrWait(client: FlowrunClient, handle: RunHandle, wait: boolean | undefined, out: Output): Promise<number> {
  if (!wait) {
    out.line(JSON.stringify(handle.submitted));
    return 0;
  }
  const status = await waitOrDetach(handle, out);
  if (status === undefined) return INTERRUPTED_EXIT_CODE;
  return finishWaiting(client, status, out);
}

/** Waits for the run; at Ctrl-C stops waiting (the run goes on), says how to come back, and returns undefined. */
async function waitOrDetach(handle: RunHandle, out: Output): Promise<RunStatus | undefined> {
  const detach = new AbortController();
  const stopListening = handleInterrupt(() => detach.abort());
  try {
    return await waitForRun(handle, handle.submitted, process.stderr, detach.signal);
  } catch (err) {
    if (!detach.signal.aborted) throw err;
    const id = handle.runId;
    out.error(`interrupted: run ${id} goes on; reattach with \`flowrun get ${id} --wait\`, stop it with \`flowrun cancel ${id}\``);
    return undefined;
  } finally {
    stopListening();
  }
}

/** Prints a waited-for run's final status (without results) and its failures; its exit code. */
async function finishWaiting(client: FlowrunClient, status: RunStatus, out: Output): Promise<number> {
  const { results: _results, ...summary } = status;
  out.line(JSON.stringify(summary));
  await reportFailures(client, status, out);
  return exitCodeOf(status);
}

const OPTIONS = {
  ...RUN_INPUT_OPTIONS,
  ...REMOTE_OPTIONS,
  wait: { type: 'boolean' },
  'idempotency-key': { type: 'string' },
  meta: { type: 'string', multiple: true },
  'record-steps': { type: 'boolean' },
  ...HELP_OPTION,
} as const;
