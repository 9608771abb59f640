import { z } from 'zod';

/** Shared wire types (docs/protocol.md). */

const hex = (len: number) => z.string().regex(new RegExp(`^[0-9a-f]{${len}}$`), `${len} lower-case hex digits`);

/** W3C trace context plus flowrun ids, as sent to component servers (snake_case, all optional). */
export const ObservabilitySchema = z.object({
  trace_id: hex(32).optional(),
  span_id: hex(16).optional(),
  run_id: z.string().optional(),
  flow_id: z.string().optional(),
  step_id: z.string().optional(),
});
export type Observability = z.infer<typeof ObservabilitySchema>;

/** JSON Schema carried as an opaque object. */
export const JsonSchemaObject = z.record(z.string(), z.unknown());

export const ComponentInfoSchema = z.object({
  component: z.string(),
  description: z.string().optional(),
  input_schema: JsonSchemaObject.optional(),
  output_schema: JsonSchemaObject.optional(),
});
export type ComponentInfo = z.infer<typeof ComponentInfoSchema>;

export const FlowErrorSchema = z.object({
  code: z.number().int(),
  message: z.string(),
  data: z.unknown().optional(),
});
export type FlowError = z.infer<typeof FlowErrorSchema>;

/** The result of a step or an item. flowrun writes `value`; Stepflow's runtime wrote `result`. */
export const FlowResultSchema = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('success'), value: z.unknown() }),
  z.object({ outcome: z.literal('failed'), error: FlowErrorSchema }),
  z.object({ outcome: z.literal('skipped') }),
]);
export type FlowResult =
  | { outcome: 'success'; value: unknown }
  | { outcome: 'failed'; error: FlowError }
  | { outcome: 'skipped' };

/** Reads a FlowResult written by flowrun (`value`) or by Stepflow (`result`). */
export const LenientFlowResultSchema = z
  .discriminatedUnion('outcome', [
    z.object({ outcome: z.literal('success'), value: z.unknown().optional(), result: z.unknown().optional() }),
    z.object({ outcome: z.literal('failed'), error: FlowErrorSchema }),
    z.object({ outcome: z.literal('skipped') }),
  ])
  .transform((r): FlowResult =>
    r.outcome === 'success' ? { outcome: 'success', value: 'value' in r && r.value !== undefined ? r.value : r.result } : r,
  );

export const StatusSchema = z.enum(['pending', 'running', 'success', 'failed', 'cancelled']);
/** Status of a run or of an item (docs/protocol.md, "RunStatus"). */
export type Status = z.infer<typeof StatusSchema>;
export const TERMINAL_STATUSES: readonly Status[] = ['success', 'failed', 'cancelled'];
export const isTerminal = (s: Status): boolean => s === 'success' || s === 'failed' || s === 'cancelled';

export const ItemCountsSchema = z.object({
  total: z.number().int().nonnegative(),
  pending: z.number().int().nonnegative(),
  running: z.number().int().nonnegative(),
  success: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  cancelled: z.number().int().nonnegative(),
});
export type ItemCounts = z.infer<typeof ItemCountsSchema>;

export const ItemResultSchema = z.object({
  itemIndex: z.number().int().nonnegative(),
  status: StatusSchema,
  result: FlowResultSchema.optional(),
  /** When its latest attempt started (ISO 8601). */
  startedAt: z.string().optional(),
  completedAt: z.string().optional(),
  /** `completedAt − startedAt` once settled. */
  durationMs: z.number().nonnegative().optional(),
  attempts: z.number().int().nonnegative().optional(),
  /** In a rerun: the item's index in the run it reruns (docs/protocol.md, "runs/rerun"). */
  sourceIndex: z.number().int().nonnegative().optional(),
});
export type ItemResult = z.infer<typeof ItemResultSchema>;

/** How a run's completion callback fared (docs/callbacks.md): never its secret or headers. */
export const CallbackStateSchema = z.object({
  url: z.string(),
  attempts: z.number().int().nonnegative(),
  lastAttemptAt: z.string().optional(),
  statusCode: z.number().int().optional(),
  error: z.string().optional(),
  deliveredAt: z.string().optional(),
});
export type CallbackState = z.infer<typeof CallbackStateSchema>;
/** A run's free key/values (docs/protocol.md, "Metadata"): at most 64 keys, 16 KiB as JSON. */
export const MAX_METADATA_KEYS = 64;
export const MAX_METADATA_BYTES = 16 * 1024;
export const MetadataSchema = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .refine((m) => Object.keys(m).length <= MAX_METADATA_KEYS, `at most ${MAX_METADATA_KEYS} keys`)
  .refine((m) => utf8Length(JSON.stringify(m)) <= MAX_METADATA_BYTES, `at most ${MAX_METADATA_BYTES} bytes as JSON`);
export type Metadata = Record<string, string | number | boolean>;

const encoder = new TextEncoder();
const utf8Length = (text: string): number => encoder.encode(text).length;

/** What one step of an item did (docs/protocol.md, `runs/items`). */
export const StepRecordSchema = z.object({
  stepId: z.string(),
  component: z.string(),
  status: z.enum(['success', 'failed', 'skipped']),
  startedAt: z.string(),
  durationMs: z.number().nonnegative(),
  attempts: z.number().int().nonnegative(),
  error: FlowErrorSchema.optional(),
});
export type StepRecord = z.infer<typeof StepRecordSchema>;

/** A step record as the runtime keeps it (times in ms since the epoch); `StepRecord` is its wire form. */
export interface StepTiming {
  stepId: string;
  component: string;
  status: 'success' | 'failed' | 'skipped';
  startedAt: number;
  durationMs: number;
  attempts: number;
  error?: FlowError;
}

/** An item as `runs/items` describes it. */
export const ItemDetailSchema = ItemResultSchema.extend({
  attempts: z.number().int().nonnegative(),
  input: z.unknown().optional(),
  steps: z.array(StepRecordSchema).optional(),
});
export type ItemDetail = z.infer<typeof ItemDetailSchema>;

/** The fields that pick runs, shared by `runs/list` and the filter of `runs/watch` (docs/protocol.md). */
export const RUN_FILTER_FIELDS = {
  status: z.array(StatusSchema).optional(),
  flowId: z.string().optional(),
  flowName: z.string().optional(),
  flowLabel: z.string().optional(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  parentRunId: z.string().optional(),
  rootsOnly: z.boolean().optional(),
  rerunOf: z.string().optional(),
  createdAfter: z.string().datetime({ offset: true }).optional(),
  createdBefore: z.string().datetime({ offset: true }).optional(),
};

export const RunStatusSchema = z.object({
  runId: z.string(),
  flowId: z.string(),
  flowName: z.string().optional(),
  flowLabel: z.string().optional(),
  parentRunId: z.string().optional(),
  status: StatusSchema,
  items: ItemCountsSchema,
  createdAt: z.string(),
  completedAt: z.string().optional(),
  /** When its first item started. */
  startedAt: z.string().optional(),
  /** `completedAt − createdAt` once terminal. */
  durationMs: z.number().nonnegative().optional(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  idempotencyKey: z.string().optional(),
  results: z.array(ItemResultSchema).optional(),
  nextOffset: z.number().int().nonnegative().optional(),
  /** The run this one reruns (`runs/rerun`). */
  rerunOf: z.string().optional(),
  callback: CallbackStateSchema.optional(),
  /** The name of the token that submitted the run (a submitter may cancel only its own runs). */
  submittedBy: z.string().optional(),
});
export type RunStatus = z.infer<typeof RunStatusSchema>;
