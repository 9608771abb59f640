import type { BlobStore } from '../blobstore/blob-store.js';
import { createBlobStore } from '../blobstore/index.js';
import { ErrorCodes, type ComponentInfo, type FlowResult, type Observability, type ParamsIn, type RunsSubmit } from '../protocol/index.js';
import { endWithResult, idsOf, startCallSpan } from './runs/tracing.js';
import type { FlowrunConfig, PluginConfig } from './config/index.js';
import type { StepInvoker } from './executor/item-executor.js';
import { silentLogger, type Logger } from './log.js';
import { BuiltinPlugin, loadFileLimits } from './plugins/builtin/index.js';
import { ComponentError } from './calls/component-error.js';
import { MockPlugin } from './plugins/mock-plugin.js';
import type { Plugin } from './calls/plugin.js';
import { Router, type ResolvedRoute } from './routing/router.js';
import { StepflowPlugin } from './plugins/stepflow-plugin.js';
import { WorkerRegistry } from './plugins/workers/worker-registry.js';
import { WorkersPlugin } from './plugins/workers/workers-plugin.js';
import type { CompiledFlow } from './flow/compile.js';
import { workerGate } from './plugins/workers/worker-gate.js';
import { RunManager } from './runs/run-manager.js';
import { createStateStore } from './statestore/index.js';
import { MemoryStateStore } from './statestore/memory-state-store.js';
import type { StateStore } from './statestore/state-store.js';
import { RuntimeService } from './api/runtime-service.js';
import { NamespaceQuotas, type SharedQuotaCounts } from './api/namespace-quotas.js';
import { PostgresQuotaCounts } from './statestore/postgres-quota-counts.js';
import { PostgresStateStore } from './statestore/postgres-state-store.js';
import type { RuntimeMetrics } from './api/runtime-metrics.js';
import { RunWatches } from './api/run-watches.js';
import { auditLogger } from './api/audit.js';
import { InProcessCaller } from './api/in-process-caller.js';
import { watchRun, type LiveRun } from './api/live-run.js';
import { RunHandle, submitAndWait } from './client/run-handle.js';
import type { RequestOptions } from './rpc/peer.js';
import { joinCluster, type NodeDirectory } from './cluster/index.js';

/** Options of `Runtime.create`. */
export interface RuntimeOptions {
  config: FlowrunConfig;
  logger?: Logger;
  /** Use this blob store instead of the configured one (tests, embedding). */
  blobStore?: BlobStore;
  /** Use this state store instead of the configured one. Default: the config's, else memory. */
  stateStore?: StateStore;
  /**
   * On a PostgreSQL state store, join its cluster as a node that executes chunks of every run
   * (docs/cluster.md). `false`: this process executes only the runs it submits (`flowrun run`).
   * Default true.
   */
  joinCluster?: boolean;
  /** Component servers' mutating callbacks write audit lines, as tokens' calls do (`flowrun serve`, docs/security.md). Default false. */
  auditCallbacks?: boolean;
}

/** A routed component: its full path as flows name it, the plugin serving it, and its info. */
export interface RoutedComponent {
  component: string;
  plugin: string;
  info: ComponentInfo;
}

/**
 * The runtime assembled from a config: blob store, plugins (started lazily on first use),
 * router, run manager and the `blobs/*` + `runs/*` service served to component servers.
 */
export class Runtime {
  /** Sends the handles' requests to `service`, as a connection to `flowrun serve` would. */
  private readonly caller: InProcessCaller;
  /** Where `flowrun serve` opens `runs/watch` and `GET /events` watches (docs/events.md). */
  readonly watches: RunWatches;
  /** What `GET /metrics` of `flowrun serve` reports (docs/serve.md). */
  readonly metrics: RuntimeMetrics;

