import { z } from 'zod';
import { TimeoutMsSchema } from './timeout.js';
import {
  RUN_FILTER_FIELDS,
  ComponentInfoSchema,
  FlowResultSchema,
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

// `observability` (optional) names the call a component server makes a callback for, as in
// `runs/submit`: with several calls in flight on one connection, the runtime knows which one.
export const BlobsPutParams = z.object({
  data: z.unknown(),
  blob_type: BlobTypeSchema.default('data'),
  observability: ObservabilitySchema.optional(),
});
export const BlobsPutResult = z.object({ blob_id: z.string() });

export const BlobsGetParams = z.object({ blob_id: z.string().min(1), observability: ObservabilitySchema.optional() });
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

/** Headers the HTTP client sets itself: a callback may not give them. */
const CONNECTION_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect']);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Header names (RFC 9110 tokens) the client leaves to the caller, with values HTTP can carry (no line breaks). */
const CallbackHeadersSchema = z
  .record(z.string(), z.string().regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'an HTTP header value of visible characters, without line breaks'))
  .superRefine((headers, ctx) => {
    for (const name of Object.keys(headers)) {
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'not an HTTP header name' });
      else if (CONNECTION_HEADERS.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: [name], message: 'a header the HTTP client sets itself' });
    }
  });

/** An http: or https: URL without credentials in it (they go in `headers`). */
const CallbackUrlSchema = z.string().superRefine((text, ctx) => {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) ctx.addIssue({ code: 'custom', message: 'must be an http: or https: URL' });
  else if (url.username !== '' || url.password !== '') ctx.addIssue({ code: 'custom', message: 'may not hold credentials (give them in callback.headers)' });
});

/** Where a run's completion is POSTed (docs/callbacks.md). */
export const CallbackTargetSchema = z.object({
  url: CallbackUrlSchema,
  secret: z.string().min(1).optional(),
  headers: CallbackHeadersSchema.optional(),
});
export type CallbackTarget = z.output<typeof CallbackTargetSchema>;

/** A run's defaults for its component calls, under each step's own `timeoutMs` (docs/precedence.md). */
export const RunDefaultsSchema = z.strictObject({
  timeoutMs: TimeoutMsSchema.optional(),
  transportRetries: z.number().int().min(0).max(1000).optional(),
});
export type RunDefaults = z.output<typeof RunDefaultsSchema>;

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
    callback: nullAsAbsent(CallbackTargetSchema.optional()),
    defaults: nullAsAbsent(RunDefaultsSchema.optional()),
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
    ...RUN_FILTER_FIELDS,
    cursor: z.string().optional(),
    limit: z.number().int().min(1).max(1000).default(50),
    order: z.enum(['newest', 'oldest']).optional(),
    /** Runs of this namespace; only an admin may name another than its own (docs/security.md). */
    namespace: z.string().min(1).optional(),
  })
  .nullish()
  .transform((p) => p ?? { limit: 50 });
export type RunsListParamsType = z.output<typeof RunsListParams>;
export const RunsListResult = z.object({
  runs: z.array(RunStatusSchema),
  nextCursor: z.string().optional(),
});

/** `flows/list`: the flows a namespace has run, most recently used first (docs/protocol.md). */
export const FlowsListParams = z
  .object({
    cursor: z.string().optional(),
    limit: z.number().int().min(1).max(1000).default(50),
    /** Flows of this namespace; only an admin may name another than its own (docs/security.md). */
    namespace: z.string().min(1).optional(),
  })
  .nullish()
  .transform((p) => p ?? { limit: 50 });
export type FlowsListParamsType = z.output<typeof FlowsListParams>;
export const FlowUseSchema = z.object({
  /** The flow's blob id: `blobs/get` of it answers the flow to a caller of the namespace. */
  flowId: z.string(),
  /** The name of its most recent run's flow, when it has one. */
  flowName: z.string().optional(),
  /** When its most recent run was created (ISO 8601). */
  lastUsedAt: z.string(),
  /** How many stored runs ran it. */
  runs: z.number().int().nonnegative(),
});
export type FlowUse = z.output<typeof FlowUseSchema>;
export const FlowsListResult = z.object({
  flows: z.array(FlowUseSchema),
  nextCursor: z.string().optional(),
});
export type FlowsListResultType = z.output<typeof FlowsListResult>;

/** Which items of a run `runs/rerun` runs again: by status, or by index. */
export const RerunItemsSchema = z.union([
  z.enum(['failed', 'failedOrCancelled', 'all']),
  z.array(z.number().int().nonnegative()).max(1_000_000),
]);
export type RerunItems = z.output<typeof RerunItemsSchema>;

export const RunsRerunParams = z.object({
  runId: z.string().min(1),
  items: RerunItemsSchema.default('failed'),
  overrides: OverridesSchema.optional(),
  variables: z.record(z.string(), z.unknown()).optional(),
  maxConcurrency: positiveInt.optional(),
  flowLabel: z.string().optional(),
  metadata: MetadataSchema.optional(),
});
export type RunsRerunParamsType = z.output<typeof RunsRerunParams>;
export const RunsRerunResult = RunStatusSchema;

/** Most items one `runs/compare` answer lists. */
export const MAX_COMPARE_PAGE = 1000;

