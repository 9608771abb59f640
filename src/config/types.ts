import type { FlowError } from '../../protocol/index.js';
import type { BlobStoreConfig } from '../../blobstore/index.js';
import type { RouteRule } from '../routing/route-rule.js';

export type { RouteCondition, RouteRule } from '../routing/route-rule.js';

export type { BlobStoreConfig };

/** A parsed, validated config (docs/config.md). Paths in it are absolute. */
export interface FlowrunConfig {
  /** Absolute path of the file it came from; undefined for the default or an inline config. */
  file?: string;
  /** Base for relative paths: stdio `cwd`, store paths, `/load_file`. Default: the config file's directory. */
  workingDirectory: string;
  /** Absolute directory of the flow the config was loaded for (`run`, `test`, `validate`): `/load_file`'s default root. */
  flowDirectory?: string;
  /** Plugins by name, in file order. */
  plugins: Record<string, PluginConfig>;
  /** Route pattern (`/tools/{*component}`) → rules tried in order. */
  routes: Record<string, RouteRule[]>;
  blobStore: BlobStoreConfig;
  /** Absent when the config names none: the command picks (`run`: memory, `serve`: sqlite). */
  stateStore?: StateStoreConfig;
  /** Settings of `flowrun serve` (`serve:`). */
  serve?: ServeConfig;
  /** Tokens, roles and quotas of `flowrun serve` (`auth:`). */
  auth?: AuthConfig;
  /** Bounds on child runs (`limits:`); absent keys take the run manager's defaults. */
  limits?: LimitsConfig;
  /** Nodes sharing a PostgreSQL state store (`cluster:`); absent: the defaults of docs/config.md. */
  cluster?: ClusterConfig;
  /** How completion callbacks are delivered (`callbacks:`); absent keys: the defaults of docs/callbacks.md. */
  callbacks?: CallbacksConfig;
  /** `idempotencyTtl:` in ms — how long an idempotency key names its run; absent: 24 h. */
  idempotencyTtlMs?: number;
  /** Timeout and transport retries of component calls whose step, run and plugin do not set them (`defaults:`, docs/precedence.md). */
  defaults?: CallDefaultsConfig;
  /** Values of `$variable` when the run, the flow's variables schema and the expression give none (`variables:`, docs/precedence.md). */
  variables?: Record<string, unknown>;
  /** How long finished runs and unused blobs are kept (`retention:`, docs/retention.md); absent: forever. */
  retention?: RetentionConfig;
  /** Run events (`events:`, docs/events.md); absent: the defaults. */
  events?: EventsConfig;
}

/** `defaults:` — see docs/precedence.md. */
export interface CallDefaultsConfig {
  timeoutMs?: number;
  transportRetries?: number;
}

/** `retention:` — see docs/retention.md. */
export interface RetentionConfig {
  /** Terminal runs whose completion is older than this are deleted (ms); absent: kept. */
  runsMs?: number;
  /** Blobs stored longer ago than this that no kept run uses as its flow are deleted (ms); absent: kept. */
  blobsMs?: number;
  /** How often `flowrun serve` sweeps (ms); default 1 h. */
  sweepEveryMs: number;
}

/** `events:` — see docs/events.md. */
export interface EventsConfig {
  /** `retention:` in ms — how long run events are kept for watchers that resume; absent: 10 minutes. */
  retentionMs?: number;
}

/** `callbacks:` — see docs/callbacks.md for the defaults. */
export interface CallbacksConfig {
  /** Hosts a callback URL may name (`*.domain` for subdomains); absent: any host. */
  allowHosts?: string[];
  /** Wait before the second attempt, doubling after each failed one (ms). */
  backoffMs?: number;
  /** Longest wait between attempts (ms). */
  maxBackoffMs?: number;
  /** No attempt starts later than this after the run finished (ms). */
  giveUpAfterMs?: number;
  /** How long one attempt may take (ms). */
  timeoutMs?: number;
  /** How often the outbox is looked at for due callbacks (ms). */
  pollMs?: number;
}

/** `cluster:` — see docs/config.md for the defaults. */
export interface ClusterConfig {
  /** Items per chunk of a run, the unit nodes claim. */
  chunkSize: number;
  /** A node whose last heartbeat is older than this is no longer alive. */
  leaseMs: number;
  /** How often a node heartbeats; less than half of `leaseMs`. */
  heartbeatMs: number;
}

/** `serve:` — what `flowrun serve` allows besides its flags. */
export interface ServeConfig {
  /** Web origins (normalized `scheme://host[:port]`) allowed besides the server's own. */
  allowOrigins: string[];
}

/** `auth:` — tokens, their namespaces and roles, and quotas per namespace (docs/security.md). */
export interface AuthConfig {
  tokens: AuthTokenConfig[];
  /** By namespace; `*` for every namespace without an entry of its own. */
  quotas: Record<string, NamespaceQuota>;
}

