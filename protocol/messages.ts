import { z } from 'zod';
import { TimeoutMsSchema } from './timeout.js';
import {
  ComponentInfoSchema,
  ItemDetailSchema,
  MetadataSchema,
  ObservabilitySchema,
  RunStatusSchema,
  StatusSchema,
} from './types.js';

/**
 * One zod schema per wire message of docs/protocol.md (params and results). `runs/*` are camelCase;
 * every other method keeps Stepflow's snake_case so existing component servers work unchanged.
 */

export const PROTOCOL_VERSION = 1;

// --- runtime → component server ---

export const InitializeParams = z.looseObject({
  runtime_protocol_version: z.number().int().nonnegative(),
  observability: ObservabilitySchema.optional(),
});
export const InitializeResult = z.looseObject({
  server_protocol_version: z.number().int().nonnegative(),
});

export const InitializedParams = z.looseObject({}).nullish();

export const ComponentsListParams = z.looseObject({}).nullish();
export const ComponentsListResult = z.object({ components: z.array(ComponentInfoSchema) });

export const ComponentsInfoParams = z.object({ component: z.string() });
export const ComponentsInfoResult = z.object({ info: ComponentInfoSchema });

export const ComponentsExecuteParams = z.object({
  component: z.string(),
  input: z.unknown(),
  attempt: z.number().int().min(1).default(1),
  observability: ObservabilitySchema.optional(),
});
export const ComponentsExecuteResult = z.object({ output: z.unknown() });

// --- component server / client → runtime ---

export const BlobTypeSchema = z.enum(['data', 'flow']);
export type BlobType = z.infer<typeof BlobTypeSchema>;

export const BlobsPutParams = z.object({
  data: z.unknown(),
  blob_type: BlobTypeSchema.default('data'),
});
export const BlobsPutResult = z.object({ blob_id: z.string() });

export const BlobsGetParams = z.object({ blob_id: z.string().min(1) });
export const BlobsGetResult = z.object({ data: z.unknown(), blob_type: BlobTypeSchema });

export const OverrideSchema = z.object({
  $type: z.enum(['merge_patch', 'json_patch']).default('merge_patch'),
  value: z.unknown(),
});
export const OverridesSchema = z.record(z.string(), OverrideSchema);
export type Overrides = z.infer<typeof OverridesSchema>;

const positiveInt = z.number().int().positive();

/** `null` read as absent: Stepflow's servers send `null` for fields they leave unset. */
const nullAsAbsent = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? undefined : v), schema);

export const RunsSubmitParams = z
  .object({
    flowId: z.string().min(1).optional(),
    flow: z.record(z.string(), z.unknown()).optional(),
    inputs: z.array(z.unknown()),
    wait: nullAsAbsent(z.boolean().default(false)),
    timeoutMs: nullAsAbsent(TimeoutMsSchema.optional()),
    maxConcurrency: nullAsAbsent(positiveInt.optional()),
    overrides: nullAsAbsent(OverridesSchema.optional()),
    variables: nullAsAbsent(z.record(z.string(), z.unknown()).default({})),
    flowLabel: nullAsAbsent(z.string().optional()),
    observability: nullAsAbsent(ObservabilitySchema.optional()),
    idempotencyKey: nullAsAbsent(z.string().min(1).max(256).optional()),
    metadata: nullAsAbsent(MetadataSchema.optional()),
    recordSteps: nullAsAbsent(z.boolean().optional()),
  })
  .refine((p) => (p.flowId === undefined) !== (p.flow === undefined), {
    message: 'exactly one of "flowId" and "flow" is required',
    path: ['flowId'],
  });
export type RunsSubmitParamsType = z.output<typeof RunsSubmitParams>;
/** A submit answers the run's status; `deduplicated` when its `idempotencyKey` named an existing run. */
export const RunsSubmitResult = RunStatusSchema.extend({ deduplicated: z.boolean().optional() });

