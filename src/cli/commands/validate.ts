import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { validateFlow } from '../../flow/validate.js';
import { loadConfig } from '../../config/index.js';
import { Router } from '../../plugins/router.js';
import { UsageError } from '../usage-error.js';
import type { Output } from '../output.js';

const USAGE = 'flowrun validate FLOW [--config C]';

/**
 * `flowrun validate`: prints every diagnostic as `file: level: step "id" field: message`, and
 * checks that each step's component has a route in the config. Exit 0 valid, 1 invalid.
 */
export async function validateCommand(argv: string[], out: Output): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { config: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${USAGE}`);
  }
  const file = parsed.positionals[0];
  if (!file || parsed.positionals.length > 1) throw new UsageError(`give exactly one flow file\nusage: ${USAGE}`);

  const value = await readFlowValue(file);
  const { flow, diagnostics } = validateFlow(value);
  if (flow) {
    const config = await loadConfig({ configPath: parsed.values.config, flowPath: file });
    const router = new Router(config.routes, new Set(Object.keys(config.plugins)));
    flow.steps.forEach((step, i) => {
      if (!step.component.startsWith('/')) return; // already reported by validateFlow
      if (!router.hasRouteFor(step.component)) {
        diagnostics.push({ level: 'error', stepId: step.id, field: `steps[${i}].component`, message: `no route for component "${step.component}" in ${config.file ?? 'the default config'}` });
      }
    });
  }
  for (const d of diagnostics) {
    out.line(`${file}: ${d.level}: ${d.stepId !== undefined ? `step "${d.stepId}" ` : ''}${d.field}: ${d.message}`);
  }
  const errors = diagnostics.filter((d) => d.level === 'error').length;
  out.error(errors === 0 ? `${file}: valid` : `${file}: ${errors} error(s)`);
  return errors === 0 ? 0 : 1;
}

async function readFlowValue(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`${file}: no such file`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new UsageError(`${file}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
  }
  return doc.toJS();
}
