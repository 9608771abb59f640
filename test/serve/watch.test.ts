import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, RunsUnwatch, RunsWatch, RpcError } from '../../protocol/index.js';
import { connect, type FlowrunClient, type RunEvent, type RunEventStream } from '../../src/client/index.js';
import { startGate } from '../support/gate.js';
import type { ServedProcess } from '../support/serve.js';
import { serveWorkspace, type ServedWorkspace } from '../support/served-workspace.js';
import { startServedRuntime } from '../support/served-runtime.js';
import { waitFor } from '../support/wait-for.js';
import { ECHO_FLOW, GATE_FLOW } from '../support/workspace.js';

/**
 * `runs/watch` on a real `flowrun serve` (SQLite state store) with a real component server
 * (docs/events.md): run events in order, item events of one run, resuming with `since`,
 * unwatch, bad params; and a closed connection ending its watches.
 */
let served: ServedProcess;
let client: FlowrunClient;
let env: ServedWorkspace | undefined;

beforeAll(async () => {
  env = await serveWorkspace();
  ({ served, client } = env);
}, 60_000);
afterAll(() => env?.close());

/** Collects a stream's events until `done` holds for the events so far. */
function collect(stream: RunEventStream, done: (events: RunEvent[]) => boolean): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  return (async () => {
    for await (const event of stream) {
      events.push(event);
      if (done(events)) break;
    }
    return events;
  })();
}

const finishedOf = (runId: string) => (events: RunEvent[]) => events.some((e) => e.type === 'run.finished' && e.run.runId === runId);

