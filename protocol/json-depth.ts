import { ErrorCodes, RpcError } from './errors.js';

/**
 * How deeply arrays and objects may nest in the data flowrun accepts and stores: inputs, outputs
 * and blobs (docs/state-stores.md). A few thousand levels overflow the stack of JSON.stringify,
 * so an unbounded value could not be journaled and would take a whole batch of other runs'
 * transitions with it. A value of depth 0 is a scalar; `[]` and `{}` have depth 1.
 */
export const MAX_JSON_DEPTH = 256;

/** Containers waiting to be visited and their depths; reused across calls (the walk is synchronous). */
const pendingValues: object[] = [];
const pendingDepths: number[] = [];

/**
 * Whether `value` nests arrays and objects more than `maxDepth` levels deep. Iterative, so a value
 * of any depth is checked without growing the call stack; scalars and flat objects cost one pass
 * over their own keys and push nothing.
 */
export function exceedsJsonDepth(value: unknown, maxDepth: number = MAX_JSON_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (maxDepth < 1) return true;
  let count = 0;
  /** The most containers pending at once: the slots to clear at the end. */
  let used = 0;
  let next: object | undefined = value;
  let depth = 1;
  try {
    for (;;) {
      const childDepth = depth + 1;
      if (Array.isArray(next)) {
        for (let i = 0; i < next.length; i++) {
          const child: unknown = next[i];
          if (typeof child !== 'object' || child === null) continue;
          if (childDepth > maxDepth) return true;
          pendingValues[count] = child;
          pendingDepths[count++] = childDepth;
        }
      } else {
        const record = next as Record<string, unknown>;
        for (const key in record) {
          const child = record[key];
          if (typeof child !== 'object' || child === null) continue;
          if (childDepth > maxDepth) return true;
          pendingValues[count] = child;
          pendingDepths[count++] = childDepth;
        }
      }
      if (count > used) used = count;
      if (count === 0) return false;
      next = pendingValues[--count];
      depth = pendingDepths[count];
    }
  } finally {
    // Drop references so a checked value is not kept alive by this module.
    if (count > used) used = count;
    pendingValues.fill(undefined as unknown as object, 0, used);
  }
}

/** `-32012` for a value nested deeper than {@link MAX_JSON_DEPTH}; `what` names it (`field "inputs[3]"`, `result of item 7`). */
export function tooDeepError(what: string, data: Record<string, unknown> = {}): RpcError {
  return new RpcError(ErrorCodes.InvalidValue, `${what} is nested deeper than ${MAX_JSON_DEPTH} levels`, { ...data, maxDepth: MAX_JSON_DEPTH });
}
