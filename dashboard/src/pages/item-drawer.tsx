import { useEffect, useRef, useState } from 'preact/hooks';
import type { ItemDetail } from '../api.js';
import { formatDuration } from '../format.js';
import { useSession } from '../session.js';

/** The step a failed item's error names (`data.stepId`, docs/flows.md "Failures"). */
export function failedStepOf(item: ItemDetail): string | undefined {
  if (item.result?.outcome !== 'failed') return undefined;
  const data = item.result.error.data as { stepId?: unknown } | undefined;
  if (typeof data?.stepId === 'string') return data.stepId;
  return item.steps?.find((s) => s.status === 'failed')?.stepId;
}

/** What went wrong, in one line: the cause a step's failure carries (`data.cause`), else the error's message. */
export function errorLineOf(item: ItemDetail): string | undefined {
  if (item.result?.outcome !== 'failed') return undefined;
  const { message, data } = item.result.error;
  const cause = (data as { cause?: { message?: unknown } } | undefined)?.cause?.message;
  const step = failedStepOf(item);
  return `${step === undefined ? '' : `${step}: `}${typeof cause === 'string' ? cause : message}`;
}

const json = (value: unknown): string => JSON.stringify(value, null, 2) ?? 'undefined';

/** One item in full: its input, its output or error with the failing step, and its steps' timeline. */
export function ItemDrawer({ runId, itemIndex, onClose }: { runId: string; itemIndex: number; onClose: () => void }) {
  const { api } = useSession();
  const [item, setItem] = useState<ItemDetail>();
  const [problem, setProblem] = useState<string>();
  const close = useRef<HTMLButtonElement>(null);
  const closing = useRef(onClose);
  closing.current = onClose;
  // Keyboard: focus moves into the drawer once, Escape closes it.
  useEffect(() => {
    close.current?.focus();
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && closing.current();
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  useEffect(() => {
    // Items of a run are indexed 0..total-1, so in index order the item is at offset = its index.
    api
      .runItems({ runId, offset: itemIndex, limit: 1, includeInput: true, includeSteps: true })
      .then((page) => (page.items[0]?.itemIndex === itemIndex ? setItem(page.items[0]) : setProblem(`item ${itemIndex} not found`)))
      .catch((error: Error) => setProblem(error.message));
  }, [api, runId, itemIndex]);
  return (
    <aside class="drawer" role="dialog" aria-label={`Item ${itemIndex}`} data-testid="item-drawer">
      <div class="drawer-head">
        <h2>Item {itemIndex}</h2>
        <button type="button" ref={close} onClick={onClose} data-testid="drawer-close">Close</button>
      </div>
      {problem !== undefined && <p class="error" role="alert">{problem}</p>}
      {item !== undefined && <ItemBody item={item} />}
    </aside>
  );
}

function ItemBody({ item }: { item: ItemDetail }) {
  const result = item.result;
  const step = failedStepOf(item);
  const start = item.steps?.length ? Math.min(...item.steps.map((s) => Date.parse(s.startedAt))) : 0;
  const end = item.steps?.length ? Math.max(...item.steps.map((s) => Date.parse(s.startedAt) + s.durationMs)) : 0;
  const span = Math.max(1, end - start);
  return (
    <div>
      <p>Status <strong data-testid="item-status">{item.status}</strong> · attempts {item.attempts}{item.durationMs !== undefined && ` · ${formatDuration(item.durationMs)}`}</p>
      <h3>Input</h3>
      <pre data-testid="item-input">{json(item.input)}</pre>
      {result?.outcome === 'success' && (<><h3>Output</h3><pre data-testid="item-output">{json(result.value)}</pre></>)}
      {result?.outcome === 'failed' && (
        <div class="item-error" data-testid="item-error">
          <h3>Error{step !== undefined && <> in step <code data-testid="item-error-step">{step}</code></>}</h3>
          <p>{result.error.message} <span class="hint">(code {result.error.code})</span></p>
          {result.error.data !== undefined && <pre>{json(result.error.data)}</pre>}
        </div>
      )}
      {item.steps !== undefined && item.steps.length > 0 && (
        <>
          <h3>Steps</h3>
          <ol class="timeline" data-testid="item-steps">
            {item.steps.map((s) => (
              <li class={`step step-${s.status}`}>
                <span class="step-name">{s.stepId} <span class="hint">{s.component}</span></span>
                <span class="step-bar"><span style={{ marginLeft: `${((Date.parse(s.startedAt) - start) / span) * 100}%`, width: `${Math.max(1, (s.durationMs / span) * 100)}%` }} /></span>
                <span class="step-time">{s.status} · {formatDuration(s.durationMs)}{s.attempts > 1 ? ` · ${s.attempts} attempts` : ''}</span>
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
