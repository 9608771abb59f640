import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FLOW_SCHEMA_URL, type Flow, type FlowResult, type TestCase } from '../../../protocol/index.js';
import { loadConfig, parseConfig, type FlowrunConfig } from '../../config/index.js';
import { loadFlowFile } from '../../flow/load.js';
import { Runtime } from '../../runtime.js';
import { MemoryBlobStore } from '../../../blobstore/memory.js';
import { findMismatch } from '../partial-match.js';
import { UsageError } from '../usage-error.js';
import { parseCommandArgs } from '../args.js';
import type { Output } from '../output.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { createCliLogger } from '../logger.js';
import { formatDiff } from '../test-diff.js';
import { rewriteExpectedOutputs } from '../test-update.js';

const USAGE = `flowrun test PATH... [--config FILE] [--case NAME]... [--diff] [--update]

Runs the \`test.cases\` of flow files (a directory is searched for flows with tests) and prints
✓/✗ per case and "N passed, N failed" on stderr. A case passes when every key it expects is in
the actual FlowResult (partial match; errors match on code and message).

  --config FILE        config for every flow (default: the flow's test.config, else the config
                       found next to the flow)
  --case NAME          run only the cases of this name (repeatable)
  --diff               for a failing case, show the expected and actual results, line by line
  --update             rewrite the expected output of failing cases in the flow file with the
                       actual result (review the change before committing it)

Exit codes: 0 every case passed, 1 some failed, 2 usage, config or flow error.

examples:
  flowrun test examples/
  flowrun test examples/greeter/flow.yaml --case "greets Ada" --diff`;
const CONFIG_FILE = /^(flowrun|stepflow[-_]config)(\.test)?\.ya?ml$/;

/** `flowrun test`: runs every `test.cases` entry of the flows under PATH…; exit 1 if any case fails. */
export async function testCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseOptions(argv);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length === 0) throw new UsageError(`give at least one flow file or directory\nusage: flowrun test PATH... [options] (see flowrun test --help)`);
  const files: string[] = [];
  for (const p of positionals) files.push(...(await collectFlowFiles(p)));
  const only = values.case ? new Set(values.case) : undefined;

  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const flow = await loadFlowFile(file, { onWarning: (w) => out.error(w) });
    const cases = (flow.test?.cases ?? []).map((testCase, index) => ({ testCase, index })).filter(({ testCase }) => !only || only.has(testCase.name));
    if (cases.length === 0) {
      out.error(`- ${file}: no test cases, skipped`);
      continue;
    }
    const outcome = await testFlow(file, flow, cases, values, out);
    passed += outcome.passed;
    failed += outcome.failed;
  }
  out.error(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

/** Runs the cases of one flow file, reporting each; with `update`, rewrites the failing cases' expectations. */
async function testFlow(
  file: string,
  flow: Flow,
  cases: ReadonlyArray<{ testCase: TestCase; index: number }>,
  options: { config?: string; diff?: boolean; update?: boolean },
  out: Output,
): Promise<{ passed: number; failed: number }> {
  const config = await configFor(flow, file, options.config);
  // Test runs are throw-away: keep their blobs in memory, not in the configured store.
  const runtime = await Runtime.create({ config, logger: createCliLogger(), blobStore: new MemoryBlobStore() });
  const updates = new Map<number, FlowResult>();
  let passed = 0;
  try {
    for (const { testCase, index } of cases) {
      const actual = await runCase(runtime, flow, testCase);
      const problem = compare(testCase.output, actual);
      if (problem === undefined) {
        passed++;
        out.error(`✓ ${file} › ${testCase.name}`);
        continue;
      }
      out.error(`✗ ${file} › ${testCase.name}\n    ${problem}\n    actual: ${JSON.stringify(actual)}`);
      if (options.diff) out.error(formatDiff(testCase.output, actual));
      if (options.update) updates.set(index, actual);
    }
  } finally {
    await runtime.close();
  }
  if (updates.size > 0) {
    await rewriteExpectedOutputs(file, updates);
    out.error(`  updated ${updates.size} expected output(s) in ${file}`);
  }
  return { passed, failed: cases.length - passed };
}

async function runCase(runtime: Runtime, flow: Flow, testCase: TestCase): Promise<FlowResult> {
  const status = await runtime.runs.submit({ flow: flow as Record<string, unknown>, inputs: [testCase.input], wait: true, variables: {} });
  return status.results?.[0]?.result ?? { outcome: 'failed', error: { code: -32603, message: 'no result' } };
}

/**
 * Compares a case's expected FlowResult with the actual one; returns what differs, or undefined.
 * Failures match on code and message; `data` is compared partially, except Stepflow's `stack`
 * (its Rust error-report layout, which is not part of flowrun's contract).
 */
export function compare(expected: FlowResult | undefined, actual: FlowResult): string | undefined {
  if (expected === undefined) return 'the case has no expected `output`';
  if (expected.outcome !== actual.outcome) return `expected outcome "${expected.outcome}", got "${actual.outcome}"`;
  if (expected.outcome === 'success' && actual.outcome === 'success') {
    const m = findMismatch(expected.value, actual.value);
    return m && `at ${m.path}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.actual)}`;
  }
  if (expected.outcome === 'failed' && actual.outcome === 'failed') {
    const e = expected.error;
    const a = actual.error;
    if (e.code !== a.code || e.message !== a.message) return `expected error ${e.code} "${e.message}", got ${a.code} "${a.message}"`;
    if (e.data !== undefined) {
      const expectedData = isObject(e.data) ? withoutKey(e.data, 'stack') : e.data;
      const m = findMismatch(expectedData, a.data, '$.error.data');
      return m && `at ${m.path}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.actual)}`;
    }
  }
  return undefined;
}

async function configFor(flow: Flow, file: string, configPath: string | undefined): Promise<FlowrunConfig> {
  if (configPath !== undefined) return loadConfig({ configPath, flowPath: file });
  const inline = flow.test?.config ?? flow.test?.stepflow_config;
  if (inline !== undefined) return parseConfig(inline, { file: `${file} (test.config)`, workingDirectory: dirname(file), env: process.env });
  return loadConfig({ flowPath: file });
}

/** A file argument is taken as is; a directory is searched recursively for flow files with tests. */
async function collectFlowFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new UsageError(`${path}: no such file or directory`);
  }
  if (!info.isDirectory()) return [path];
  const found: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) found.push(...(await collectFlowFiles(full)));
    } else if (/\.(ya?ml|json)$/.test(entry.name) && !CONFIG_FILE.test(entry.name) && (await looksLikeFlow(full))) {
      found.push(full);
    }
  }
  return found;
}

/** Flows declare the v1 schema URL or have steps; other YAML/JSON files (inputs, configs) are not flows. */
async function looksLikeFlow(file: string): Promise<boolean> {
  try {
    const value = parseYaml(await readFile(file, 'utf8'));
    return isObject(value) && (value.schema === FLOW_SCHEMA_URL || Array.isArray(value.steps));
  } catch {
    return false;
  }
}

function withoutKey(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...o };
  delete copy[key];
  return copy;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseOptions(argv: string[]) {
  return parseCommandArgs(
    {
      args: argv,
      options: {
        config: { type: 'string' },
        case: { type: 'string', multiple: true },
        diff: { type: 'boolean' },
        update: { type: 'boolean' },
        ...HELP_OPTION,
      },
      allowPositionals: true,
    },
    USAGE,
  );
}
