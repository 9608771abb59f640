import { z } from 'zod';
import { TimeoutMsSchema } from './timeout.js';
import { LenientFlowResultSchema } from './types.js';

/**
 * The Stepflow v1 flow format (docs/flows.md). Structural only: references, cycles and expression
 * forms are checked by the flow validator, which names the step and field. Unknown keys pass
 * through here and are warned about by the validator.
 */

export const FLOW_SCHEMA_URL = 'https://stepflow.org/schemas/v1/flow.json';

/** Any JSON value; expressions are recognised by their `$` keys (docs/flows.md, "Expressions"). */
export const ExpressionSchema = z.unknown().describe('A value expression: JSON, possibly with $input/$step/$variable/$literal/$if/$coalesce/$from forms');

export const ErrorActionSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('fail') }),
  z.object({ action: z.literal('useDefault'), defaultValue: z.unknown().optional() }),
  z.object({ action: z.literal('skip') }),
  z.object({
    action: z.literal('retry'),
    maxRetries: z.number().int().nonnegative().optional().describe('default 3'),
    backoffMs: z.number().int().nonnegative().optional().describe('default 100, doubling'),
  }),
]);
export type ErrorAction = z.infer<typeof ErrorActionSchema>;

export const StepSchema = z.looseObject({
  id: z.string(),
  component: z.string(),
  input: ExpressionSchema.optional(),
  onError: ErrorActionSchema.nullable().optional(),
  skipIf: ExpressionSchema.optional(),
  mustExecute: z.boolean().nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  timeoutMs: TimeoutMsSchema.optional().describe('flowrun: per-call timeout of this step, overriding the plugin\'s'),
});
export type Step = z.infer<typeof StepSchema>;

export const TestCaseSchema = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  input: z.unknown(),
  output: LenientFlowResultSchema.optional(),
});
export type TestCase = z.infer<typeof TestCaseSchema>;

export const FlowTestSchema = z.looseObject({
  config: z.record(z.string(), z.unknown()).optional(),
  stepflow_config: z.record(z.string(), z.unknown()).optional(),
  cases: z.array(TestCaseSchema).default([]),
});

export const FlowSchema = z.looseObject({
  schema: z.literal(FLOW_SCHEMA_URL).optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  version: z.string().optional(),
  schemas: z.record(z.string(), z.unknown()).nullable().optional(),
  inputSchema: z.unknown().optional(),
  outputSchema: z.unknown().optional(),
  steps: z.array(StepSchema).default([]),
  output: ExpressionSchema.optional(),
  test: FlowTestSchema.optional(),
  examples: z.array(z.unknown()).optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type Flow = z.infer<typeof FlowSchema>;
export type FlowInput = z.input<typeof FlowSchema>;
