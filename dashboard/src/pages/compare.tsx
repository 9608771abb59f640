import { useEffect, useState } from 'preact/hooks';
import type { RunEvent, RunsCompareResult, RunStatus } from '../api.js';
import { Duration, ProgressBar, RunId, StatusPill, useNow } from '../components/run-bits.js';
import { formatCount, fresher, isActive, runDurationMs, settledOf } from '../format.js';
import { useSession } from '../session.js';
import { useRunEvents } from '../watch.js';
import { settingRows, type SettingRow } from './compare-settings.js';

/** Compared items per page (`runs/compare` allows up to 1000). */
const PAGE_SIZE = 50;

type ComparedItem = RunsCompareResult['items'][number];
type Result = ComparedItem['results'][number];

/**
 * 2–4 runs side by side (docs/dashboard.md): each run's counts, duration and throughput, what
 * they were submitted with where it differs, and their items by key from `runs/compare`, the
 * differing ones marked, with "only differences" and paging.
 */
export function Compare({ runIds }: { runIds: string[] }) {
  const { api } = useSession();
  const [onlyDifferent, setOnlyDifferent] = useState(false);
  const [offset, setOffset] = useState(0);
  const [answer, setAnswer] = useState<RunsCompareResult>();
  const [problem, setProblem] = useState<string>();
  // Bumped to read the comparison again: a run followed here finished, or "Refresh". Never polled.
  const [version, setVersion] = useState(0);
  const key = runIds.join(',');
  useEffect(() => {
    if (runIds.length < 2 || runIds.length > 4) return;
    setProblem(undefined);
    api.compareRuns({ runIds, onlyDifferent, offset, limit: PAGE_SIZE }).then(setAnswer, (error: Error) => setProblem(error.message));
  }, [api, key, onlyDifferent, offset, version]);
  const now = useNow(answer?.runs.some(isActive) ?? false);
  // A run still going is followed live; its finish reads the comparison again.
  const follow = (events: RunEvent[]) => {
    setAnswer((a) => a && { ...a, runs: a.runs.map((run) => events.reduce((r, e) => (e.run.runId === r.runId ? fresher(r, e.run) : r), run)) });
    if (events.some((e) => e.type === 'run.finished')) setVersion((v) => v + 1);
  };

  if (runIds.length < 2 || runIds.length > 4) {
    return (
      <section data-testid="compare-page">
        <h1>Compare runs</h1>
        <p class="hint" data-testid="compare-hint">Select 2 to 4 runs in the <a href="#/runs">runs list</a> and press Compare.</p>
      </section>
    );
  }
  const toggle = () => {
    setOffset(0);
    setOnlyDifferent((only) => !only);
  };
  return (
    <section class="compare" data-testid="compare-page">
      <div class="toolbar">
        <h1>Compare {runIds.length} runs</h1>
        <div class="actions">
          {answer?.runs.some(isActive) && <button type="button" onClick={() => setVersion((v) => v + 1)} data-testid="compare-refresh">Refresh</button>}
        </div>
      </div>
      {answer?.runs.filter(isActive).map((run) => <FollowRun key={run.runId} runId={run.runId} onEvents={follow} onLive={() => setVersion((v) => v + 1)} />)}
      {problem !== undefined && <p class="error" role="alert" data-testid="compare-error">{problem}</p>}
      {answer === undefined ? (
        problem === undefined && <p class="loading">Comparing…</p>
      ) : (
        <>
          <RunColumns runs={answer.runs} now={now} />
          <Settings rows={settingRows(answer)} runs={answer.runs} />
          <section class="card">
            <div class="toolbar">
              <h2>Items</h2>
              <Summary summary={answer.summary} />
              <button type="button" class="chip" aria-pressed={onlyDifferent} onClick={toggle} data-testid="only-differences">Only differences</button>
            </div>
            <ItemsTable answer={answer} />
            <Pager offset={offset} shown={answer.items.length} nextOffset={answer.nextOffset} onOffset={setOffset} />
          </section>
        </>
      )}
    </section>
  );
}

/**
 * Watches one run while it is going (nothing rendered); once the watch is live the comparison is
 * read again, so a finish just before it is not missed. A token that may not watch uses Refresh.
 */