describe('runs/watch', () => {
  it('sends created, started, progress with the final counters and finished, in order, with rising cursors', async () => {
    const gate = await startGate();
    try {
      const stream = client.watch({ progressEveryMs: 50 });
      await stream.start();
      const inputs = Array.from({ length: 3 }, (_, item) => ({ url: gate.url, item }));
      const run = await client.submit({ flow: GATE_FLOW, inputs, flowLabel: 'watched' });
      const events = collect(stream, finishedOf(run.runId));
      await gate.arrived(3);
      gate.release();
      const mine = (await events).filter((e) => e.run.runId === run.runId);
      const types = mine.map((e) => e.type);
      expect(types[0]).toBe('run.created');
      expect(types[1]).toBe('run.started');
      expect(types.at(-1)).toBe('run.finished');
      expect(types.at(-2)).toBe('run.progress');
      expect(mine.at(-2)!.run.items).toMatchObject({ total: 3, success: 3, pending: 0, running: 0 });
      expect(mine.at(-1)!.run).toMatchObject({ status: 'success', flowLabel: 'watched', items: { success: 3 } });
      expect(mine.every((e) => e.run.results === undefined)).toBe(true);
      const cursors = mine.map((e) => Number(e.cursor));
      expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
    } finally {
      await gate.close();
    }
  });

  it('with items: true on one run, sends each item as it finishes, then the run finished, and ends', async () => {
    const gate = await startGate();
    try {
      const inputs = Array.from({ length: 4 }, (_, item) => ({ url: gate.url, item }));
      const run = await client.submit({ flow: GATE_FLOW, inputs });
      await gate.arrived(4);
      const stream = run.events({ items: true });
      await stream.start();
      const events = collect(stream, () => false);
      gate.release();
      const all = await events;
      const items = all.filter((e) => e.type === 'item.finished');
      expect(items.map((e) => e.item!.itemIndex).sort()).toEqual([0, 1, 2, 3]);
      expect(items.every((e) => e.item!.status === 'success' && e.item!.result?.outcome === 'success')).toBe(true);
      expect(all.at(-1)!.type).toBe('run.finished');
      expect(all.findIndex((e) => e.type === 'run.finished')).toBeGreaterThan(all.findLastIndex((e) => e.type === 'item.finished'));
    } finally {
      await gate.close();
    }
  });

  it('resumes an item watch with since: the items not yet sent, then the finish, each item once', async () => {
    const gate = await startGate();
    try {
      const inputs = Array.from({ length: 4 }, (_, item) => ({ url: gate.url, item }));
      const gated = await client.submit({ flow: GATE_FLOW, inputs, maxConcurrency: 4 });
      await gate.arrived(4);
      const first = gated.events({ items: true });
      await first.start();
      const firstEvents = collect(first, () => false);
      gate.release();
      const seen = await firstEvents;
      expect(seen.at(-1)!.type).toBe('run.finished');
      // A new connection resuming after the second item event gets the items after it and the finish, nothing before.
      const secondItem = seen.filter((e) => e.type === 'item.finished')[1];
      const other = await connect(served.url);
      try {
        const resumed = await collect(other.run(gated.runId).events({ items: true, since: secondItem.cursor }), () => false);
        const items = resumed.filter((e) => e.type === 'item.finished').map((e) => e.item!.itemIndex);
        const expected = seen.filter((e) => e.type === 'item.finished').slice(2).map((e) => e.item!.itemIndex);
        expect(items).toEqual(expected);
        expect(resumed.at(-1)!.type).toBe('run.finished');
      } finally {
        await other.close();
      }
    } finally {
      await gate.close();
    }
  });

  it('gives a run that finished already its run.finished at once', async () => {
    const run = await client.submit({ flow: ECHO_FLOW, inputs: [1, 2], wait: true });
    const events = await collect(run.events(), () => false);
    expect(events.map((e) => e.type)).toEqual(['run.finished']);
    expect(events[0].run).toMatchObject({ runId: run.runId, status: 'success' });
  });

  it('filters runs by the runs/list fields', async () => {
    const stream = client.watch({ filter: { flowLabel: 'pick-me' } });
    await stream.start();
    const other = await client.submit({ flow: ECHO_FLOW, inputs: [1], flowLabel: 'not-me', wait: true });
    const picked = await client.submit({ flow: ECHO_FLOW, inputs: [1], flowLabel: 'pick-me' });
    const events = await collect(stream, finishedOf(picked.runId));
    expect(events.every((e) => e.run.runId === picked.runId)).toBe(true);
    expect(events.some((e) => e.run.runId === other.runId)).toBe(false);
  });

  it('resumes with since: replays what followed the cursor, then goes on live, nothing lost or twice', async () => {
    const first = client.watch();
    await first.start();
    const a = await client.submit({ flow: ECHO_FLOW, inputs: [1, 2, 3], wait: true });
    const seen = await collect(first, finishedOf(a.runId));
    // A second connection resumes after the first event seen; a run submitted meanwhile is live.
    const since = seen[0].cursor;
    const other = await connect(served.url);
    try {
      const resumed = other.watch({ since });
      const { cursor } = await other.sendRequest(RunsWatch, { since });
      expect(cursor).toBe(since);
      await resumed.start();
      const b = await client.submit({ flow: ECHO_FLOW, inputs: [4] });
      const events = await collect(resumed, finishedOf(b.runId));
      const replayed = events.filter((e) => e.run.runId === a.runId);
      expect(replayed.map((e) => [e.cursor, e.type])).toEqual(seen.slice(1).filter((e) => e.run.runId === a.runId).map((e) => [e.cursor, e.type]));
      const cursors = events.map((e) => e.cursor);
      expect(new Set(cursors).size).toBe(cursors.length);
      expect(events.filter((e) => e.run.runId === b.runId).map((e) => e.type)).toEqual(
        expect.arrayContaining(['run.created', 'run.started', 'run.progress', 'run.finished']),
      );
    } finally {
      await other.close();
    }
  });

  it('stops sending after runs/unwatch', async () => {
    const events: RunEvent[] = [];
    const stream = client.watch();
    await stream.start();
    const run = await client.submit({ flow: ECHO_FLOW, inputs: [1], wait: true });
    for await (const event of stream) {
      events.push(event);
      if (event.type === 'run.finished' && event.run.runId === run.runId) break; // the loop's end unwatches
    }
    const { subscriptionId } = await client.sendRequest(RunsWatch, {});
    expect(await client.sendRequest(RunsUnwatch, { subscriptionId })).toEqual({ removed: true });
    expect(await client.sendRequest(RunsUnwatch, { subscriptionId })).toEqual({ removed: false });
  });

  it('refuses bad params naming the field, and an unknown run with -32011', async () => {
    const refusal = (params: unknown) => client.sendRequest(RunsWatch, params as never).then(() => undefined, (e: RpcError) => e);
    const badEvery = await refusal({ progressEveryMs: 'soon' });
    expect(badEvery).toMatchObject({ code: ErrorCodes.InvalidParams });
    expect(badEvery!.message).toContain('progressEveryMs');
    const both = await refusal({ runId: 'x', filter: {} });
    expect(both!.message).toContain('filter');
    const items = await refusal({ items: true });
    expect(items!.message).toContain('items');
    const since = await refusal({ since: 'yesterday' });
    expect(since!.message).toContain('since');
    const ahead = await refusal({ since: '999999999' });
    expect(ahead).toMatchObject({ code: ErrorCodes.InvalidParams });
    expect(ahead!.message).toContain('since');
    const unknown = await refusal({ runId: 'no-such-run' });
    expect(unknown).toMatchObject({ code: ErrorCodes.NotFound, data: { runId: 'no-such-run' } });
  });
});

describe('a closed connection', () => {
  it('ends its watches', async () => {
    const served = await startServedRuntime();
    try {
      const c = await connect(served.server.url);
      await c.watch().start();
      await c.watch({ filter: { rootsOnly: true } }).start();
      expect(served.runtime.runs.events.listenerCount).toBe(2);
      await c.close();
      await waitFor(() => served.runtime.runs.events.listenerCount === 0, { what: 'watches of the closed connection ended' });
    } finally {
      await served.close();
    }
  });
});
