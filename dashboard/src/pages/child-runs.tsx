import { useEffect, useState } from 'preact/hooks';
import type { RunEvent, RunStatus } from '../api.js';
import { ProgressBar, StatusPill } from '../components/run-bits.js';
import { fresher } from '../format.js';
import { runHref } from '../router.js';
import { useSession } from '../session.js';
import { useRunEvents } from '../watch.js';

/** Child runs read at most; more are reached through the runs list's parent filter. */
const CHILDREN_SHOWN = 100;

/** `runs` with `more` merged in: a run known keeps the fresher status, a new one joins; oldest first. */
function merged(runs: readonly RunStatus[], more: readonly RunStatus[]): RunStatus[] {
  const byId = new Map(runs.map((run) => [run.runId, run]));
  for (const run of more) {
    const known = byId.get(run.runId);
    byId.set(run.runId, known === undefined ? run : fresher(known, run));
  }
  return [...byId.values()].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
}

/**
 * The runs the items of a run submitted (docs/dashboard.md): read once, then followed live with
 * their own `runs/watch` on the parent, so a child that starts or finishes shows without a reload.
 */
export function ChildRuns({ runId, version }: { runId: string; version: number }) {
  const { api } = useSession();
  const [children, setChildren] = useState<RunStatus[]>([]);
  useEffect(() => setChildren([]), [runId]);
  useEffect(
    () => void api.listRuns({ parentRunId: runId, limit: CHILDREN_SHOWN, order: 'oldest' }).then((page) => setChildren((shown) => merged(shown, page.runs)), () => undefined),
    [api, runId, version],
  );
  useRunEvents(api, { filter: { parentRunId: runId } }, `children:${runId}`, (events: RunEvent[]) =>
    setChildren((shown) => merged(shown, events.map((e) => e.run)).slice(0, CHILDREN_SHOWN)),
  );
  if (children.length === 0) return null;
  return (
    <section class="card" data-testid="child-runs">
      <h2>Child runs</h2>
      <ul class="children">
        {children.map((child) => (
          <li key={child.runId} data-testid="child-run" data-run-id={child.runId} data-status={child.status}>
            <a class="mono" href={runHref(child.runId)}>{child.runId.slice(0, 8)}</a> <StatusPill status={child.status} /> <span class="child-flow">{child.flowName ?? ''}</span>
            <ProgressBar run={child} />
          </li>
        ))}
      </ul>
    </section>
  );
}