function FollowRun({ runId, onEvents, onLive }: { runId: string; onEvents: (events: RunEvent[]) => void; onLive: () => void }) {
  const { api } = useSession();
  const state = useRunEvents(api, { runId }, runId, onEvents);
  useEffect(() => {
    if (state === 'live') onLive();
  }, [state]);
  return null;
}

function RunColumns({ runs, now }: { runs: RunStatus[]; now: number }) {
  return (
    <div class="cards">
      {runs.map((run, k) => {
        const seconds = runDurationMs(run, now) / 1000;
        return (
          <section class="card" data-testid="compare-run" data-run-id={run.runId}>
            <h2>{letter(k)} · <RunId runId={run.runId} /> <StatusPill status={run.status} /></h2>
            <dl class="facts">
              <dt>Flow</dt><dd>{run.flowName ?? run.flowId.slice(0, 12)}{run.flowLabel !== undefined && <span class="tag">{run.flowLabel}</span>}</dd>
              <dt>Items</dt><dd><ProgressBar run={run} /></dd>
              <dt>Duration</dt><dd><Duration run={run} now={now} /></dd>
              <dt>Throughput</dt><dd data-testid="throughput">{seconds > 0 ? `${(settledOf(run) / seconds).toFixed(1)} items/s` : '—'}</dd>
            </dl>
          </section>
        );
      })}
    </div>
  );
}

/** What the runs were submitted with: every field, the differing ones marked. */
function Settings({ rows, runs }: { rows: SettingRow[]; runs: RunStatus[] }) {
  const differing = rows.filter((row) => row.differs).length;
  return (
    <section class="card" data-testid="compare-settings">
      <h2>Settings {differing === 0 ? <span class="hint">(the same in every run)</span> : <span class="hint">({differing} differ)</span>}</h2>
      {rows.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr><th>Setting</th>{runs.map((_, k) => <th>{letter(k)}</th>)}</tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr class={row.differs ? 'differs' : undefined} data-testid={row.differs ? 'setting-differs' : 'setting-same'} data-setting={row.label}>
                  <th scope="row" class="mono">{row.label}</th>
                  {row.values.map((value) => <td class="mono value" title={value}>{value === undefined ? <span class="hint">—</span> : clip(value, 48)}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Summary({ summary }: { summary: RunsCompareResult['summary'] }) {
  return (
    <p class="counts" data-testid="compare-summary">
      {formatCount(summary.items)} items: <span class="c-success">{formatCount(summary.same)} same</span> ·{' '}
      <span class="c-failed">{formatCount(summary.different)} different</span> · {formatCount(summary.missing)} missing
    </p>
  );
}

function ItemsTable({ answer }: { answer: RunsCompareResult }) {
  if (answer.items.length === 0) return <p class="hint" data-testid="compare-empty">No items to show.</p>;
  return (
    <div class="scroll">
      <table data-testid="compare-items">
        <thead>
          <tr><th>Item</th>{answer.runs.map((_, k) => <th>{letter(k)}</th>)}</tr>
        </thead>
        <tbody>
          {answer.items.map((item) => (
            <tr class={item.same ? undefined : 'differs'} data-testid="compare-item" data-key={item.key} data-same={String(item.same)}>
              <td class="mono">{item.key}</td>
              {item.results.map((result) => <ResultCell result={result} />)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ResultCell({ result }: { result: Result }) {
  if (result === null) return <td class="hint">missing</td>;
  if (result.outcome === 'failed') return <td class="err-cell mono">failed: {result.error.message}</td>;
  if (result.outcome === 'skipped') return <td class="hint">skipped</td>;
  return <td class="mono value">{clip(JSON.stringify(result.value) ?? 'null')}</td>;
}

function Pager({ offset, shown, nextOffset, onOffset }: { offset: number; shown: number; nextOffset?: number; onOffset: (offset: number) => void }) {
  if (offset === 0 && nextOffset === undefined) return null;
  return (
    <div class="pager">
      <button type="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - PAGE_SIZE))} data-testid="compare-prev">Previous</button>
      <span class="hint">{offset + 1}–{offset + shown}</span>
      <button type="button" disabled={nextOffset === undefined} onClick={() => nextOffset !== undefined && onOffset(nextOffset)} data-testid="compare-next">Next</button>
    </div>
  );
}

/** A, B, C, D: the runs' columns. */
const letter = (k: number): string => String.fromCharCode(65 + k);

const clip = (text: string, max = 160): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
