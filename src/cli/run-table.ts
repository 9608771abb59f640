import type { RunStatus } from '../../protocol/index.js';
import { renderTable, type Column } from './table.js';

/** The columns a run shows as in `flowrun list` and `flowrun get` on a terminal. */
const RUN_COLUMNS: readonly Column<RunStatus>[] = [
  { header: 'RUN', cell: (r) => r.runId },
  { header: 'STATUS', cell: (r) => r.status },
  { header: 'DONE', cell: (r) => `${r.items.success + r.items.failed + r.items.cancelled}/${r.items.total}`, right: true },
  { header: 'FAILED', cell: (r) => String(r.items.failed), right: true },
  { header: 'CANCELLED', cell: (r) => String(r.items.cancelled), right: true },
  { header: 'CREATED', cell: (r) => r.createdAt },
  { header: 'FLOW', cell: (r) => r.flowName ?? r.flowLabel ?? r.flowId.slice(0, 19) },
];

/** Runs as a table for a terminal. */
export function runTable(runs: readonly RunStatus[]): string {
  return renderTable(RUN_COLUMNS, runs);
}
