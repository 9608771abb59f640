import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { fixturePath } from '../support/paths.js';
import { allResults } from '../support/run-results.js';
import { spawnServe } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * `flowrun serve` is killed with SIGKILL in the middle of a 1,000-item run and started again on
 * the same stores: the run resumes and ends with every item exactly once.
 */
let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('recovery');
  await writeFile(
    join(dir, 'flowrun.yaml'),
    `plugins:
  r: { type: stepflow, command: node, args: [${JSON.stringify(fixturePath('recovery-server.mjs'))}], env: { RECOVERY_LOG: ${JSON.stringify(join(dir, 'executions.log'))} } }
routes:
  "/r/{*component}": [{ plugin: r }]
blobStore: { type: filesystem, path: blobs }
stateStore: { type: sqlite, path: state.db }
`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function executions(): Promise<Array<{ i: number; attempt: number }>> {
  const text = await readFile(join(dir, 'executions.log'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => {
    const [i, attempt] = l.split(' ').map(Number);
    return { i, attempt };
  });
}

describe('restart recovery', () => {
  it('resumes a run after SIGKILL: finished results kept, running items re-executed as attempt + 1, none lost or doubled', async () => {
    const n = 1000;
    const config = join(dir, 'flowrun.yaml');
    const first = await spawnServe(['--config', config]);
    const client = await connect(first.url);
    const flow = { name: 'recover', steps: [{ id: 'w', component: '/r/work', input: { i: { $input: 'i' } } }], output: { $step: 'w' } };
    const handle = await client.submit({ flow, inputs: Array.from({ length: n }, (_, i) => ({ i })), maxConcurrency: 8 });

    // Let a good part of the run finish, then kill the server without warning.
    let before = await handle.status();
    for (let k = 0; k < 10_000 && before.items.success < 300; k++) before = await handle.wait({ timeoutMs: 50 });
    expect(before.status).toBe('running');
    const page = await handle.results({ order: 'byIndex', offset: 0, limit: n });
    const finishedBefore = new Map(page.results.filter((r) => r.status === 'success').map((r) => [r.itemIndex, r]));
    // runs/list brings the store up to date with memory first (the journal's batch window does not
    // hold it back): what we saw finish is journaled.
    await client.list();
    first.child.kill('SIGKILL');
    await first.exited;
    client.close();

    const second = await spawnServe(['--config', config]);
    try {
      const again = await connect(second.url);
      const resumed = again.run(handle.runId);
      const final = await resumed.wait();
      expect(final.status).toBe('success');
      expect(final.items).toEqual({ total: n, pending: 0, running: 0, success: n, failed: 0, cancelled: 0 });

      const results = await allResults(resumed, 400);
      expect(results.map((r) => r.itemIndex)).toEqual(Array.from({ length: n }, (_, i) => i));

      let reexecuted = 0;
      for (const r of results) {
        const value = (r.result as { outcome: 'success'; value: { i: number; attempt: number } }).value;
        expect(value.i).toBe(r.itemIndex);
        expect(r.attempts).toBe(value.attempt); // the recorded attempts are those of the call that succeeded
        const earlier = finishedBefore.get(r.itemIndex);
        if (earlier) expect(r).toEqual(earlier); // results finished before the kill are kept as they were
        if (value.attempt > 1) reexecuted++;
      }
      expect(reexecuted).toBeGreaterThan(0); // items in flight at the kill ran again as attempt 2

      // The component saw every item finish at least once, and the ones run again had a higher attempt.
      const log = await executions();
      const seen = new Map<number, number[]>();
      for (const e of log) seen.set(e.i, [...(seen.get(e.i) ?? []), e.attempt]);
      expect(seen.size).toBe(n);
      for (const r of results) expect(seen.get(r.itemIndex)).toContain(r.attempts);
      again.close();
    } finally {
      await second.stop();
    }
  }, 120_000);
});
