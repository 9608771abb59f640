import { ErrorCodes, RpcError } from '../../protocol/index.js';
import { positiveInt } from '../options.js';

/** Default deepest nesting of child runs (a top-level run is at depth 0). */
export const DEFAULT_MAX_RUN_DEPTH = 16;
/** Default most runs not yet terminal at once. */
export const DEFAULT_MAX_LIVE_RUNS = 10_000;

/**
 * Bounds that keep a flow running itself (through `/builtin/eval`, or a component submitting
 * runs) from exhausting the runtime: documented in docs/serve.md.
 */
export interface RunLimits {
  /** A child of a run at this depth is refused. Default {@link DEFAULT_MAX_RUN_DEPTH}. */
  maxRunDepth?: number;
  /** A new run is refused while this many runs are not terminal. Default {@link DEFAULT_MAX_LIVE_RUNS}. */
  maxLiveRuns?: number;
}

/** Limits validated, defaults filled in. */
export function resolveRunLimits(limits: RunLimits = {}): Required<RunLimits> {
  return {
    maxRunDepth: positiveInt('maxRunDepth', limits.maxRunDepth, DEFAULT_MAX_RUN_DEPTH),
    maxLiveRuns: positiveInt('maxLiveRuns', limits.maxLiveRuns, DEFAULT_MAX_LIVE_RUNS),
  };
}

/** The refusal of a child run of `parentRunId`, which is already at depth `maxRunDepth` (-32014). */
export function runTooDeep(parentRunId: string, depth: number, maxRunDepth: number): RpcError {
  return new RpcError(
    ErrorCodes.TooManyRequests,
    `run ${parentRunId} is at depth ${depth}: its child run would exceed maxRunDepth ${maxRunDepth}`,
    { limit: 'maxRunDepth', max: maxRunDepth, runId: parentRunId, depth },
  );
}

/** The refusal of a new run while `maxLiveRuns` runs are not terminal (-32014). */
export function tooManyLiveRuns(maxLiveRuns: number, parent?: { runId: string; depth: number }): RpcError {
  const by = parent === undefined ? '' : ` (a child of run ${parent.runId} at depth ${parent.depth})`;
  return new RpcError(
    ErrorCodes.TooManyRequests,
    `too many live runs: ${maxLiveRuns} runs are not finished yet (maxLiveRuns); new run${by} refused, try again later`,
    { limit: 'maxLiveRuns', max: maxLiveRuns, ...(parent && { runId: parent.runId, depth: parent.depth }) },
  );
}
