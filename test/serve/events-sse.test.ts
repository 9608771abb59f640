import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowrunClient } from '../../src/client/index.js';
import { startGate } from '../support/gate.js';
import type { ServedProcess } from '../support/serve.js';
import { serveWorkspace, type ServedWorkspace } from '../support/served-workspace.js';
import { ECHO_FLOW, GATE_FLOW } from '../support/workspace.js';

/**
 * `GET /events` (docs/events.md) on a real `flowrun serve` with a token and a real component
 * server, read by a real HTTP client: server-sent events with `id:` = cursor, resumed with
 * `Last-Event-ID`, behind the bearer token and the Origin rules.
 */
const TOKEN = 'sse-secret';
let served: ServedProcess;
let client: FlowrunClient;
let env: ServedWorkspace | undefined;

beforeAll(async () => {
  env = await serveWorkspace(TOKEN);
  ({ served, client } = env);
}, 60_000);
afterAll(() => env?.close());

interface SseEvent {
  id?: string;
  event?: string;
  data: any;
}

/** Opens `GET /events?<query>` and gives the response with its parsed events as they come. */
function openEvents(query: string, headers: Record<string, string> = {}): Promise<{ res: IncomingMessage; events: SseEvent[]; ended: Promise<void>; next(n: number): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`/events?${query}`, served.httpUrl);
    const req = request(url, { headers: { Authorization: `Bearer ${TOKEN}`, ...headers } }, (res) => {
      const events: SseEvent[] = [];
      let waiters: Array<{ n: number; resolve: () => void }> = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { data: undefined };
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('data: ')) event.data = JSON.parse(line.slice(6));
          }
          if (event.event !== undefined) events.push(event);
        }
        waiters = waiters.filter((w) => (events.length >= w.n ? (w.resolve(), false) : true));
      });
      const ended = new Promise<void>((r) => res.once('end', () => r()));
      resolve({ res, events, ended, next: (n) => new Promise<void>((r) => (events.length >= n ? r() : waiters.push({ n, resolve: r }))) });
    });
    req.on('error', reject);
    req.end();
  });
}

async function bodyOf(res: IncomingMessage): Promise<any> {
  let text = '';
  for await (const chunk of res) text += chunk;
  return JSON.parse(text);
}

describe('GET /events', () => {
  it('streams the events of a run as server-sent events with the cursor as id, and ends after its finish', async () => {
    const gate = await startGate();
    try {
      const run = await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }, { url: gate.url, item: 1 }] });
      await gate.arrived(2);
      const sse = await openEvents(`runId=${run.runId}&items=true&progressEveryMs=50`);
      expect(sse.res.statusCode).toBe(200);
      expect(sse.res.headers['content-type']).toContain('text/event-stream');
      gate.release();
      await sse.ended;
      const types = sse.events.map((e) => e.event);
      expect(types.filter((t) => t === 'item.finished')).toHaveLength(2);
      expect(types.at(-1)).toBe('run.finished');
      for (const e of sse.events) {
        expect(e.id).toBe(e.data.cursor);
        expect(e.data).toMatchObject({ type: e.event, run: { runId: run.runId } });
      }
      expect(sse.events.at(-1)!.data.run).toMatchObject({ status: 'success', items: { success: 2 } });
    } finally {
      await gate.close();
    }
  });

  it('resumes after Last-Event-ID with what followed it, nothing twice', async () => {
    const all = await openEvents('flowLabel=sse-resume');
    const run = await client.submit({ flow: ECHO_FLOW, inputs: [1, 2], flowLabel: 'sse-resume', wait: true });
    await all.next(4);
    const seen = all.events.filter((e) => e.data.run.runId === run.runId);
    all.res.destroy();
    const resumed = await openEvents('flowLabel=sse-resume', { 'Last-Event-ID': seen[0].id! });
    await resumed.next(seen.length - 1);
    expect(resumed.events.map((e) => [e.id, e.event])).toEqual(seen.slice(1).map((e) => [e.id, e.event]));
    resumed.res.destroy();
  });

  it('needs the token, refuses foreign web origins, and names bad params and unknown runs', async () => {
    const plain = (path: string, headers: Record<string, string>) =>
      new Promise<IncomingMessage>((resolve, reject) => request(new URL(path, served.httpUrl), { headers }, resolve).on('error', reject).end());
    const noToken = await plain('/events', {});
    expect(noToken.statusCode).toBe(401);
    noToken.resume();
    const foreign = await plain('/events', { Authorization: `Bearer ${TOKEN}`, Origin: 'https://evil.example' });
    expect(foreign.statusCode).toBe(403);
    foreign.resume();
    const bad = await plain('/events?progressEveryMs=often', { Authorization: `Bearer ${TOKEN}` });
    expect(bad.statusCode).toBe(400);
    expect((await bodyOf(bad)).error).toContain('progressEveryMs');
    const unknown = await plain('/events?runId=nope', { Authorization: `Bearer ${TOKEN}` });
    expect(unknown.statusCode).toBe(404);
    expect((await bodyOf(unknown)).error).toContain('nope');
  });
});