/** One bearer token: its secret in clear (`token`) or as the hex SHA-256 of it (`tokenSha256`). */
export interface AuthTokenConfig {
  name: string;
  token?: string;
  tokenSha256?: string;
  namespace: string;
  role: 'viewer' | 'submitter' | 'operator' | 'admin' | 'worker';
}

/** Quotas of one namespace; absent keys take the defaults of docs/security.md. */
export interface NamespaceQuota {
  maxLiveRuns?: number;
  maxItemsPerRun?: number;
  submitsPerSecond?: number;
}

/** `limits:` — see docs/serve.md for the defaults. */
export interface LimitsConfig {
  /** Deepest nesting of child runs: a top-level run is at depth 0. */
  maxRunDepth?: number;
  /** Most runs not yet terminal at once in this runtime. */
  maxLiveRuns?: number;
}

export type PluginConfig = StepflowPluginConfig | MockPluginConfig | BuiltinPluginConfig | WorkersPluginConfig;
export type PluginType = PluginConfig['type'];

interface StepflowPluginCommon {
  type: 'stepflow';
  /** Per-call timeout of `components/execute`; undefined = none. */
  timeoutMs?: number;
  /** Retries of a call whose connection was lost, each on a fresh connection (default 3). */
  transportRetries: number;
  /** Bound on the `initialize` handshake of a (re)started server (default 10 s). */
  initializeTimeoutMs?: number;
}

/** A component server spawned as a child process, spoken to over stdin/stdout. */
export interface StepflowStdioPluginConfig extends StepflowPluginCommon {
  transport: 'stdio';
  command: string;
  args: string[];
  /** Variables set for the server, on top of the inherited environment (if `inheritEnv`). */
  env: Record<string, string>;
  /** Absolute working directory of the server; default the config's `workingDirectory`. */
  cwd: string;
  /**
   * The server starts with the runtime's environment plus `env` (default true). Stepflow cleared
   * it, which broke `command: node` and friends: users expect PATH and HOME to be there.
   */
  inheritEnv: boolean;
}

/** A component server already listening on a WebSocket URL (`ws://` or `wss://`). */
export interface StepflowWebSocketPluginConfig extends StepflowPluginCommon {
  transport: 'websocket';
  url: string;
  /** Bound on dialing and the upgrade (default 10 s). */
  connectTimeoutMs?: number;
  /** Keep-alive ping interval; a server silent for 2 intervals is dead (default 15 s). */
  pingIntervalMs?: number;
}

export type StepflowPluginConfig = StepflowStdioPluginConfig | StepflowWebSocketPluginConfig;

/** Calls routed to a pool of workers that dial in to `flowrun serve` (docs/workers.md). */
export interface WorkersPluginConfig {
  type: 'workers';
  pool: string;
  /** Per-call timeout of `components/execute`; undefined = the default (5 min). */
  timeoutMs?: number;
  /** Retries of a call lost with its worker, each on another worker (default 3). */
  transportRetries: number;
  /** How long a call waits for a worker with room before failing with -32005 (default 30 s). */
  waitForWorkerMs?: number;
}

/** Canned answers per component and input (docs/config.md, "type: mock"). */
export interface MockPluginConfig {
  type: 'mock';
  /** Plugin-relative component path (always starting with `/`) → its behaviours. */
  components: Record<string, MockComponentConfig>;
}

export interface MockComponentConfig {
  description?: string;
  inputSchema?: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  /** Tried in order; the first whose `input` deep-equals the call's input answers. */
  behaviors: MockBehaviorEntry[];
}

export interface MockBehaviorEntry {
  input: unknown;
  behavior: MockBehavior;
}

/** A FlowResult to return, or `{error}`: the component call fails with that message. */
export type MockBehavior =
  | { outcome: 'success'; value: unknown }
  | { outcome: 'failed'; error: FlowError }
  | { error: string };

/** The builtin components (`/eval`, `/map`, …). */
export interface BuiltinPluginConfig {
  type: 'builtin';
  /** Limits of `/load_file` (docs/builtins.md). */
  loadFile?: LoadFileConfig;
}

/** Where `/load_file` may read, and how much. */
export interface LoadFileConfig {
  /** Absolute directories files must lie in (after resolving symlinks). Default: the flow's directory, else `workingDirectory`. */
  roots?: string[];
  /** Largest file read, in bytes. Default 16 MiB. */
  maxBytes?: number;
}

/** Where runs and items are kept (docs/config.md, "stateStore"). */
export type StateStoreConfig =
  | { type: 'memory' }
  | {
      type: 'sqlite';
      /** Absolute database file path, or `:memory:`. */
      path: string;
    }
  | { type: 'postgres'; url: string };
