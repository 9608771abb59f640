import { useEffect, useState } from 'preact/hooks';
import type { ItemDetail } from '../api.js';
import { formatDuration } from '../format.js';
import { useSession } from '../session.js';
import { errorLineOf, ItemDrawer } from './item-drawer.js';

const PAGE = 50;
const FILTERS = ['all', 'failed', 'success', 'cancelled', 'running', 'pending'] as const;
type ItemFilter = (typeof FILTERS)[number];

/** A run's items a page at a time (`runs/items`), filtered by status; a row opens the item's drawer. */
export function ItemsTable({ runId, version }: { runId: string; version: number }) {
  const { api } = useSession();
  const [filter, setFilter] = useState<ItemFilter>('all');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<{ items: ItemDetail[]; nextOffset?: number }>({ items: [] });
  const [open, setOpen] = useState<number>();
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    api
      .runItems({ runId, offset, limit: PAGE, ...(filter === 'all' ? {} : { status: [filter] }) })
      .then((answer) => setPage(answer))
      .catch((error: Error) => setProblem(error.message));
  }, [api, runId, filter, offset, version]);
  const choose = (next: ItemFilter) => {
    setFilter(next);
    setOffset(0);
  };
  return (
    <section class="card">
      <div class="toolbar">
        <h2>Items</h2>
        <label>Status{' '}
          <select value={filter} onChange={(e) => choose((e.target as HTMLSelectElement).value as ItemFilter)} data-testid="items-filter">
            {FILTERS.map((f) => <option value={f}>{f}</option>)}
          </select>
        </label>
      </div>
      {problem !== undefined && <p class="error" role="alert">{problem}</p>}
      <table data-testid="items-table">
        <thead><tr><th>#</th><th>Status</th><th class="hide-narrow">Attempts</th><th>Duration</th><th>Error</th></tr></thead>
        <tbody>
          {page.items.map((item) => (
            <tr data-testid="item-row" data-item-index={item.itemIndex}>
              <td><button type="button" class="link mono" onClick={() => setOpen(item.itemIndex)} data-testid="open-item">{item.itemIndex}</button></td>
              <td><span class={`pill pill-${item.status}`}>{item.status}</span></td>
              <td class="hide-narrow">{item.attempts}</td>
              <td>{item.durationMs === undefined ? '' : formatDuration(item.durationMs)}</td>
              <td class="err-cell">{errorLineOf(item) ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="pager">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
        <span class="hint">{page.items.length === 0 ? 'no items' : `${offset + 1}–${offset + page.items.length}`}</span>
        <button type="button" disabled={page.nextOffset === undefined} onClick={() => setOffset(page.nextOffset!)} data-testid="items-next">Next</button>
      </div>
      {open !== undefined && <ItemDrawer runId={runId} itemIndex={open} onClose={() => setOpen(undefined)} />}
    </section>
  );
}
