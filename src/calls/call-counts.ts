import { ErrorCodes, type FlowResult } from '../../protocol/index.js';
import { ComponentError } from './component-error.js';

/**
 * How a component call ended (docs/serve.md, `flowrun_calls_total`): `success` — a success or
 * skipped result; `failed` — the component failed it (a failed result, or an error it answered);
 * `error` — the call did not complete (server unreachable or lost, timeout, cancelled, not
 * initialized) or went wrong inside the runtime.
 */
export type CallOutcome = 'success' | 'failed' | 'error';

/** Every outcome, in the order `GET /metrics` lists them. */
export const CALL_OUTCOMES = ['success', 'failed', 'error'] as const satisfies readonly CallOutcome[];

/** The calls of one component path by outcome. */
export type CallCountsRow = { component: string } & Record<CallOutcome, number>;

const SUCCESS = 0;
const FAILED = 1;
const ERROR = 2;

/** Codes of a call that did not complete, whoever reported them. */
const INCOMPLETE_CODES: ReadonlySet<number> = new Set([
  ErrorCodes.ResourceUnavailable,
  ErrorCodes.Timeout,
  ErrorCodes.RequestCancelled,
  ErrorCodes.NotInitialized,
]);

/** Most distinct component paths counted apart; calls of any further ones count under {@link OTHER_COMPONENTS}. */
export const MAX_COUNTED_COMPONENTS = 1000;
/** The component label of the calls beyond {@link MAX_COUNTED_COMPONENTS} paths. */
export const OTHER_COMPONENTS = '(other)';

/**
 * Component calls of this process by component path and outcome. Counting a call costs one Map
 * lookup and an increment (the executor counts every call, on the hot path); a path's counts are
 * allocated on its first call. Paths are capped, since routes with captures take any name.
 */
export class CallCounts {
  private readonly byComponent = new Map<string, number[]>();

  /** Counts a call that resolved with `result` (anything not a FlowResult is an `error`). */
  answered(component: string, result: FlowResult | undefined): void {
    const outcome = result?.outcome;
    this.countsOf(component)[outcome === 'success' || outcome === 'skipped' ? SUCCESS : outcome === 'failed' ? FAILED : ERROR]++;
  }

  /** Counts a call that rejected with `err`. */
  rejected(component: string, err: unknown): void {
    const failed = err instanceof ComponentError && !err.isTransportFailure && !INCOMPLETE_CODES.has(err.error.code);
    this.countsOf(component)[failed ? FAILED : ERROR]++;
  }

  /** Every counted component path with its counts by outcome, in the order of first calls. */
  snapshot(): CallCountsRow[] {
    const rows: CallCountsRow[] = [];
    for (const [component, counts] of this.byComponent) rows.push({ component, success: counts[SUCCESS], failed: counts[FAILED], error: counts[ERROR] });
    return rows;
  }

  private countsOf(component: string): number[] {
    let counts = this.byComponent.get(component);
    if (counts === undefined) {
      const key = this.byComponent.size < MAX_COUNTED_COMPONENTS ? component : OTHER_COMPONENTS;
      counts = this.byComponent.get(key);
      if (counts === undefined) this.byComponent.set(key, (counts = [0, 0, 0]));
    }
    return counts;
  }
}
