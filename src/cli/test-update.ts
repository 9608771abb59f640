import { readFile, writeFile } from 'node:fs/promises';
import { isMap, parseDocument } from 'yaml';
import type { FlowResult } from '../../protocol/index.js';

/**
 * Rewrites the expected `output` of test cases in a flow file (`flowrun test --update`).
 * `updates` maps a case's index in `test.cases` to its actual result. A YAML file keeps its
 * comments and layout elsewhere; a JSON file is written back as indented JSON. A success is
 * written under the key the case already used (`result`, as Stepflow writes, or `value`).
 */
export async function rewriteExpectedOutputs(file: string, updates: ReadonlyMap<number, FlowResult>): Promise<void> {
  if (updates.size === 0) return;
  const text = await readFile(file, 'utf8');
  if (/\.json$/i.test(file)) {
    const flow = JSON.parse(text) as { test: { cases: Array<{ output?: Record<string, unknown> }> } };
    for (const [i, actual] of updates) flow.test.cases[i].output = expectedFrom(actual, usesResultKey(flow.test.cases[i].output));
    await writeFile(file, JSON.stringify(flow, null, 2) + '\n');
    return;
  }
  const doc = parseDocument(text);
  for (const [i, actual] of updates) {
    const path = ['test', 'cases', i, 'output'];
    const old = doc.getIn(path, true);
    doc.setIn(path, doc.createNode(expectedFrom(actual, isMap(old) && old.has('result'))));
  }
  await writeFile(file, doc.toString());
}

function usesResultKey(output: Record<string, unknown> | undefined): boolean {
  return output !== undefined && 'result' in output;
}

/** The FlowResult as a test case expects it. */
function expectedFrom(actual: FlowResult, resultKey: boolean): Record<string, unknown> {
  if (actual.outcome === 'success' && resultKey) return { outcome: 'success', result: actual.value };
  return { ...actual };
}
