import type { Flow, Overrides } from '../../../protocol/index.js';
import { OverridesSchema } from '../../../protocol/index.js';
import { loadConfig } from '../../config/index.js';
import { loadFlowFile } from '../../flow/load.js';
import { CANCELLED } from '../../executor/failures.js';
import { createLogger } from '../../log.js';
import { Runtime } from '../../runtime.js';
import { parseJsonFlag, readInputFile, readJsonLines } from '../inputs.js';
import { ProgressBar } from '../progress.js';
import { UsageError } from '../usage-error.js';
import { parseCommandArgs } from '../args.js';
import type { Output } from '../output.js';

const USAGE = `flowrun run --flow F [--input FILE | --input-json J | --inputs FILE.jsonl] [--config C]
            [--max-concurrency N] [--overrides-json J] [--variables-json J]`;

/** `flowrun run`: one run of a flow; prints FlowResults as JSON lines. Exit 0 ok, 1 failed. */
export async function runCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parseOptions(argv);
  const flowPath = values.flow;
  if (!flowPath) throw new UsageError(`--flow is required\nusage: ${USAGE}`);
  const given = [values.input, values['input-json'], values.inputs].filter((v) => v !== undefined).length;
  if (given > 1) throw new UsageError('give only one of --input, --input-json and --inputs');

  const flow: Flow = await loadFlowFile(flowPath, { onWarning: (w) => out.error(w) });
  const batch = values.inputs !== undefined;
  const inputs: unknown[] = batch
    ? await readJsonLines(values.inputs!)
    : [values.input !== undefined ? await readInputFile(values.input) : values['input-json'] !== undefined ? parseJsonFlag(values['input-json'], '--input-json') : {}];
  const maxConcurrency = parsePositiveInt(values['max-concurrency'], '--max-concurrency');
  const overrides = values['overrides-json'] !== undefined ? parseOverrides(values['overrides-json']) : undefined;
  const variables = values['variables-json'] !== undefined ? parseObject(values['variables-json'], '--variables-json') : {};

  const config = await loadConfig({ configPath: values.config, flowPath });
  const runtime = await Runtime.create({ config, logger: createLogger() });
  try {
    const submitted = await runtime.runs.submit({ flow: flow as Record<string, unknown>, inputs, wait: false, maxConcurrency, overrides, variables });
    const state = runtime.runs.state(submitted.runId)!;
    const progress = batch ? new ProgressBar(() => state.counts).start() : undefined;
    await runtime.runs.waitTerminal(state);
    progress?.stop();
    const results = state.resultPage({}).results.map((r) => r.result ?? CANCELLED);
    for (const result of results) out.line(JSON.stringify(result));
    return results.some((r) => r.outcome === 'failed') ? 1 : 0;
  } finally {
    await runtime.close();
  }
}

function parseOptions(argv: string[]) {
  return parseCommandArgs(
    {
      args: argv,
      options: {
        flow: { type: 'string' },
        input: { type: 'string' },
        'input-json': { type: 'string' },
        inputs: { type: 'string' },
        config: { type: 'string' },
        'max-concurrency': { type: 'string' },
        'overrides-json': { type: 'string' },
        'variables-json': { type: 'string' },
      },
    },
    USAGE,
  );
}

function parsePositiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: expected an integer ≥ 1, got "${text}"`);
  return n;
}

function parseObject(text: string, flag: string): Record<string, unknown> {
  const value = parseJsonFlag(text, flag);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${flag}: expected a JSON object`);
  return value as Record<string, unknown>;
}

function parseOverrides(text: string): Overrides {
  const parsed = OverridesSchema.safeParse(parseJsonFlag(text, '--overrides-json'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`--overrides-json: field "${issue.path.join('.')}": ${issue.message}`);
  }
  return parsed.data;
}
