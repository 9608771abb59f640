import type { RunStatus } from '../../protocol/index.js';
import { formatDuration } from './progress.js';
import { renderTable, type Column } from './table.js';

/** The columns of `flowrun watch`'s live table of runs: id, flow, status, progress, duration. */
function columns(now: number): readonly Column<RunStatus>[] {
  return [
    { header: 'RUN', cell: (r) => r.runId },
    { header: 'FLOW', cell: (r) => r.flowName ?? r.flowLabel ?? r.flowId.slice(0, 19) },
    { header: 'STATUS', cell: (r) => r.status },
    { header: 'PROGRESS', cell: (r) => `${r.items.success + r.items.failed + r.items.cancelled}/${r.items.total}`, right: true },
    { header: 'FAILED', cell: (r) => String(r.items.failed), right: true },
    { header: 'DURATION', cell: (r) => formatDuration(r.durationMs ?? Math.max(0, now - Date.parse(r.createdAt))), right: true },
  ];
}

/** The runs `flowrun watch` shows, newest first, as a table for a terminal. */
export function watchTable(runs: readonly RunStatus[], now: number): string {
  return renderTable(columns(now), [...runs].sort((a, b) => b.createdAt.localeCompare(a.createdAt)));
}