export const RunsCompareParams = z.object({
  runIds: z.array(z.string().min(1)).min(2).max(4),
  onlyDifferent: z.boolean().default(false),
  offset: z.number().int().nonnegative().default(0),
  limit: z.number().int().min(1).max(MAX_COMPARE_PAGE).default(100),
});
export type RunsCompareParamsType = z.output<typeof RunsCompareParams>;
export const ComparedItemSchema = z.object({
  key: z.number().int().nonnegative(),
  results: z.array(FlowResultSchema.nullable()),
  same: z.boolean(),
});
export const RunsCompareResult = z.object({
  runs: z.array(RunStatusSchema),
  /** What each run was submitted with, in the order of `runs`: what tells the runs apart besides their items. */
  settings: z.array(z.object({ variables: z.record(z.string(), z.unknown()), overrides: OverridesSchema.optional(), maxConcurrency: z.number().int().optional() })),
  summary: z.object({
    items: z.number().int().nonnegative(),
    same: z.number().int().nonnegative(),
    different: z.number().int().nonnegative(),
    missing: z.number().int().nonnegative(),
  }),
  items: z.array(ComparedItemSchema),
  nextOffset: z.number().int().nonnegative().optional(),
});
export type RunsCompareResultType = z.output<typeof RunsCompareResult>;
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

/** `runs/delete`: a terminal run with its items, results, callback and child runs (docs/retention.md). */
export const RunsDeleteParams = z.object({ runId: z.string().min(1) });
export type RunsDeleteParamsType = z.output<typeof RunsDeleteParams>;
export const RunsDeleteResult = z.object({
  /** The run and its child runs, recursively: every run deleted. */
  runIds: z.array(z.string()),
  /** Items of those runs deleted. */
  items: z.number().int().nonnegative(),
});
export type RunsDeleteResultType = z.output<typeof RunsDeleteResult>;

/** Most run and blob ids one `runs/gc` answer lists (its counts are always exact). */
export const MAX_GC_LISTED = 1000;

/** `runs/gc`: the retention sweep, now (docs/retention.md). */
export const RunsGcParams = z
  .object({ dryRun: z.boolean().default(false) })
  .nullish()
  .transform((p) => p ?? { dryRun: false });
export type RunsGcParamsType = z.output<typeof RunsGcParams>;
export const RunsGcResult = z.object({
  dryRun: z.boolean(),
  runs: z.object({
    /** Terminal runs finished before this (ISO 8601) were deleted; absent when `retention.runs` is not set. */
    completedBefore: z.string().optional(),
    count: z.number().int().nonnegative(),
    items: z.number().int().nonnegative(),
    /** The first `MAX_GC_LISTED` of them. */
    runIds: z.array(z.string()),
  }),
  blobs: z.object({
    /** Blobs stored before this (ISO 8601) and no kept run's flow were deleted; absent when `retention.blobs` is not set. */
    storedBefore: z.string().optional(),
    count: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    /** The first `MAX_GC_LISTED` of them. */
    blobIds: z.array(z.string()),
  }),
});
export type RunsGcResultType = z.output<typeof RunsGcResult>;

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

/**
 * `workers/*`: component servers that dial in to a runtime as workers of a pool (docs/workers.md).
 * A worker registers once per connection, then serves `components/execute` on it.
 */
export const WorkersRegisterParams = z.object({
  /** The pool whose `type: workers` plugin routes calls to this worker. */
  pool: z.string().min(1).max(200).default('default'),
  /** Names the worker in listings and logs (host, process). */
  name: z.string().min(1).max(200),
  /** What the worker serves; calls of other components never reach it. */
  components: z.array(ComponentInfoSchema).min(1),
  /** Calls the runtime sends it at once, at most. */
  capacity: z.number().int().min(1).max(100_000).default(16),
});
export const WorkersRegisterResult = z.object({
  /** This connection's id; a worker that reconnects gets a new one. */
  workerId: z.string(),
  /** The node (runtime process) the worker is connected to. */
  node: z.string(),
});

/** `workers/drain`: the worker takes no new calls; once answered, none will come. */
export const WorkersDrainParams = z.looseObject({}).nullish();
export const WorkersDrainResult = z.object({
  /** Calls the runtime has in flight on the worker; their answers are still awaited. */
  inFlight: z.number().int().nonnegative(),
});

export const WorkersListParams = z
  .object({})
  .nullish()
  .transform(() => ({}));
export const WorkerInfoSchema = z.object({
  workerId: z.string(),
  pool: z.string(),
  name: z.string(),
  components: z.array(z.string()),
  capacity: z.number().int().positive(),
  inFlight: z.number().int().nonnegative(),
  /** Calls answered with an output. */
  callsDone: z.number().int().nonnegative(),
  /** Calls answered with an error, timed out, cancelled, or lost with the connection. */
  callsFailed: z.number().int().nonnegative(),
  /** ISO 8601. */
  connectedAt: z.string(),
  draining: z.boolean(),
  node: z.string(),
});
export type WorkerInfo = z.output<typeof WorkerInfoSchema>;
export const WorkersListResult = z.object({ workers: z.array(WorkerInfoSchema) });

// --- both directions ---

export const CancelRequestParams = z.object({ id: z.union([z.string(), z.number().int()]) });
