import { useEffect, useState } from 'preact/hooks';
import type { RunEvent, RunMetrics, RunStatus } from '../api.js';
import { mayChangeRuns, roleAtLeast } from '../auth.js';
import { Duration, ProgressBar, RunId, StatusPill, useNow } from '../components/run-bits.js';
import { formatAbsolute, formatCount, formatDuration, fresher, isActive } from '../format.js';
import { navigate, runHref } from '../router.js';
import { useSession } from '../session.js';
import { useRunEvents } from '../watch.js';
import { downloadResults } from './download.js';
import { ItemsTable } from './items-table.js';
import { WatchNotice } from './watch-notice.js';

/** One run (docs/dashboard.md): its facts, live progress, timings, items, child runs and actions. */
export function RunDetail({ runId }: { runId: string }) {
  const { api } = useSession();
  const [run, setRun] = useState<RunStatus>();
  const [problem, setProblem] = useState<string>();
  // Bumped when the run finishes: items, metrics and children are read again then, not polled.
  const [version, setVersion] = useState(0);
  useEffect(() => {
    api.getRun(runId).then((r) => setRun((old) => (old === undefined ? r : fresher(old, r))), (error: Error) => setProblem(error.message));
  }, [api, runId]);
  const watchState = useRunEvents(api, { runId }, runId, (events: RunEvent[]) => {
    setRun((old) => events.reduce((r, e) => (r === undefined ? e.run : fresher(r, e.run)), old));
    if (events.some((e) => e.type === 'run.finished')) setVersion((v) => v + 1);
  });
  const now = useNow(run !== undefined && isActive(run));
  if (problem !== undefined) return <p class="error" role="alert" data-testid="run-error">{problem}</p>;
  if (run === undefined) return <p class="loading">Loading run…</p>;
  return (
    <section class="run-detail" data-testid="run-detail" data-status={run.status} data-run-id={run.runId}>
      <div class="toolbar">
        <h1>Run <span class="mono">{run.runId.slice(0, 8)}</span></h1>
        <StatusPill status={run.status} />
        <RunActions run={run} />
      </div>
      <WatchNotice state={watchState} />
      {run.rerunOf !== undefined && <p data-testid="rerun-of">Rerun of <a class="mono" href={runHref(run.rerunOf)}>{run.rerunOf}</a></p>}
      <div class="cards">
        <ProgressCard run={run} now={now} />
        <Facts run={run} />
        <MetricsCard runId={runId} version={version} />
      </div>
      <ItemsTable runId={runId} version={version} />
      <ChildRuns runId={runId} version={version} />
    </section>
  );
}

function ProgressCard({ run, now }: { run: RunStatus; now: number }) {
  const { api, identity } = useSession();
  const [problem, setProblem] = useState<string>();
  return (
    <section class="card" data-testid="progress-card">
      <h2>Progress</h2>
      <ProgressBar run={run} />
      <p>{formatCount(run.items.running)} running · {formatCount(run.items.pending)} pending · <Duration run={run} now={now} /></p>
      {mayChangeRuns(identity.role) && isActive(run) && (
        <button type="button" class="danger" onClick={() => void api.cancelRun(run.runId).catch((e: Error) => setProblem(e.message))} data-testid="cancel-run">Cancel run</button>
      )}
      {problem !== undefined && <p class="error" role="alert">{problem}</p>}
    </section>
  );
}

