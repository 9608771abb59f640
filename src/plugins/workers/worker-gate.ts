import type { PluginConfig } from '../../config/index.js';
import type { CompiledFlow } from '../../flow/compile.js';
import type { WorkerRegistry } from './worker-registry.js';
import { DEFAULT_WAIT_FOR_WORKER_MS } from './workers-plugin.js';

/** The worker pools a flow's steps may be routed to, and how long its calls would wait for a worker. */
interface FlowPools {
  pools: string[];
  waitMs: number;
}

export interface WorkerGateOptions {
  plugins: Readonly<Record<string, PluginConfig>>;
  /** Every plugin some route could send a component to. */
  pluginsFor: (component: string) => string[];
  registry: WorkerRegistry;
  now: () => number;
}

/**
 * Whether this cluster node may execute a run of a flow now (docs/cluster.md): only with a worker
 * connected here for every pool the flow routes to, so a run is not claimed by a node whose calls
 * would all wait. Once the run has waited as long as its calls would wait for a worker, any node
 * runs it, and its calls fail with -32005 naming the pool if no worker comes (docs/workers.md).
 */
export function workerGate(options: WorkerGateOptions): (compiled: CompiledFlow, createdAt: number) => boolean {
  const byFlow = new WeakMap<CompiledFlow, FlowPools>();
  const poolsOf = (compiled: CompiledFlow): FlowPools => {
    let found = byFlow.get(compiled);
    if (!found) {
      found = { pools: [], waitMs: 0 };
      for (const step of compiled.steps) {
        for (const name of options.pluginsFor(step.component)) {
          const plugin = options.plugins[name];
          if (plugin?.type !== 'workers' || found.pools.includes(plugin.pool)) continue;
          found.pools.push(plugin.pool);
          found.waitMs = Math.max(found.waitMs, plugin.waitForWorkerMs ?? DEFAULT_WAIT_FOR_WORKER_MS);
        }
      }
      byFlow.set(compiled, found);
    }
    return found;
  };
  return (compiled, createdAt) => {
    const { pools, waitMs } = poolsOf(compiled);
    return pools.length === 0 || options.registry.hasWorkersFor(pools) || options.now() - createdAt >= waitMs;
  };
}
