import type { Overrides } from '../../protocol/index.js';
import { OverridesSchema, describeFirstIssue, fieldIssues } from '../../protocol/index.js';
import { integerFlag } from './integer-flag.js';
import { parseJsonFlag, parseJsonLines, parseYamlText, readAll, readInputFile, readJsonLines } from './inputs.js';
import { UsageError } from './usage-error.js';

/** parseArgs options of what a run is given, shared by `run` and `submit` (docs/cli.md). */
export const RUN_INPUT_OPTIONS = {
  flow: { type: 'string' },
  input: { type: 'string' },
  'input-json': { type: 'string' },
  'input-yaml': { type: 'string' },
  inputs: { type: 'string' },
  'stdin-format': { type: 'string' },
  'max-concurrency': { type: 'string' },
  'max-concurrent': { type: 'string' },
  'overrides-json': { type: 'string' },
  'variables-json': { type: 'string' },
} as const;

export const RUN_INPUT_HELP = `  --flow FILE             the flow (YAML or JSON), required
  --input FILE            one input from a JSON or YAML file (by extension)
  --input-json JSON       one input given inline as JSON
  --input-yaml YAML       one input given inline as YAML
  --inputs FILE.jsonl     many inputs, one JSON value per line: one item each
  --stdin-format FORMAT   without an input option, read stdin when it is not a terminal:
                          json (default) or yaml (one input), jsonl (many)
  --max-concurrency N     items executed at once (default: all); alias --max-concurrent
  --variables-json JSON   values for $variable (an object)
  --overrides-json JSON   {stepId: {$type: merge_patch|json_patch, value}} applied to the flow`;

type RunInputValues = { [K in keyof typeof RUN_INPUT_OPTIONS]?: string };

/** What a run is given, checked. `batch`: many inputs (results stream, progress bar). */
export interface RunRequest {
  inputs: unknown[];
  batch: boolean;
  maxConcurrency?: number;
  overrides?: Overrides;
  variables: Record<string, unknown>;
}

/** Checks the flags and reads the inputs (from files, flags or stdin). Mistakes are UsageErrors naming the flag. */
export async function readRunRequest(values: RunInputValues, stdin: NodeJS.ReadStream = process.stdin): Promise<RunRequest> {
  const given = (['input', 'input-json', 'input-yaml', 'inputs'] as const).filter((flag) => values[flag] !== undefined);
  if (given.length > 1) throw new UsageError(`give only one of --input, --input-json, --input-yaml and --inputs (got --${given.join(' and --')})`);
  if (given.length > 0 && values['stdin-format'] !== undefined) throw new UsageError(`--stdin-format applies only without --${given[0]}`);
  if (values['max-concurrency'] !== undefined && values['max-concurrent'] !== undefined) {
    throw new UsageError('give --max-concurrency or its alias --max-concurrent, not both');
  }
  const { inputs, batch } = await readInputs(values, stdin);
  const concurrencyFlag = values['max-concurrent'] !== undefined ? '--max-concurrent' : '--max-concurrency';
  return {
    inputs,
    batch,
    maxConcurrency: integerFlag(values['max-concurrency'] ?? values['max-concurrent'], concurrencyFlag),
    overrides: values['overrides-json'] !== undefined ? parseOverrides(values['overrides-json']) : undefined,
    variables: values['variables-json'] !== undefined ? parseObject(values['variables-json'], '--variables-json') : {},
  };
}

async function readInputs(values: RunInputValues, stdin: NodeJS.ReadStream): Promise<{ inputs: unknown[]; batch: boolean }> {
  if (values.inputs !== undefined) return { inputs: await readJsonLines(values.inputs), batch: true };
  if (values.input !== undefined) return { inputs: [await readInputFile(values.input)], batch: false };
  if (values['input-json'] !== undefined) return { inputs: [parseJsonFlag(values['input-json'], '--input-json')], batch: false };
  if (values['input-yaml'] !== undefined) return { inputs: [parseYamlText(values['input-yaml'], '--input-yaml')], batch: false };
  const format = values['stdin-format'] ?? 'json';
  if (format !== 'json' && format !== 'yaml' && format !== 'jsonl') throw new UsageError(`--stdin-format: expected json, yaml or jsonl, got "${format}"`);
  if (stdin.isTTY) {
    throw new UsageError('no input: give --input FILE, --input-json J, --input-yaml Y or --inputs FILE.jsonl, or pipe the input on stdin');
  }
  const text = await readAll(stdin);
  if (text.trim() === '') throw new UsageError(`stdin: nothing to read (expected ${format === 'jsonl' ? 'JSON lines' : `one ${format.toUpperCase()} input`}); give an input option or pipe the input`);
  if (format === 'jsonl') return { inputs: parseJsonLines(text, 'stdin'), batch: true };
  if (format === 'yaml') return { inputs: [parseYamlText(text, 'stdin')], batch: false };
  return { inputs: [parseJsonFlag(text, 'stdin')], batch: false };
}

function parseObject(text: string, flag: string): Record<string, unknown> {
  const value = parseJsonFlag(text, flag);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${flag}: expected a JSON object`);
  return value as Record<string, unknown>;
}

function parseOverrides(text: string): Overrides {
  const parsed = OverridesSchema.safeParse(parseJsonFlag(text, '--overrides-json'));
  if (!parsed.success) {
    throw new UsageError(`--overrides-json: ${describeFirstIssue(fieldIssues(parsed.error))}`);
  }
  return parsed.data;
}