function Facts({ run }: { run: RunStatus }) {
  const time = (iso: string | undefined) => (iso === undefined ? '—' : <time dateTime={iso}>{formatAbsolute(iso)}</time>);
  return (
    <section class="card">
      <h2>Run</h2>
      <dl class="facts">
        <dt>Id</dt><dd><RunId runId={run.runId} /> <span class="mono hide-narrow">{run.runId}</span></dd>
        <dt>Flow</dt><dd>{run.flowName ?? '—'} <span class="mono hint">{run.flowId.slice(0, 12)}</span></dd>
        {run.flowLabel !== undefined && (<><dt>Label</dt><dd>{run.flowLabel}</dd></>)}
        {run.parentRunId !== undefined && (<><dt>Parent</dt><dd><a class="mono" href={runHref(run.parentRunId)} data-testid="parent-link">{run.parentRunId}</a></dd></>)}
        <dt>Created</dt><dd>{time(run.createdAt)}</dd>
        <dt>Started</dt><dd>{time(run.startedAt)}</dd>
        <dt>Completed</dt><dd>{time(run.completedAt)}</dd>
        {run.metadata !== undefined && (<><dt>Metadata</dt><dd>{Object.entries(run.metadata).map(([k, v]) => <span class="tag">{k}={String(v)}</span>)}</dd></>)}
        {run.callback !== undefined && (<><dt>Callback</dt><dd data-testid="callback">{callbackText(run.callback)}</dd></>)}
      </dl>
    </section>
  );
}

function callbackText(callback: NonNullable<RunStatus['callback']>): string {
  if (callback.deliveredAt !== undefined) return `delivered ${formatAbsolute(callback.deliveredAt)} (${callback.statusCode ?? ''})`;
  if (callback.attempts === 0) return `pending to ${callback.url}`;
  return `${callback.attempts} attempts, last: ${callback.error ?? callback.statusCode ?? 'unknown'}`;
}

function MetricsCard({ runId, version }: { runId: string; version: number }) {
  const { api } = useSession();
  const [metrics, setMetrics] = useState<RunMetrics>();
  useEffect(() => void api.runMetrics(runId).then(setMetrics, () => undefined), [api, runId, version]);
  if (metrics === undefined) return null;
  const d = metrics.itemDurationMs;
  return (
    <section class="card" data-testid="metrics">
      <h2>Timings</h2>
      <dl class="facts">
        <dt>Throughput</dt><dd>{metrics.itemsPerSec.toFixed(1)} items/s</dd>
        {metrics.firstItemLatencyMs !== undefined && (<><dt>First item</dt><dd>{formatDuration(metrics.firstItemLatencyMs)}</dd></>)}
        <dt>Item p50 / p95</dt><dd>{formatDuration(d.p50)} / {formatDuration(d.p95)}</dd>
        <dt>Item p99 / max</dt><dd>{formatDuration(d.p99)} / {formatDuration(d.max)}</dd>
      </dl>
    </section>
  );
}

function RunActions({ run }: { run: RunStatus }) {
  const { api, identity } = useSession();
  const [problem, setProblem] = useState<string>();
  const fail = (error: Error) => setProblem(error.message);
  const rerun = () => void api.rerunFailed(run.runId).then((next) => navigate(runHref(next.runId)), fail);
  const remove = () => {
    if (!confirm(`Delete run ${run.runId} with its items and child runs?`)) return;
    void api.deleteRun(run.runId).then(() => navigate('#/runs'), fail);
  };
  const finished = !isActive(run);
  return (
    <div class="actions">
      {mayChangeRuns(identity.role) && finished && run.items.failed > 0 && <button type="button" onClick={rerun} data-testid="rerun-failed">Rerun failed</button>}
      <button type="button" onClick={() => void downloadResults(api, run.runId).catch(fail)} data-testid="download">Download JSONL</button>
      {roleAtLeast(identity.role, 'operator') && finished && <button type="button" class="danger" onClick={remove} data-testid="delete-run">Delete</button>}
      {problem !== undefined && <span class="error" role="alert">{problem}</span>}
    </div>
  );
}

function ChildRuns({ runId, version }: { runId: string; version: number }) {
  const { api } = useSession();
  const [children, setChildren] = useState<RunStatus[]>([]);
  useEffect(() => void api.listRuns({ parentRunId: runId, limit: 100 }).then((page) => setChildren(page.runs), () => undefined), [api, runId, version]);
  if (children.length === 0) return null;
  return (
    <section class="card" data-testid="child-runs">
      <h2>Child runs</h2>
      <ul class="children">
        {children.map((child) => (
          <li><a class="mono" href={runHref(child.runId)}>{child.runId.slice(0, 8)}</a> <StatusPill status={child.status} /> {child.flowName ?? ''}</li>
        ))}
      </ul>
    </section>
  );
}
