import { useEffect, useState } from 'preact/hooks';
import type { RunStatus } from '../api.js';
import { formatCount, formatDuration, isActive, runDurationMs, shortId } from '../format.js';
import { runHref } from '../router.js';

export function StatusPill({ status }: { status: RunStatus['status'] }) {
  return (
    <span class={`pill pill-${status}`} data-testid="status">
      {(status === 'running' || status === 'pending') && <span class="spinner" aria-hidden="true" />}
      {status}
    </span>
  );
}

/** Settled items as a bar: success, failed and cancelled side by side, with their counts. */
export function ProgressBar({ run }: { run: RunStatus }) {
  const { total, success, failed, cancelled } = run.items;
  const width = (n: number) => `${total === 0 ? 0 : (n / total) * 100}%`;
  const label = `${formatCount(success)} succeeded, ${formatCount(failed)} failed, ${formatCount(cancelled)} cancelled of ${formatCount(total)}`;
  return (
    <div class="progress" data-testid="progress" title={label}>
      <div class="bar" role="img" aria-label={label}>
        <span class="seg seg-success" style={{ width: width(success) }} />
        <span class="seg seg-failed" style={{ width: width(failed) }} />
        <span class="seg seg-cancelled" style={{ width: width(cancelled) }} />
      </div>
      <span class="counts">
        <span class="c-success">{formatCount(success)}</span>
        {failed > 0 && <span class="c-failed"> · {formatCount(failed)} failed</span>}
        {cancelled > 0 && <span class="c-cancelled"> · {formatCount(cancelled)} cancelled</span>}
        <span class="c-total"> / {formatCount(total)}</span>
      </span>
    </div>
  );
}

/** The current time, ticking every second while `live` (durations of running runs). */
export function useNow(live: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [live]);
  return live ? now : Date.now();
}

export function Duration({ run, now }: { run: RunStatus; now: number }) {
  return <span data-testid="duration">{formatDuration(runDurationMs(run, now))}{isActive(run) ? '…' : ''}</span>;
}

/** A run's short id, linking to its page, with a button copying the whole id. */
export function RunId({ runId }: { runId: string }) {
  const [copied, setCopied] = useState(false);
  const copy = () => {
    void navigator.clipboard?.writeText(runId).then(() => setCopied(true), () => undefined);
  };
  return (
    <span class="run-id">
      <a class="mono" href={runHref(runId)} title={runId} data-testid="run-link">{shortId(runId)}</a>
      <button type="button" class="icon" onClick={copy} aria-label={`Copy run id ${runId}`} title="Copy id">
        {copied ? '✓' : <CopyIcon />}
      </button>
    </span>
  );
}

function CopyIcon() {
  return (
    <svg width="12" height="12" viewBox="0 0 16 16" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.5">
      <rect x="5" y="5" width="9" height="9" rx="1.5" />
      <path d="M11 5V3.5A1.5 1.5 0 0 0 9.5 2h-6A1.5 1.5 0 0 0 2 3.5v6A1.5 1.5 0 0 0 3.5 11H5" />
    </svg>
  );
}
