import { loadConfig } from '../../config/index.js';
import { FlowLoadError } from '../../errors.js';
import { loadFlowFile } from '../../flow/load.js';
import { Router } from '../../routing/router.js';
import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import type { Output } from '../output.js';
import { unroutedDiagnostics } from '../route-check.js';
import { UsageError } from '../usage-error.js';

const USAGE = `flowrun validate FLOW [--config FILE]

Checks a flow file: prints every diagnostic as \`file:line: level: step "id" field "f": message\`
on stdout, and checks that each step's component has a route in the config (found as for
\`flowrun run\` unless --config is given). Exit codes: 0 valid, 1 invalid, 2 usage or config error.

example:
  flowrun validate examples/greeter/flow.yaml`;

/** `flowrun validate`: a flow's diagnostics and unrouted components (docs/cli.md). */
export async function validateCommand(argv: string[], out: Output): Promise<number> {
  const parsed = parseCommandArgs({ args: argv, options: { config: { type: 'string' }, ...HELP_OPTION }, allowPositionals: true }, USAGE);
  if (parsed.values.help) return printHelp(out, USAGE);
  const file = parsed.positionals[0];
  if (!file || parsed.positionals.length > 1) throw new UsageError(`give exactly one flow file\nusage: flowrun validate FLOW [--config FILE]`);

  const problems: string[] = [];
  let flow;
  try {
    flow = await loadFlowFile(file, { onWarning: (w) => problems.push(w) });
  } catch (err) {
    if (!(err instanceof FlowLoadError)) throw err;
    // Unreadable or not YAML/JSON: one message; an invalid flow: its message lists every error.
    out.line(err.message);
    out.error(`${file}: invalid`);
    return 1;
  }
  const config = await loadConfig({ configPath: parsed.values.config, flowPath: file });
  const router = new Router(config.routes, new Set(Object.keys(config.plugins)));
  const unrouted = unroutedDiagnostics(flow, file, router, config.file);
  for (const p of [...problems, ...unrouted]) out.line(p);
  out.error(unrouted.length === 0 ? `${file}: valid` : `${file}: ${unrouted.length} error(s)`);
  return unrouted.length === 0 ? 0 : 1;
}