  private constructor(
    readonly config: FlowrunConfig,
    readonly blobs: BlobStore,
    readonly store: StateStore,
    readonly runs: RunManager,
    readonly service: RuntimeService,
    readonly router: Router,
    readonly plugins: ReadonlyMap<string, LazyPlugin>,
    /** Calls a flow step's component through the router (what the run manager uses). */
    readonly invoke: StepInvoker,
    /** This process as a node of the cluster on its state store (docs/cluster.md). */
    readonly nodes: NodeDirectory,
    /** Workers connected to this process, by pool (docs/workers.md); `flowrun serve` hands it their sockets. */
    readonly workers: WorkerRegistry,
    private readonly logger: Logger,
  ) {
    this.caller = new InProcessCaller(service);
    this.watches = new RunWatches(runs);
    this.metrics = {
      runsByStatus: () => store.countRunsByStatus(),
      liveRuns: () => runs.liveRunCount,
      itemsSettled: () => runs.itemTally.settled,
      itemsPerSecond: (now) => runs.itemTally.perSecond(now),
      calls: () => runs.callCounts.snapshot(),
    };
  }

  /**
   * Submits a run and returns its handle, the same `RunHandle` a `flowrun/client` connection
   * gives (docs/client.md): params as `runs/submit` takes them, defaults applied; with `wait`,
   * `handle.submitted` is the terminal status with every result. A flow with a step no route
   * takes is refused before the run starts, as over the wire.
   */
  submit(params: ParamsIn<typeof RunsSubmit>, options: RequestOptions = {}): Promise<RunHandle> {
    return submitAndWait(this.caller, params, options);
  }

  /** A handle on a run of this runtime by id (also one of an earlier process on a durable store). */
  run(runId: string): RunHandle {
    return new RunHandle(this.caller, runId);
  }

  /**
   * Watches a run this process executes, item by item, as it runs (what `flowrun run` streams
   * its results and progress from); undefined when no such run is in memory.
   */
  watch(runId: string): LiveRun | undefined {
    return watchRun(this.runs, runId);
  }

