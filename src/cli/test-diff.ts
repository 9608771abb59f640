import type { FlowResult } from '../../protocol/index.js';

/**
 * Expected and actual results of a test case as indented JSON, line by line: lines only in
 * the expected are marked `-`, lines only in the actual `+`, common lines are kept (`flowrun test --diff`).
 */
export function formatDiff(expected: FlowResult | undefined, actual: FlowResult, indent = '    '): string {
  const a = JSON.stringify(expected ?? null, null, 2).split('\n');
  const b = JSON.stringify(actual, null, 2).split('\n');
  return [`${indent}--- expected`, `${indent}+++ actual`, ...diffLines(a, b).map((l) => indent + l)].join('\n');
}

/** A line diff by longest common subsequence (test results are small). */
export function diffLines(a: readonly string[], b: readonly string[]): string[] {
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i++]}`);
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push(`- ${a[i++]}`);
    } else {
      out.push(`+ ${b[j++]}`);
    }
  }
  return out;
}
