import type { FlowResult, RunStatus } from '../../protocol/index.js';
import type { CompareRunsResult } from '../client/index.js';
import { describeFailure } from './failure-summary.js';
import { renderTable, type Column } from './table.js';

/** Most differing items the table lists; `--json` has them all. */
export const COMPARE_TABLE_ITEMS = 50;

/**
 * `flowrun compare` on a terminal: each run with its counts and duration (runs named A, B, …),
 * a summary line, then the differing and missing items of `result` (a first page of them) with
 * each run's result.
 */
export function compareTable(result: CompareRunsResult): string {
  const names = result.runs.map((_, k) => String.fromCharCode(65 + k));
  const runRows = result.runs.map((run, k) => ({ run, name: names[k], rerunOf: names[result.runs.findIndex((r) => r.runId === run.rerunOf)] }));
  const runs = renderTable<(typeof runRows)[number]>(
    [
      { header: '', cell: (r) => r.name },
      { header: 'RUN', cell: (r) => r.run.runId },
      { header: 'RERUN OF', cell: (r) => r.rerunOf ?? (r.run.rerunOf === undefined ? '' : r.run.rerunOf.slice(0, 8)) },
      { header: 'STATUS', cell: (r) => r.run.status },
      { header: 'ITEMS', cell: (r) => String(r.run.items.total), right: true },
      { header: 'SUCCESS', cell: (r) => String(r.run.items.success), right: true },
      { header: 'FAILED', cell: (r) => String(r.run.items.failed), right: true },
      { header: 'CANCELLED', cell: (r) => String(r.run.items.cancelled), right: true },
      { header: 'DURATION', cell: (r) => durationText(r.run), right: true },
    ],
    runRows,
  );
  const { items, same, different, missing } = result.summary;
  const summary = `${items} items: ${same} same, ${different} different, ${missing} missing from some run`;
  const differing = result.items.filter((item) => !item.same);
  if (differing.length === 0) return `${runs}\n\n${summary}`;
  const columns: Column<(typeof differing)[number]>[] = [
    { header: 'ITEM', cell: (item) => String(item.key), right: true },
    ...names.map((name, k) => ({ header: name, cell: (item: (typeof differing)[number]) => resultText(item.results[k]) })),
  ];
  const shown = differing.slice(0, COMPARE_TABLE_ITEMS);
  const more = different + missing - shown.length;
  const tail = more > 0 ? `\n… and ${more} more (--json lists them all)` : '';
  return `${runs}\n\n${summary}\n\n${renderTable(columns, shown)}${tail}`;
}

/** `completedAt − createdAt`, or how long it has been running. */
function durationText(run: RunStatus): string {
  const end = run.completedAt === undefined ? Date.now() : Date.parse(run.completedAt);
  const ms = Math.max(0, end - Date.parse(run.createdAt));
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)}s` : `${Math.round(ms / 1000)}s`;
}

/** One result in a cell: `—` when the run lacks the item, the value as short JSON, or what failed. */
function resultText(result: FlowResult | null): string {
  if (result === null) return '—';
  if (result.outcome === 'skipped') return 'skipped';
  if (result.outcome === 'failed') return `failed: ${cut(describeFailure(result), 100)}`;
  return cut(JSON.stringify(result.value) ?? 'null', 40);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
