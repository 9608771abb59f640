import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { startPostgres, type PostgresFixture } from '../support/postgres.js';
import { startGate } from '../support/gate.js';
import { ROOT } from '../support/paths.js';
import { spawnServe } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * `flowrun serve` is killed with SIGKILL while every item of a run waits for a child run it
 * submitted; after the restart the items run again and submit new children, and the children
 * of the first attempt are cancelled rather than resumed beside them. On SQLite and PostgreSQL.
 */
let dir: string;
let postgres: PostgresFixture;
beforeAll(async () => {
  dir = await makeTempDir('children');
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A config routing `/c/*` to the child-runs fixture, on the given state store; returns its path. */
async function writeConfig(name: string, stateStore: string): Promise<string> {
  const config = join(dir, `${name}.yaml`);
  await writeFile(
    config,
    `plugins:
  c: { type: stepflow, command: node, args: [${JSON.stringify(join(ROOT, 'test/fixtures/child-runs-server.mjs'))}] }
routes:
  "/c/{*component}": [{ plugin: c }]
blobStore: { type: filesystem, path: ${JSON.stringify(join(dir, `${name}-blobs`))} }
stateStore: ${stateStore}
`,
  );
  return config;
}

const STORES: Array<[string, () => string]> = [
  ['sqlite', () => `{ type: sqlite, path: ${JSON.stringify(join(dir, 'state.db'))} }`],
  ['postgres', () => `{ type: postgres, url: ${JSON.stringify(postgres.url)} }`],
];

const PARENT_FLOW = { name: 'parent', steps: [{ id: 'p', component: '/c/parent', input: { $input: '$' } }], output: { $step: 'p' } };

async function childrenOf(client: FlowrunClient, parentRunId: string): Promise<RunStatus[]> {
  const { runs, nextCursor } = await client.list({ parentRunId, limit: 1000 });
  expect(nextCursor).toBeUndefined();
  return runs;
}

describe.each(STORES)('recovery with child runs (%s)', (name, stateStore) => {
  it('cancels the unfinished children of items that run again: one live child per item after a SIGKILL', async () => {
    const n = 3;
    const config = await writeConfig(name, stateStore());
    const gate = await startGate();
    const first = await spawnServe(['--config', config], { cwd: dir });
    let second: Awaited<ReturnType<typeof spawnServe>> | undefined;
    try {
      const client = await connect(first.url);
      const inputs = Array.from({ length: n }, (_, item) => ({ url: gate.url, item }));
      const parent = await client.submit({ flow: PARENT_FLOW, inputs, maxConcurrency: n });
      // Every item has submitted its child, and every child is holding at the gate.
      await gate.arrived(n);
      const before = await childrenOf(client, parent.runId);
      expect(before).toHaveLength(n);
      expect(before.every((c) => c.status === 'running')).toBe(true);
      first.child.kill('SIGKILL');
      await first.exited;
      await client.close();

      second = await spawnServe(['--config', config], { cwd: dir });
      const again = await connect(second.url);
      // The items run again and submit new children, which reach the gate too.
      await gate.arrived(2 * n);
      gate.release();
      const final = await again.run(parent.runId).wait();
      expect(final.status).toBe('success');
      expect(final.items.success).toBe(n);

      const oldIds = new Set(before.map((c) => c.runId));
      // A child of the first attempt ends cancelled on its own schedule: on PostgreSQL its chunk
      // may be held by the new node, which cancels it once told; wait for each to be terminal.
      for (const runId of oldIds) await again.run(runId).wait();
      const children = await childrenOf(again, parent.runId);
      expect(children).toHaveLength(2 * n);
      for (const child of children) expect(child.status).toBe(oldIds.has(child.runId) ? 'cancelled' : 'success');
      const liveItems: number[] = [];
      for (const child of children.filter((c) => c.status !== 'cancelled')) {
        const [result] = await again.run(child.runId).result();
        expect(result.outcome).toBe('success');
        liveItems.push((result as { value: { item: number } }).value.item);
      }
      expect(liveItems.sort()).toEqual([0, 1, 2]);
      // Each parent item's result names the child of its second attempt.
      const results = await again.run(parent.runId).result();
      for (const r of results) expect(oldIds.has((r as { value: { childRunId: string } }).value.childRunId)).toBe(false);
      // No child of the first attempt ran its item again: the gate saw one request per child.
      expect(gate.count()).toBe(2 * n);
      await again.close();
    } finally {
      if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL');
      await second?.stop();
      await gate.close();
    }
  }, 120_000);
});
