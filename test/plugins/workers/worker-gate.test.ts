import { describe, expect, it } from 'vitest';
import { compileFlow } from '../../../src/flow/compile.js';
import { Router } from '../../../src/routing/router.js';
import { workerGate } from '../../../src/plugins/workers/worker-gate.js';
import type { WorkerRegistry } from '../../../src/plugins/workers/worker-registry.js';
import type { PluginConfig } from '../../../src/config/index.js';

const plugins = {
  gpu: { type: 'workers', pool: 'gpu', waitForWorkerMs: 5_000 },
  cpu: { type: 'workers', pool: 'cpu' },
  local: { type: 'builtin' },
} as unknown as Record<string, PluginConfig>;
const router = new Router({ '/gpu/{*component}': [{ plugin: 'gpu' }], '/cpu/{*component}': [{ plugin: 'cpu' }], '/local/{*component}': [{ plugin: 'local' }] }, Object.keys(plugins));
const flowOf = (...components: string[]) =>
  compileFlow({ steps: components.map((component, i) => ({ id: `s${i}`, component, input: {} })), output: { $step: 's0' } } as never);

function gate(connected: string[], now: number) {
  const asked: string[][] = [];
  const registry = { hasWorkersFor: (pools: Iterable<string>) => (asked.push([...pools]), [...pools].every((p) => connected.includes(p))) } as unknown as WorkerRegistry;
  return { canExecute: workerGate({ plugins, pluginsFor: (c) => router.pluginsFor(c), registry, now: () => now }), asked };
}

describe('workerGate: which runs a cluster node may claim', () => {
  it('needs a worker of every pool the flow routes to, and nothing for flows without workers', () => {
    const both = flowOf('/gpu/a', '/cpu/b', '/local/c');
    expect(gate(['gpu', 'cpu'], 0).canExecute(both, 0)).toBe(true);
    const one = gate(['gpu'], 0);
    expect(one.canExecute(both, 0)).toBe(false);
    expect(one.asked[0].sort()).toEqual(['cpu', 'gpu']);
    expect(gate([], 0).canExecute(flowOf('/local/c'), 0)).toBe(true);
  });

  it('lets any node run a run that waited as long as its calls would wait for a worker (the longest of its pools)', () => {
    const flow = flowOf('/cpu/b', '/gpu/a');
    // cpu's default wait (30 s) is the longest.
    expect(gate([], 29_999).canExecute(flow, 0)).toBe(false);
    expect(gate([], 30_000).canExecute(flow, 0)).toBe(true);
    expect(gate([], 5_000).canExecute(flowOf('/gpu/a'), 0)).toBe(true);
    expect(gate([], 4_999).canExecute(flowOf('/gpu/a'), 0)).toBe(false);
  });
});