  /** Builds a runtime from a config. Plugins start on their first call. */
  static async create(options: RuntimeOptions): Promise<Runtime> {
    const { config } = options;
    const logger = options.logger ?? silentLogger;
    const blobs = options.blobStore ?? (await createBlobStore(config.blobStore, config.workingDirectory));
    const router = new Router(config.routes, new Set(Object.keys(config.plugins)));
    const resolveRoute = routeResolver(router, config.routes);
    const plugins = new Map<string, LazyPlugin>();

    // The run manager and the plugins need each other (builtins and callbacks start runs;
    // runs call plugins), so the invoker looks plugins up at call time.
    const invoke: StepInvoker = (inv) => {
      let route: ResolvedRoute;
      try {
        route = resolveRoute(inv.component, inv.input);
      } catch (err) {
        return Promise.reject(err);
      }
      const plugin = plugins.get(route.plugin)!;
      // Plugins derive run, flow and step ids from the scope; only trace ids need passing.
      if (!inv.traceContext) {
        return plugin.execute({ component: route.component, input: inv.input, attempt: inv.attempt, scope: inv.scope, signal: inv.signal, timeoutMs: inv.timeoutMs });
      }
      const span = startCallSpan(inv.traceContext, { component: inv.component, stepId: inv.scope.stepId, attempt: inv.attempt });
      const observability: Observability = { run_id: inv.scope.runId, flow_id: inv.scope.flowId, step_id: inv.scope.stepId, ...idsOf(span) };
      const call = { component: route.component, input: inv.input, attempt: inv.attempt, scope: inv.scope, signal: inv.signal, observability, timeoutMs: inv.timeoutMs };
      return plugin.execute(call).then(
        (result) => (endWithResult(span, result, result.outcome), result),
        (err: unknown) => {
          endWithResult(span, { outcome: 'failed', error: { code: -32004, message: (err as Error).message } }, 'failed');
          throw err;
        },
      );
    };
    // A node paused inside a transaction is cut off well before its lease ends (docs/cluster.md).
    const idleInTransactionTimeoutMs = Math.min(5_000, Math.floor((config.cluster?.leaseMs ?? 10_000) / 2));
    const ownStore =
      options.stateStore ?? (config.stateStore ? await createStateStore(config.stateStore, { logger, idleInTransactionTimeoutMs }) : new MemoryStateStore());
    // Each plugin's `transportRetries` applies to the calls routed to it.
    const transportRetries = (component: string, input: unknown): number => {
      try {
        const pc = config.plugins[resolveRoute(component, input).plugin];
        return pc?.type === 'stepflow' || pc?.type === 'workers' ? pc.transportRetries : 0;
      } catch {
        return 0; // no route: the call fails with -32001, nothing to retry
      }
    };
    const { nodes, store, shared } = await joinCluster(ownStore, config.cluster, logger, { join: options.joinCluster }).catch(async (err: unknown) => {
      await ownStore.close();
      throw err;
    });
    // The registry needs the runs' API, and the runs ask it which runs a node may claim: bound once both exist.
    let canExecute: ((compiled: CompiledFlow, createdAt: number) => boolean) | undefined;
    const runs = new RunManager({
      blobs, invoke, logger, store, transportRetries, limits: config.limits, shared, callbacks: config.callbacks,
      idempotencyTtlMs: config.idempotencyTtlMs,
      eventRetentionMs: config.events?.retentionMs,
      canExecute: (compiled, createdAt) => canExecute?.(compiled, createdAt) ?? true,
      retention: config.retention,
      variables: config.variables,
    });
    const service = new RuntimeService(blobs, runs, {
      isRoutable: (component) => router.hasRouteFor(component),
      blobNamespaces: runs.blobNamespaces,
      // Quotas come with the tokens of `auth`; a runtime without them has none (docs/security.md).
      audit: options.auditCallbacks ? auditLogger(logger) : undefined,
      quotas: config.auth && new NamespaceQuotas(config.auth.quotas, (namespace) => runs.liveRunsIn(namespace), Date.now, sharedQuotaCounts(ownStore, shared)),
    });
    const workers = new WorkerRegistry({ runtimeApi: service, logger: logger.child({ component: 'workers' }), node: nodes.nodeId });
    canExecute = workerGate({ plugins: config.plugins, pluginsFor: (component) => router.pluginsFor(component), registry: workers, now: Date.now });
    for (const [name, pluginConfig] of Object.entries(config.plugins)) {
      plugins.set(name, new LazyPlugin(createPlugin(name, pluginConfig, { config, logger, blobs, runs, service, workers })));
    }
    const runtime = new Runtime(config, blobs, store, runs, service, router, plugins, invoke, nodes, workers, logger);
    try {
      await runs.startSharedWork();
      runs.startCallbacks();
    } catch (err) {
      await runtime.close({ cancelRuns: false }).catch(() => {});
      throw err;
    }
    return runtime;
  }

  /** Every component reachable through the routes, with the plugin serving it. */
  async listComponents(): Promise<RoutedComponent[]> {
    const out: RoutedComponent[] = [];
    for (const [name, plugin] of this.plugins) {
      for (const info of await plugin.listComponents()) {
        for (const component of this.router.pathsFor(name, info.component)) out.push({ component, plugin: name, info });
      }
    }
    return out.sort((a, b) => a.component.localeCompare(b.component));
  }

  /**
   * Stops every plugin and closes the stores. Unfinished runs are cancelled, or with
   * `{cancelRuns: false}` (a server on a durable store) left unfinished for the next start to resume.
   */
  async close(options: { cancelRuns?: boolean } = {}): Promise<void> {
    if (options.cancelRuns === false) await this.runs.suspend();
    else await this.runs.cancelAll();
    await Promise.allSettled([...this.plugins.values()].map((p) => p.close()));
    await this.workers.close();
    await this.nodes.close();
    await this.blobs.close();
    await this.store.close();
    this.logger.debug('runtime closed');
  }
}

/** Most distinct component paths remembered by {@link routeResolver}. */
const ROUTE_CACHE_ENTRIES = 1024;

/**
 * `router.resolve`, remembered per component path when no route has `conditions` (then the
 * input cannot change where a call goes): a run of a million items routes its steps once.
 */
