import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { ConnectionClosedError } from '../../src/errors.js';
import type { RuntimeServer } from '../../src/serve/ws-server.js';
import { ECHO_FLOW } from '../support/workspace.js';
import { startServedRuntime, type ServedRuntime } from '../support/served-runtime.js';

/**
 * A client whose frame limit is far below the size of a run's results still gets every result:
 * `result()` and a waiting `submit` page them under the limit. One page of everything would not fit.
 */
let served: ServedRuntime;
let server: RuntimeServer;
beforeAll(async () => {
  served = await startServedRuntime();
  ({ server } = served);
});
afterAll(() => served.close());

const FRAME_LIMIT = 64 * 1024;
const N = 300;
/** ~4 KiB per result: the run's results are ~1.2 MB, about 19 times the frame limit. */
const inputs = Array.from({ length: N }, (_, i) => ({ i, pad: 'x'.repeat(4000) }));

async function smallFrameClient(): Promise<FlowrunClient> {
  return connect(server.url, { maxMessageBytes: FRAME_LIMIT });
}

describe('result paging under a small frame limit', () => {
  it('result() returns every result of a run bigger than the frame limit, in input order', async () => {
    const client = await smallFrameClient();
    try {
      const run = await client.submit({ flow: ECHO_FLOW, inputs, maxConcurrency: 16 });
      const results = await run.result();
      expect(results).toHaveLength(N);
      results.forEach((r, i) => expect(r).toEqual({ outcome: 'success', value: inputs[i] }));
      expect(client.isClosed).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('a waiting submit returns the terminal status with every result, paged by the client', async () => {
    const client = await smallFrameClient();
    try {
      const run = await client.submit({ flow: ECHO_FLOW, inputs, wait: true, maxConcurrency: 16 });
      const status = run.submitted!;
      expect(status.status).toBe('success');
      expect(status.items.success).toBe(N);
      expect(status.results!.map((r) => r.itemIndex)).toEqual(inputs.map((_, i) => i));
      expect(status.results!.map((r) => r.result)).toEqual(inputs.map((value) => ({ outcome: 'success', value })));
      // In byCompletion order too, every item once.
      const byCompletion = await run.itemResults({ order: 'byCompletion' });
      expect(byCompletion.map((r) => r.itemIndex).sort((a, b) => a - b)).toEqual(inputs.map((_, i) => i));
      expect(client.isClosed).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('one page holding every result would exceed the limit (the connection closes): the paging is what makes it fit', async () => {
    const client = await smallFrameClient();
    const run = await client.submit({ flow: ECHO_FLOW, inputs, maxConcurrency: 16 });
    await run.wait();
    await expect(run.results({ offset: 0, limit: N })).rejects.toBeInstanceOf(ConnectionClosedError);
    await client.close();
  });
});
