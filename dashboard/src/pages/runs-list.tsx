import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { RunEvent, RunStatus } from '../api.js';
import { mayChangeRuns } from '../auth.js';
import { Duration, ProgressBar, RunId, StatusPill, useNow } from '../components/run-bits.js';
import { formatAbsolute, formatRelative, fresher, isActive, shortId } from '../format.js';
import { compareHref, navigate, runHref } from '../router.js';
import { namespaceParam, useSession } from '../session.js';
import { useRunEvents } from '../watch.js';
import { FilterForm, STATUS_CHIPS, statusesOf, storeChip, storedChip, type RunFilter, type StatusChip } from './run-filters.js';
import { WatchNotice } from './watch-notice.js';

const PAGE_SIZE = 50;

/** Runs by id, in the order shown (newest first), with the cursor of the next page. */
interface Listing {
  runs: RunStatus[];
  nextCursor?: string;
  loading: boolean;
  error?: string;
}

const newestFirst = (a: RunStatus, b: RunStatus): number => Date.parse(b.createdAt) - Date.parse(a.createdAt);

/**
 * Applies a frame's events: known runs update; a run not shown appears on top when it is new (its
 * `run.created`, or created after the newest shown) and matches the chip. Older runs beyond the
 * loaded pages stay out, so paging is not disturbed.
 */
function applyEvents(runs: RunStatus[], events: RunEvent[], chip: StatusChip): RunStatus[] {
  const index = new Map(runs.map((run, i) => [run.runId, i]));
  const next = runs.slice();
  const added = new Map<string, RunStatus>();
  const wanted = statusesOf(chip);
  const newest = runs.length === 0 ? 0 : Date.parse(runs[0]!.createdAt);
  for (const { type, run } of events) {
    const at = index.get(run.runId);
    const seen = added.get(run.runId);
    if (at !== undefined) next[at] = fresher(next[at]!, run);
    else if (seen !== undefined) added.set(run.runId, fresher(seen, run));
    else if ((type === 'run.created' || Date.parse(run.createdAt) >= newest) && (wanted === undefined || wanted.includes(run.status))) added.set(run.runId, run);
  }
  return added.size === 0 ? next : [...[...added.values()].sort(newestFirst), ...next];
}

/**
 * The runs shown plus a page of `runs/list`: rows already shown (from events that came first) keep
 * the fresher status, and the page's other runs go below them in its order.
 */
function withPage(shown: RunStatus[], page: RunStatus[]): RunStatus[] {
  const listed = new Map(page.map((run) => [run.runId, run]));
  const merged = shown.map((run) => {
    const other = listed.get(run.runId);
    listed.delete(run.runId);
    return other === undefined ? run : fresher(run, other);
  });
  return [...merged, ...listed.values()].sort(newestFirst);
}

