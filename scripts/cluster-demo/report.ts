import type { ItemResult, RunStatus } from '../../src/client/index.js';

/** What the demo checks of the finished run: every item succeeded with its own greeting, once. */
export interface Verdict {
  ok: boolean;
  /** Why not, one line each. */
  problems: string[];
  /** Items by the attempt that finished them (attempt 2+ ran again after node 2 died). */
  byAttempt: Map<number, number>;
}

/** Checks the run's status and its item results against the names it was given. */
export function verify(status: RunStatus, results: readonly ItemResult[], names: readonly string[]): Verdict {
  const problems: string[] = [];
  const { items } = status;
  if (status.status !== 'success') problems.push(`the run ended ${status.status}, not success`);
  if (items.total !== names.length || items.success !== names.length) {
    problems.push(`counters: ${items.success} of ${items.total} succeeded (${items.failed} failed, ${items.cancelled} cancelled), expected ${names.length} of ${names.length}`);
  }
  const seen = new Set<number>();
  const byAttempt = new Map<number, number>();
  for (const item of results) {
    const result = item.result;
    const greeting = result?.outcome === 'success' ? (result.value as { greeting?: unknown } | undefined)?.greeting : undefined;
    if (seen.has(item.itemIndex)) problems.push(`item ${item.itemIndex} has two results`);
    else if (greeting !== `Hello, ${names[item.itemIndex]}!`) problems.push(`item ${item.itemIndex} ended ${item.status} with ${JSON.stringify(result)}`);
    seen.add(item.itemIndex);
    const attempt = item.attempts ?? 1;
    byAttempt.set(attempt, (byAttempt.get(attempt) ?? 0) + 1);
  }
  if (seen.size !== names.length) problems.push(`${seen.size} distinct item results, expected ${names.length}`);
  return { ok: problems.length === 0, problems: problems.slice(0, 10), byAttempt };
}

/** The report's lines on how the items spread over the nodes and what ran again. */
export function spreadLines(perNode: ReadonlyArray<{ name: string; items: number }>, verdict: Verdict): string[] {
  const nameWidth = Math.max(...perNode.map((n) => n.name.length));
  const width = Math.max(...perNode.map((n) => String(n.items).length));
  const lines = ['items per node (by the node that finished each chunk):'];
  for (const { name, items } of perNode) lines.push(`  ${name.padEnd(nameWidth)}  ${String(items).padStart(width)}`);
  const again = [...verdict.byAttempt].filter(([attempt]) => attempt >= 2).sort(([a], [b]) => a - b);
  const reran = again.reduce((sum, [, n]) => sum + n, 0);
  lines.push(`items run again after node 2 died: ${reran}${again.map(([attempt, n]) => `, ${n} with attempt ${attempt}`).join('')}`);
  return lines;
}
