import { ITEMS_PER_SLICE, yieldToEventLoop } from '../event-loop.js';
import { ErrorCodes, MAX_JSON_DEPTH, RpcError, exceedsJsonDepth, type FlowResult, type Overrides } from '../../protocol/index.js';

/**
 * Refuses a run whose inputs, variables or overrides nest deeper than MAX_JSON_DEPTH (`-32602`
 * naming the field): such a value could not be stored, nor sent to a component (docs/state-stores.md).
 * Inputs are looked at in slices, so a huge submit never blocks the event loop (docs/limits.md).
 */
export async function checkRunDataDepth(inputs: readonly unknown[], variables: Record<string, unknown> | undefined, overrides: Overrides | undefined): Promise<void> {
  if (exceedsJsonDepth(variables)) throw tooDeepParam('variables');
  if (exceedsJsonDepth(overrides)) throw tooDeepParam('overrides');
  for (let i = 0; i < inputs.length; i++) {
    if (i > 0 && i % ITEMS_PER_SLICE === 0) await yieldToEventLoop();
    if (exceedsJsonDepth(inputs[i])) throw tooDeepParam(`inputs[${i}]`);
  }
}

function tooDeepParam(field: string): RpcError {
  return RpcError.invalidParams(`Invalid params: field "${field}" is nested deeper than ${MAX_JSON_DEPTH} levels`, { field, maxDepth: MAX_JSON_DEPTH });
}

/**
 * The result to record for an item: `result`, or a failed result naming the item when its value
 * (or its error's data) nests deeper than MAX_JSON_DEPTH, so one item's data can never make the
 * journal batch it shares with other runs unwritable.
 */
export function storableResult(result: FlowResult, runId: string, itemIndex: number): FlowResult {
  const deep = result.outcome === 'success' ? exceedsJsonDepth(result.value) : result.outcome === 'failed' && exceedsJsonDepth(result.error.data);
  if (!deep) return result;
  const what = result.outcome === 'success' ? 'result' : 'error data';
  return {
    outcome: 'failed',
    error: {
      code: ErrorCodes.InvalidValue,
      message: `${what} of item ${itemIndex} is nested deeper than ${MAX_JSON_DEPTH} levels`,
      data: { runId, itemIndex, maxDepth: MAX_JSON_DEPTH },
    },
  };
}
