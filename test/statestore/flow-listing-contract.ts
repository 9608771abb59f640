import { describe, expect, it } from 'vitest';
import type { RunRecord, StateStore } from '../../src/statestore/index.js';
import type { RerunCallbackContractContext } from './rerun-callback-contract.js';

/**
 * `listFlows` (`flows/list`, docs/protocol.md) as every StateStore backend answers it: the flows
 * stored runs ran, most recently used first, of one namespace, paged by cursor.
 */
export function describeFlowListingContract(ctx: RerunCallbackContractContext): void {
  let clock = 1_750_000_000_000;
  const store = (): StateStore => ctx.store();
  const createRun = async (runId: string, flowId: string, fields: Partial<RunRecord> = {}): Promise<RunRecord> => {
    const run: RunRecord = { runId, flowId, createdAt: (clock += 1000), total: 1, maxConcurrency: 1, variables: {}, ...fields };
    await store().createRun(run, Array.from({ length: run.total }, (_, i) => ({ i })));
    return run;
  };
  /** Every page of a listing, `limit` flows at a time. */
  const allPages = async (namespace: string | undefined, limit: number) => {
    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await store().listFlows({ namespace, cursor, limit });
      pages.push(page.flows);
      cursor = page.nextCursor;
    } while (cursor !== undefined && pages.length < 20);
    return pages;
  };

  describe('listFlows', () => {
    it('lists each flow once, most recently used first, with its run count and latest name and time', async () => {
      await createRun('f1', 'sha256:one', { flowName: 'old name' });
      await createRun('f2', 'sha256:two');
      const latest = await createRun('f3', 'sha256:one', { flowName: 'new name' });
      const { flows, nextCursor } = await store().listFlows({ limit: 10 });
      expect(nextCursor).toBeUndefined();
      expect(flows).toEqual([
        { flowId: 'sha256:one', flowName: 'new name', lastUsedAt: latest.createdAt, runs: 2 },
        { flowId: 'sha256:two', lastUsedAt: latest.createdAt - 1000, runs: 1 },
      ]);
    });

    it('lists only the flows of the namespace asked for; runs without one are in `default`', async () => {
      await createRun('n1', 'sha256:shared', { namespace: 'team-a' });
      await createRun('n2', 'sha256:secret-b', { namespace: 'team-b' });
      await createRun('n3', 'sha256:shared', { namespace: 'team-b' });
      await createRun('n4', 'sha256:plain');
      const of = async (namespace?: string) => (await store().listFlows({ namespace, limit: 10 })).flows.map((f) => [f.flowId, f.runs]);
      expect(await of('team-a')).toEqual([['sha256:shared', 1]]);
      expect(await of('team-b')).toEqual([['sha256:shared', 1], ['sha256:secret-b', 1]]);
      expect(await of('default')).toEqual([['sha256:plain', 1]]);
      expect(await of('nobody')).toEqual([]);
      expect(await of(undefined)).toEqual([['sha256:plain', 1], ['sha256:shared', 2], ['sha256:secret-b', 1]]);
    });

    it('pages by cursor: every flow once, in order, and the last page has no cursor', async () => {
      for (let k = 0; k < 7; k++) await createRun(`p${k}`, `sha256:flow-${k % 5}`);
      // Most recent first: flow-1 (p6), flow-0 (p5), flow-4, flow-3, flow-2.
      const pages = await allPages(undefined, 2);
      expect(pages.map((page) => page.map((f) => f.flowId))).toEqual([
        ['sha256:flow-1', 'sha256:flow-0'],
        ['sha256:flow-4', 'sha256:flow-3'],
        ['sha256:flow-2'],
      ]);
      expect((await store().listFlows({ limit: 5 })).nextCursor).toBeUndefined();
    });

    it('answers a cursor it never issued with an empty page', async () => {
      await createRun('c1', 'sha256:any');
      expect(await store().listFlows({ cursor: 'NOT*OURS', limit: 10 })).toEqual({ flows: [] });
    });

    it('drops a flow whose runs were all deleted', async () => {
      await createRun('d1', 'sha256:kept');
      // No items: finishing it makes it terminal, which deletion needs.
      await createRun('d2', 'sha256:gone', { total: 0 });
      await store().finishRun('d2', 'success', clock);
      expect((await store().deleteRun('d2')).outcome).toBe('deleted');
      expect((await store().listFlows({ limit: 10 })).flows.map((f) => f.flowId)).toEqual(['sha256:kept']);
    });
  });
}
