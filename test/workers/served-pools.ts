import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { connect, type FlowrunClient, type ItemResult } from '../../src/client/index.js';
import { requireBuilt } from '../support/paths.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';
import { killWorkers } from '../support/workers.js';

/** A `flowrun serve` whose plugins route `/<pool>/…` to the workers of each pool, and a client of it. */
export interface ServedPools {
  served: ServedProcess;
  client: FlowrunClient;
  /** Closes the client, kills every worker, stops serve, removes the directory. */
  close(): Promise<void>;
}

/**
 * Starts serve with a `type: workers` plugin per pool (memory stores); `settings` adds keys to a
 * pool's plugin (`{empty: 'waitForWorkerMs: 300'}`). Each test uses pools of its own, so tests do
 * not share workers.
 */
export async function servePools(pools: readonly string[], settings: Record<string, string> = {}): Promise<ServedPools> {
  requireBuilt('dist/src/sdk/index.js', 'dist/src/cli/bin.js');
  const dir = await makeTempDir('workers');
  const config = join(dir, 'flowrun.yaml');
  const plugins = pools.map((pool) => `  ${pool}: { type: workers, pool: ${pool}${settings[pool] === undefined ? '' : `, ${settings[pool]}`} }`);
  const routes = pools.map((pool) => `  "/${pool}/{*component}": [{ plugin: ${pool} }]`);
  await writeFile(config, `plugins:\n${plugins.join('\n')}\nroutes:\n${routes.join('\n')}\nblobStore: { type: memory }\nstateStore: { type: memory }\n`);
  const served = await spawnServe(['--config', config]);
  const client = await connect(served.url);
  return {
    served,
    client,
    close: async () => {
      await client.close();
      await killWorkers();
      await served.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What the counting worker (test/fixtures/workers) answers. */
export interface WorkOutput {
  i: number;
  worker: string;
  concurrent: number;
  attempt: number;
}

/** The one-step flow through `/<pool>/work`, with `extra` added to each call's input. */
export const workFlow = (pool: string, extra: Record<string, unknown> = {}) => ({
  steps: [{ id: 'w', component: `/${pool}/work`, input: { i: { $input: 'i' }, ...extra } }],
  output: { $step: 'w' },
});

/** The counting worker's answers of successful items (and a failed expectation for any other). */
export function outputsOf(results: ItemResult[]): WorkOutput[] {
  return results.map((r) => {
    expect(r.result?.outcome).toBe('success');
    return (r.result as { value: WorkOutput }).value;
  });
}

export function countBy<T>(values: T[], key: (v: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(key(v), (counts.get(key(v)) ?? 0) + 1);
  return counts;
}