function routeResolver(router: Router, routes: FlowrunConfig['routes']): (component: string, input: unknown) => ResolvedRoute {
  const conditional = Object.values(routes).some((rules) => rules.some((rule) => (rule.conditions?.length ?? 0) > 0));
  if (conditional) return (component, input) => router.resolve(component, input);
  const cache = new Map<string, ResolvedRoute>();
  return (component, input) => {
    let route = cache.get(component);
    if (route === undefined) {
      route = router.resolve(component, input);
      if (cache.size >= ROUTE_CACHE_ENTRIES) cache.clear();
      cache.set(component, route);
    }
    return route;
  };
}

interface PluginDeps {
  config: FlowrunConfig;
  logger: Logger;
  blobs: BlobStore;
  runs: RunManager;
  service: RuntimeService;
  workers: WorkerRegistry;
}

function createPlugin(name: string, pc: PluginConfig, deps: PluginDeps): Plugin {
  const logger = deps.logger.child({ plugin: name });
  switch (pc.type) {
    case 'stepflow': {
      const common = { name, timeoutMs: pc.timeoutMs, initializeTimeoutMs: pc.initializeTimeoutMs, logger, runtimeApi: deps.service };
      if (pc.transport === 'websocket') {
        return new StepflowPlugin({ ...common, url: pc.url, connectTimeoutMs: pc.connectTimeoutMs, pingIntervalMs: pc.pingIntervalMs });
      }
      return new StepflowPlugin({
        ...common,
        command: pc.command,
        args: pc.args,
        env: pc.env,
        cwd: pc.cwd,
        inheritEnv: pc.inheritEnv,
      });
    }
    case 'mock':
      return new MockPlugin(name, pc);
    case 'workers':
      return new WorkersPlugin({ name, pool: pc.pool, registry: deps.workers, timeoutMs: pc.timeoutMs, waitForWorkerMs: pc.waitForWorkerMs });
    case 'builtin':
      return new BuiltinPlugin({
        blobs: deps.blobs,
        workingDirectory: deps.config.workingDirectory,
        loadFile: loadFileLimits(pc.loadFile, deps.config),
        runChild: (flow, inputs, options) => deps.runs.runAndWait(flow, inputs, options),
        // A blob `/put_blob` stores may be read by its run's namespace (docs/security.md).
        recordBlob: (blobId, scope) => deps.service.recordBlob(blobId, { parent: scope }),
      });
  }
}

/**
 * Starts a plugin on its first use (a config may name servers a flow never calls), and turns
 * a failed start into a `-32005` component error naming the plugin.
 */
class LazyPlugin {
  private started: Promise<void> | undefined;
  private ready = false;

  constructor(private readonly plugin: Plugin) {}

  execute(call: Parameters<Plugin['execute']>[0]): Promise<FlowResult> {
    if (this.ready) return this.plugin.execute(call);
    return this.start().then(() => this.plugin.execute(call));
  }

  async listComponents(): Promise<ComponentInfo[]> {
    await this.start();
    return this.plugin.listComponents();
  }

  start(): Promise<void> {
    this.started ??= this.plugin.start().then(
      () => {
        this.ready = true;
      },
      (err: unknown) => {
        this.started = undefined; // a later call tries again
        // Keep the plugin's own code (-32002 version mismatch, -32005 down): a start failure is
        // not a lost call, so the executor does not retry it (the plugin already did).
        if (err instanceof ComponentError) throw new ComponentError(err.error, { plugin: this.plugin.name, cause: err });
        throw new ComponentError(
          { code: ErrorCodes.ResourceUnavailable, message: `plugin "${this.plugin.name}" failed to start: ${(err as Error).message}`, data: { plugin: this.plugin.name } },
          { plugin: this.plugin.name, cause: err },
        );
      },
    );
    return this.started;
  }

  close(): Promise<void> {
    return this.plugin.close();
  }
}

/** On a cluster, the quota counters of the shared database, so quotas hold on every node together (docs/security.md). */
function sharedQuotaCounts(store: StateStore, shared: unknown): SharedQuotaCounts | undefined {
  return shared !== undefined && store instanceof PostgresStateStore ? new PostgresQuotaCounts(store) : undefined;
}
