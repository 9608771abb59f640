import { RpcError, type RunsSubmitParamsType } from '../../protocol/index.js';
import { ITEMS_PER_SLICE, yieldToEventLoop } from '../event-loop.js';

/**
 * Deepest nesting of arrays and objects a submitted value may have (docs/limits.md): storing or
 * sending a deeper one would overflow the stack of a recursive serializer.
 */
export const MAX_JSON_DEPTH = 512;

/** True when `value` nests deeper than `maxDepth` (`[]` is 1 deep). Iterative: no stack to overflow. */
export function exceedsDepth(value: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  const pending: Array<{ value: object; depth: number }> = [];
  if (value !== null && typeof value === 'object') pending.push({ value, depth: 1 });
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.depth > maxDepth) return true;
    for (const child of Array.isArray(next.value) ? next.value : Object.values(next.value)) {
      if (child !== null && typeof child === 'object') pending.push({ value: child, depth: next.depth + 1 });
    }
  }
  return false;
}

/** Refuses (-32602, naming the field) a `runs/submit` whose flow, variables, overrides or an input nests too deep; inputs are looked at in slices. */
export async function refuseDeepSubmit(params: RunsSubmitParamsType): Promise<void> {
  refuseDeep(params.flow, 'flow');
  refuseDeep(params.variables, 'variables');
  refuseDeep(params.overrides, 'overrides');
  const { inputs } = params;
  for (let i = 0; i < inputs.length; i++) {
    if (i > 0 && i % ITEMS_PER_SLICE === 0) await yieldToEventLoop();
    refuseDeep(inputs[i], `inputs[${i}]`);
  }
}

function refuseDeep(value: unknown, field: string): void {
  if (!exceedsDepth(value)) return;
  throw RpcError.invalidParams(`Invalid params for runs/submit: field "${field}": nested deeper than ${MAX_JSON_DEPTH} levels`, {
    method: 'runs/submit',
    issues: [{ field, message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
  });
}
