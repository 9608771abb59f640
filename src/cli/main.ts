import { RpcError } from '../../protocol/index.js';
import { ConfigError, FlowLoadError } from '../errors.js';
import { formatDiagnostic } from '../flow/load.js';
import type { Diagnostic } from '../flow/validate.js';
import { cancelCommand } from './commands/cancel.js';
import { compareCommand } from './commands/compare.js';
import { componentsCommand } from './commands/components.js';
import { deleteCommand } from './commands/delete.js';
import { gcCommand } from './commands/gc.js';
import { getCommand } from './commands/get.js';
import { itemsCommand } from './commands/items.js';
import { listCommand } from './commands/list.js';
import { nodesCommand } from './commands/nodes.js';
import { rerunCommand } from './commands/rerun.js';
import { workersCommand } from './commands/workers.js';
import { watchCommand } from './commands/watch.js';
import { runCommand } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { submitCommand } from './commands/submit.js';
import { testCommand } from './commands/test.js';
import { validateCommand } from './commands/validate.js';
import { packageVersion } from '../serve/package-version.js';
import { processOutput, type Output } from './output.js';
import { UsageError } from './usage-error.js';

const COMMANDS: Record<string, (argv: string[], out: Output) => Promise<number>> = {
  run: runCommand,
  test: testCommand,
  validate: validateCommand,
  components: componentsCommand,
  serve: serveCommand,
  submit: submitCommand,
  get: getCommand,
  cancel: cancelCommand,
  list: listCommand,
  items: itemsCommand,
  rerun: rerunCommand,
  compare: compareCommand,
  delete: deleteCommand,
  gc: gcCommand,
  nodes: nodesCommand,
  workers: workersCommand,
  watch: watchCommand,
};

const HELP = `flowrun — a workflow runtime for Stepflow v1 flows

usage: flowrun <command> [options]

commands:
  run         run a flow over one input or a JSONL file of inputs, in this process
  test        run the test cases of flow files
  validate    check a flow file and its routes
  components  list the components the config routes to
  serve       host the runtime over WebSocket (ws://127.0.0.1:7837/)
  submit      submit a run to a served runtime
  get         a run's status and results from a served runtime
  items       a run's items (e.g. the failed ones) from a served runtime
  rerun       run items of a finished run again (the failed ones by default)
  compare     compare 2 to 4 runs item by item
  cancel      cancel a run on a served runtime
  delete      delete a finished run (and its child runs) from a served runtime
  gc          delete old runs and blobs now, as the config's retention: says
  list        list the runs of a served runtime
  watch       follow the runs of a served runtime live (or one run: a progress line)
  nodes       list the nodes of a served runtime's cluster
  workers     list the workers connected to a served runtime

Remote commands connect to --url, else $FLOWRUN_URL, else ws://127.0.0.1:7837/, with --token,
else $FLOWRUN_TOKEN. FLOWRUN_LOG_LEVEL sets the log level (default info; logs go to stderr).

example:
  flowrun run --flow examples/greeter/flow.yaml --input-json '{"name":"Ada"}'

flowrun <command> --help for details; flowrun --version for the version`;

/** Runs the CLI; returns the exit code. Usage, config and flow errors are one message, exit 2 (docs/cli.md). */
export async function main(argv: string[], out: Output = processOutput): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    out.error(HELP);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    out.line(HELP);
    return 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    out.line(packageVersion());
    return 0;
  }
  const handler = COMMANDS[command];
  if (!handler) {
    out.error(`flowrun: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  try {
    return await handler(rest, out);
  } catch (err) {
    out.error(`flowrun ${command}: ${describe(err)}`);
    return 2;
  }
}

function describe(err: unknown): string {
  // FlowLoadError, UsageError and ConfigError messages already name the file (and line).
  if (err instanceof FlowLoadError || err instanceof UsageError || err instanceof ConfigError) return err.message;
  if (err instanceof RpcError) {
    // The message names the first diagnostic; list the others below it.
    const diagnostics = (err.data as { diagnostics?: Diagnostic[] } | undefined)?.diagnostics ?? [];
    return err.message + diagnostics.slice(1).map((d) => `\n  ${formatDiagnostic('flow', d)}`).join('');
  }
  return err instanceof Error ? err.message : String(err);
}
