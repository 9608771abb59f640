import type { Flow } from '../../../protocol/index.js';
import { loadConfig } from '../../config/index.js';
import { loadFlowFile } from '../../flow/load.js';
import { Runtime } from '../../runtime.js';
import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { followLocalRun } from '../local-run.js';
import { createCliLogger } from '../logger.js';
import type { Output } from '../output.js';
import { parseOrder } from '../remote.js';
import { openResultSink } from '../result-sink.js';
import { refuseUnroutedLocally } from '../route-check.js';
import { RUN_INPUT_HELP, RUN_INPUT_OPTIONS, readRunRequest } from '../run-options.js';
import { UsageError } from '../usage-error.js';

const USAGE = `flowrun run --flow FILE [input] [options]

Runs a flow in this process and prints one FlowResult per input as a JSON line. With many
inputs, results stream out as they finish: in input order (each once it and all before it are
done), or with --order byCompletion as they finish. The flow's components are checked against
the config's routes before anything starts.

${RUN_INPUT_HELP}
  --config FILE           config file (default: flowrun.yaml or stepflow-config.yml next to the
                          flow, else in the working directory)
  --order ORDER           byIndex (default) or byCompletion
  --output FILE           write the results to FILE instead of stdout

A progress bar is drawn on stderr when it is a terminal. Ctrl-C cancels the run, writes every
finished result and says how many were done (exit 130); a second Ctrl-C exits at once.
Exit codes: 0 every item succeeded (or was skipped), 1 some failed, 2 usage, config or flow error.

examples:
  flowrun run --flow examples/greeter/flow.yaml --input-json '{"name":"Ada"}'
  flowrun run --flow examples/greeter/flow.yaml --inputs examples/greeter/inputs.jsonl --max-concurrency 16 --output results.jsonl
  echo '{"name":"Ada"}' | flowrun run --flow examples/greeter/flow.yaml`;

/** `flowrun run`: one run of a flow in this process (docs/cli.md). */
export async function runCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parseCommandArgs({ args: argv, options: OPTIONS }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  const flowPath = values.flow;
  if (!flowPath) throw new UsageError(`--flow is required\nusage: flowrun run --flow FILE [input] [options] (see flowrun run --help)`);
  const order = parseOrder(values.order);
  const flow: Flow = await loadFlowFile(flowPath, { onWarning: (w) => out.error(w) });
  const request = await readRunRequest(values);
  const config = await loadConfig({ configPath: values.config, flowPath });
  const runtime = await Runtime.create({ config, logger: createCliLogger(), joinCluster: false });
  try {
    refuseUnroutedLocally(flow, flowPath, runtime.router, config.file);
    const sink = openResultSink(values.output, out);
    try {
      const submitted = await runtime.runs.submit({ flow: flow as Record<string, unknown>, wait: false, ...request });
      return await followLocalRun(runtime.watch(submitted.runId)!, sink, out, { order, progress: request.batch });
    } finally {
      sink.close();
    }
  } finally {
    await runtime.close();
  }
}

const OPTIONS = {
  ...RUN_INPUT_OPTIONS,
  config: { type: 'string' },
  order: { type: 'string' },
  output: { type: 'string' },
  ...HELP_OPTION,
} as const;
