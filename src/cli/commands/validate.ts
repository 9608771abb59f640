import { loadConfig } from '../../config/index.js';
import { FlowLoadError } from '../../errors.js';
import { formatDiagnostic, loadFlowFile } from '../../flow/load.js';
import { Router } from '../../plugins/router.js';
import { UsageError } from '../usage-error.js';
import { parseCommandArgs } from '../args.js';
import type { Output } from '../output.js';

const USAGE = 'flowrun validate FLOW [--config C]';

/**
 * `flowrun validate`: prints every diagnostic as `file:line: level: step "id" field "f": message`
 * and checks that each step's component has a route in the config. Exit 0 valid, 1 invalid.
 */
export async function validateCommand(argv: string[], out: Output): Promise<number> {
  const parsed = parseCommandArgs({ args: argv, options: { config: { type: 'string' } }, allowPositionals: true }, USAGE);
  const file = parsed.positionals[0];
  if (!file || parsed.positionals.length > 1) throw new UsageError(`give exactly one flow file\nusage: ${USAGE}`);

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
  let errors = 0;
  flow.steps.forEach((step, i) => {
    if (router.hasRouteFor(step.component)) return;
    errors++;
    const message = `no route for component "${step.component}" in ${config.file ?? 'the default config'}`;
    problems.push(formatDiagnostic(file, { level: 'error', stepId: step.id, field: `steps[${i}].component`, message }));
  });
  for (const p of problems) out.line(p);
  out.error(errors === 0 ? `${file}: valid` : `${file}: ${errors} error(s)`);
  return errors === 0 ? 0 : 1;
}
