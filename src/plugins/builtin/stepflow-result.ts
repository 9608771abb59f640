import { z } from 'zod';
import { FlowErrorSchema, type FlowError, type FlowResult } from '../../../protocol/index.js';

/**
 * A FlowResult as Stepflow's builtins write it inside their outputs: the success payload under
 * `result`, so flows read it with `path: result.result` (docs/builtins.md). On the wire flowrun
 * writes `value`; only builtin outputs, which flows read as data, keep Stepflow's key.
 */
export const StepflowFlowResultSchema = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('success'), result: z.unknown() }),
  z.object({ outcome: z.literal('failed'), error: FlowErrorSchema }),
  z.object({ outcome: z.literal('skipped') }),
]);

export type StepflowFlowResult =
  | { outcome: 'success'; result: unknown }
  | { outcome: 'failed'; error: FlowError }
  | { outcome: 'skipped' };

/** The Stepflow shape of a FlowResult (`value` → `result`). */
export function toStepflowResult(result: FlowResult): StepflowFlowResult {
  return result.outcome === 'success' ? { outcome: 'success', result: result.value } : result;
}
