import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../protocol/index.js';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { parseConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { fixturePath, ROOT } from '../support/paths.js';

let runtime: Runtime;

beforeAll(async () => {
  const server = { type: 'stepflow', command: process.execPath, args: [fixturePath('crashy-server.mjs')] };
  const config = parseConfig(
    {
      plugins: { crashy: server, fragile: { ...server, transportRetries: 0 } },
      routes: { '/crashy/{*component}': [{ plugin: 'crashy' }], '/fragile/{*component}': [{ plugin: 'fragile' }] },
    },
    { workingDirectory: ROOT, env: process.env },
  );
  runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore() });
});

afterAll(async () => {
  await runtime.close();
});

describe('a component server that crashes in ~2% of calls', () => {
  it('ends a run of 2,000 items with every item terminal, exact counters and truthful attempts', async () => {
    const n = 2000;
    const status = await runtime.runs.submit({
      flow: { steps: [{ id: 'work', component: '/crashy/work', input: { i: { $input: 'i' } } }], output: { $step: 'work' } },
      inputs: Array.from({ length: n }, (_, i) => ({ i })),
      maxConcurrency: 8,
      wait: true,
      variables: {},
    });
    expect(status.status).not.toBe('running');
    const { items } = status;
    expect(items.pending + items.running).toBe(0);
    expect(items.success + items.failed + items.cancelled).toBe(n);
    expect(items.cancelled).toBe(0);
    const results = status.results!;
    expect(results).toHaveLength(n);

    let retried = 0;
    for (const r of results) {
      expect(['success', 'failed']).toContain(r.status);
      if (r.result?.outcome === 'success') {
        const value = r.result.value as { i: number; attempt: number };
        expect(value.i).toBe(r.itemIndex);
        // The attempt that succeeded is the item's attempt count.
        expect(r.attempts).toBe(value.attempt);
        if (value.attempt > 1) retried++;
      } else {
        // Only a call that lost its server on every try (1 + 3 transport retries) fails.
        expect(r.attempts).toBe(4);
        expect(r.result).toMatchObject({ outcome: 'failed', error: { code: 500, data: { cause: { code: ErrorCodes.ResourceUnavailable } } } });
      }
    }
    // About 2% of calls crash (plus the calls in flight with them): retries did happen.
    expect(retried).toBeGreaterThan(10);
  }, 240_000); // ~40 server restarts with backoff: slow on a loaded machine, so a generous bound

  it('honours a plugin\'s transportRetries: with 0, a call that loses its server fails at once', async () => {
    const status = await runtime.runs.submit({
      flow: { steps: [{ id: 'work', component: '/fragile/work', input: { i: { $input: 'i' } } }], output: { $step: 'work' } },
      inputs: Array.from({ length: 300 }, (_, i) => ({ i })),
      maxConcurrency: 1,
      wait: true,
      variables: {},
    });
    const failed = status.results!.filter((r) => r.result?.outcome === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const r of failed) expect(r.attempts).toBe(1);
    expect(status.results!.every((r) => r.attempts === 1)).toBe(true);
  });
});