export const ResultOrderSchema = z
  .enum(['byIndex', 'byCompletion', 'by_index', 'by_completion'])
  .transform((o) => (o === 'by_index' ? 'byIndex' : o === 'by_completion' ? 'byCompletion' : o));
export type ResultOrder = 'byIndex' | 'byCompletion';

export const RunsGetParams = z.object({
  runId: z.string().min(1),
  wait: z.boolean().default(false),
  timeoutMs: TimeoutMsSchema.optional(),
  includeResults: z.boolean().default(false),
  resultOrder: ResultOrderSchema.default('byIndex'),
  offset: z.number().int().nonnegative().default(0),
  limit: z.number().int().nonnegative().optional(),
});
export type RunsGetParamsType = z.output<typeof RunsGetParams>;
export const RunsGetResult = RunStatusSchema;

export const RunsCancelParams = z.object({ runId: z.string().min(1) });
export const RunsCancelResult = RunStatusSchema;

export const RunsListParams = z
  .object({
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
    cursor: z.string().optional(),
    limit: z.number().int().min(1).max(1000).default(50),
    order: z.enum(['newest', 'oldest']).optional(),
  })
  .nullish()
  .transform((p) => p ?? { limit: 50 });
export type RunsListParamsType = z.output<typeof RunsListParams>;
export const RunsListResult = z.object({
  runs: z.array(RunStatusSchema),
  nextCursor: z.string().optional(),
});

/** `runs/items`: a page of a run's items with their timings, and inputs and step records when asked. */
export const RunsItemsParams = z.object({
  runId: z.string().min(1),
  status: z.array(StatusSchema).optional(),
  offset: z.number().int().nonnegative().default(0),
  limit: z.number().int().min(1).max(1000).default(100),
  order: z.enum(['byIndex', 'byCompletion']).default('byIndex'),
  includeInput: z.boolean().default(false),
  includeSteps: z.boolean().default(false),
});
export type RunsItemsParamsType = z.output<typeof RunsItemsParams>;
export const RunsItemsResult = z.object({
  items: z.array(ItemDetailSchema),
  nextOffset: z.number().int().nonnegative().optional(),
});
export type RunsItemsResultType = z.output<typeof RunsItemsResult>;

/** `runs/metrics`: throughput, latency and per-component figures of a run, from what is stored. */
export const RunsMetricsParams = z.object({ runId: z.string().min(1) });
const Percentiles = z.object({ p50: z.number(), p95: z.number() });
export const RunsMetricsResult = z.object({
  runId: z.string(),
  itemsPerSec: z.number().nonnegative(),
  firstItemLatencyMs: z.number().nonnegative().optional(),
  itemDurationMs: Percentiles.extend({ p99: z.number(), max: z.number() }),
  components: z.array(
    z.object({
      component: z.string(),
      calls: z.number().int().nonnegative(),
      failures: z.number().int().nonnegative(),
      retries: z.number().int().nonnegative(),
      durationMs: Percentiles,
    }),
  ),
});
export type RunsMetricsResultType = z.output<typeof RunsMetricsResult>;

/** `nodes/list`: the nodes of the cluster sharing this runtime's state store (docs/cluster.md). */
export const NodesListParams = z
  .object({})
  .nullish()
  .transform(() => ({}));
export const NodeInfoSchema = z.object({
  nodeId: z.string(),
  host: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  heartbeatAt: z.string(),
  /** Its last heartbeat is younger than `cluster.leaseMs`. */
  alive: z.boolean(),
  chunksHeld: z.number().int().nonnegative(),
  itemsInFlight: z.number().int().nonnegative(),
});
export type NodeInfo = z.output<typeof NodeInfoSchema>;
export const NodesListResult = z.object({ nodes: z.array(NodeInfoSchema) });

// --- both directions ---

export const CancelRequestParams = z.object({ id: z.union([z.string(), z.number().int()]) });