export function RunsList() {
  const session = useSession();
  const { api, identity } = session;
  const [chip, setChip] = useState<StatusChip>(storedChip);
  const [filter, setFilter] = useState<RunFilter>({});
  const [listing, setListing] = useState<Listing>({ runs: [], loading: true });
  const [selected, setSelected] = useState<string[]>([]);
  const namespace = namespaceParam(session);
  const query = useMemo(() => ({ ...filter, ...namespace, status: statusesOf(chip) }), [filter, chip, session.namespace]);
  const queryKey = JSON.stringify(query);

  // Answers of an earlier query (the filter changed meanwhile) are dropped.
  const generation = useRef(0);
  const load = useCallback(
    (cursor: string | undefined) => {
      const mine = cursor === undefined ? ++generation.current : generation.current;
      setListing((l) => (cursor === undefined ? { runs: [], loading: true } : { ...l, loading: true }));
      api
        .listRuns({ ...query, limit: PAGE_SIZE, order: 'newest', ...(cursor === undefined ? {} : { cursor }) })
        .then((page) => mine === generation.current && setListing((l) => ({ runs: withPage(l.runs, page.runs), nextCursor: page.nextCursor, loading: false })))
        .catch((error: Error) => mine === generation.current && setListing((l) => ({ ...l, loading: false, error: error.message })));
    },
    [api, queryKey],
  );
  useEffect(() => load(undefined), [load]);

  // The watch follows the filter but not the chip: a listed run that finishes still updates its row.
  const watchState = useRunEvents(api, { filter, ...namespace }, JSON.stringify([filter, namespace]), (events) =>
    setListing((l) => ({ ...l, runs: applyEvents(l.runs, events, chip) })),
  );
  const now = useNow(listing.runs.some(isActive));
  const choose = (next: StatusChip) => {
    storeChip(next);
    setChip(next);
  };
  const toggle = (runId: string) => setSelected((s) => (s.includes(runId) ? s.filter((id) => id !== runId) : [...s, runId]));
  const canCancel = mayChangeRuns(identity.role);

  return (
    <section class="runs">
      <div class="toolbar">
        <h1>Runs</h1>
        <div class="chips" role="group" aria-label="Status">
          {STATUS_CHIPS.map(({ chip: c, label }) => (
            <button type="button" class="chip" aria-pressed={c === chip} onClick={() => choose(c)} data-testid={`chip-${c}`}>{label}</button>
          ))}
        </div>
        <button type="button" class="primary" disabled={selected.length < 2 || selected.length > 4} onClick={() => navigate(compareHref(selected))} data-testid="compare-selected">
          Compare{selected.length > 0 ? ` (${selected.length})` : ''}
        </button>
      </div>
      <FilterForm onFilter={setFilter} />
      <WatchNotice state={watchState} />
      {listing.error !== undefined && <p class="error" role="alert">{listing.error}</p>}
      <table class="runs-table" data-testid="runs-table">
        <thead>
          <tr>
            <th class="sel"><span class="sr-only">Select</span></th>
            <th>Run</th>
            <th>Flow</th>
            <th>Status</th>
            <th>Progress</th>
            <th class="hide-narrow">Duration</th>
            <th class="hide-narrow">Started</th>
            <th class="hide-narrow">Parent</th>
            <th><span class="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {listing.runs.map((run) => (
            <RunRow key={run.runId} run={run} now={now} selected={selected.includes(run.runId)} onToggle={toggle} canCancel={canCancel} />
          ))}
        </tbody>
      </table>
      {!listing.loading && listing.runs.length === 0 && <p class="empty" data-testid="no-runs">No runs match.</p>}
      {listing.nextCursor !== undefined && (
        <button type="button" onClick={() => load(listing.nextCursor)} disabled={listing.loading} data-testid="load-more">Load more</button>
      )}
    </section>
  );
}

function RunRow({ run, now, selected, onToggle, canCancel }: { run: RunStatus; now: number; selected: boolean; onToggle: (id: string) => void; canCancel: boolean }) {
  const { api } = useSession();
  const [problem, setProblem] = useState<string>();
  const cancel = () => void api.cancelRun(run.runId).catch((error: Error) => setProblem(error.message));
  return (
    <tr data-testid="run-row" data-run-id={run.runId} data-status={run.status}>
      <td class="sel"><input type="checkbox" checked={selected} onChange={() => onToggle(run.runId)} aria-label={`Select run ${run.runId}`} data-testid="select-run" /></td>
      <td><RunId runId={run.runId} /></td>
      <td class="flow">
        <span>{run.flowName ?? run.flowId.slice(0, 12)}</span>
        {run.flowLabel !== undefined && <span class="label">{run.flowLabel}</span>}
      </td>
      <td><StatusPill status={run.status} /></td>
      <td><ProgressBar run={run} /></td>
      <td class="hide-narrow"><Duration run={run} now={now} /></td>
      <td class="hide-narrow" title={formatAbsolute(run.startedAt ?? run.createdAt)}>{formatRelative(run.startedAt ?? run.createdAt, now)}</td>
      <td class="hide-narrow">{run.parentRunId !== undefined && <a class="mono" href={runHref(run.parentRunId)} title={run.parentRunId} data-testid="parent-link">{shortId(run.parentRunId)}</a>}</td>
      <td>
        {canCancel && isActive(run) && <button type="button" class="danger" onClick={cancel} data-testid="cancel-run">Cancel</button>}
        {problem !== undefined && <span class="error" role="alert">{problem}</span>}
      </td>
    </tr>
  );
}
