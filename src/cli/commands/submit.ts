import { loadFlowFile } from '../../flow/load.js';
import { parseJsonFlag, readJsonLines } from '../inputs.js';
import type { Output } from '../output.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, connectRemote, exitCodeOf, waitForRun } from '../remote.js';
import { UsageError } from '../usage-error.js';
import { parseCommandArgs } from '../args.js';

const USAGE = `flowrun submit ${REMOTE_USAGE} --flow F (--input-json J | --inputs FILE.jsonl) [--wait] [--max-concurrency N]

Submits a run to a served runtime and prints its RunStatus as JSON. The flow file is validated
locally and sent inline. --wait: print the final status once the run ends (a progress bar on
stderr when it is a terminal); exit 1 if any item did not succeed.`;

/** `flowrun submit`: submits a run to a served runtime (SPEC §9). */
export async function submitCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parseOptions(argv);
  if (values.help) {
    out.error(USAGE);
    return 0;
  }
  if (values.flow === undefined) throw new UsageError(`--flow is required\nusage: ${USAGE}`);
  if ((values['input-json'] === undefined) === (values.inputs === undefined)) {
    throw new UsageError(`give exactly one of --input-json and --inputs\nusage: ${USAGE}`);
  }
  const flow = await loadFlowFile(values.flow, { onWarning: (w) => out.error(w) });
  const inputs = values.inputs !== undefined ? await readJsonLines(values.inputs) : [parseJsonFlag(values['input-json']!, '--input-json')];
  const maxConcurrency = parsePositiveInt(values['max-concurrency'], '--max-concurrency');

  const client = await connectRemote(values, USAGE);
  try {
    const handle = await client.submit({ flow: flow as Record<string, unknown>, inputs, maxConcurrency });
    if (!values.wait) {
      out.line(JSON.stringify(handle.submitted));
      return 0;
    }
    const status = await waitForRun(handle, handle.submitted);
    out.line(JSON.stringify(status));
    return exitCodeOf(status);
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
        flow: { type: 'string' },
        'input-json': { type: 'string' },
        inputs: { type: 'string' },
        wait: { type: 'boolean' },
        'max-concurrency': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    USAGE,
  );
}

function parsePositiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag}: expected an integer ≥ 1, got "${text}"`);
  return n;
}
