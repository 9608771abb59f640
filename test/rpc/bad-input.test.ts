import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, REQUEST_METHODS } from '../../protocol/index.js';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { RpcPeer } from '../../src/rpc/peer.js';
import { RunManager } from '../../src/runs/run-manager.js';
import { registerRuntimeHandlers } from '../../src/api/runtime-handlers.js';
import { RuntimeService } from '../../src/api/runtime-service.js';
import { NdjsonMessageReader } from '../../src/transport/ndjson-reader.js';
import { NdjsonMessageWriter } from '../../src/transport/ndjson-writer.js';

/**
 * The runtime's NDJSON endpoint fed bad input — garbage, non-objects, wrong versions, huge lines,
 * unknown methods, random params for every method — while a run is in progress on it.
 */
const MAX = 64 * 1024;
const RUNTIME_METHODS = ['blobs/put', 'blobs/get', 'runs/submit', 'runs/get', 'runs/cancel', 'runs/list', 'runs/delete', 'runs/gc', 'flows/list'];

let input: PassThrough;
let responses: Map<string | number, Array<{ result?: unknown; error?: { code: number; message: string } }>>;
let runs: RunManager;
let peer: RpcPeer;
let waiters: Array<() => void> = [];

beforeAll(() => {
  input = new PassThrough();
  const output = new PassThrough();
  responses = new Map();
  let buffer = '';
  output.setEncoding('utf8');
  output.on('data', (chunk: string) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      const list = responses.get(msg.id) ?? [];
      list.push(msg);
      responses.set(msg.id, list);
    }
    for (const w of waiters.splice(0)) w();
  });
  // Items take a few event-loop turns, so the run is in progress while the bad input arrives.
  runs = new RunManager({
    blobs: new MemoryBlobStore(),
    invoke: async (inv) => {
      await new Promise((r) => setTimeout(r, 1));
      return { outcome: 'success', value: (inv.input as number) * 2 };
    },
  });
  peer = new RpcPeer(new NdjsonMessageReader(input, { maxMessageBytes: MAX }), new NdjsonMessageWriter(output), { name: 'runtime' });
  registerRuntimeHandlers(peer, new RuntimeService(new MemoryBlobStore(), runs), () => ({}));
  peer.listen();
});

afterAll(() => {
  peer.close();
});

const send = (line: string) => input.write(line + '\n');

async function answerTo(id: string | number): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  for (let i = 0; i < 2000 && !responses.has(id); i++) await new Promise<void>((r) => waiters.push(r));
  const list = responses.get(id);
  expect(list, `an answer to ${id}`).toBeDefined();
  expect(list).toHaveLength(1);
  return list![0];
}

describe('bad input on the runtime endpoint', () => {
  it('answers or skips every kind of bad message while a run in progress finishes correctly', async () => {
    const submitted = await runs.submit({ flow: { steps: [{ id: 'w', component: '/t/w', input: { $input: '$' } }], output: { $step: 'w' } }, inputs: Array.from({ length: 300 }, (_, i) => i), maxConcurrency: 4, wait: false, variables: {} });

    // Skipped without an answer: not JSON, not an object, no id.
    for (const line of ['not json', '{"unterminated": ', '5', '[1,2]', '"str"', 'null', '{"jsonrpc":"2.0"}', '{"jsonrpc":"2.0","method":"nope"}']) send(line);
    // A line over the cap is dropped; the next one is read.
    send(JSON.stringify({ jsonrpc: '2.0', id: 'huge', method: 'blobs/put', params: { data: 'x'.repeat(MAX) } }));
    send(JSON.stringify({ jsonrpc: '2.0', id: 'after-huge', method: 'runs/list', params: {} }));
    // Wrong version, unknown method, bad id type.
    send(JSON.stringify({ jsonrpc: '1.0', id: 'v1', method: 'runs/list' }));
    send(JSON.stringify({ jsonrpc: '2.0', id: 'unknown', method: 'runs/explode', params: {} }));
    send(JSON.stringify({ jsonrpc: '2.0', id: 'no-params', method: 'runs/get' }));

    expect((await answerTo('after-huge')).result).toBeDefined();
    expect((await answerTo('v1')).error?.code).toBe(ErrorCodes.InvalidRequest);
    expect((await answerTo('unknown')).error?.code).toBe(ErrorCodes.MethodNotFound);
    expect((await answerTo('no-params')).error).toMatchObject({ code: ErrorCodes.InvalidParams });
    expect((await answerTo('no-params')).error?.message).toContain('runs/get');
    expect(responses.has('huge')).toBe(false);

    // Random params for every method: each request gets exactly one answer, never a crash.
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...RUNTIME_METHODS), fc.jsonValue({ maxDepth: 3 }), async (method, params) => {
        const id = `fuzz-${n++}`;
        send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
        const answer = await answerTo(id);
        if (answer.error) {
          expect([ErrorCodes.InvalidParams, ErrorCodes.NotFound, ErrorCodes.BlobNotFound]).toContain(answer.error.code);
          expect(answer.error.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300, seed: 20261122 },
    );
    expect(REQUEST_METHODS.map((d) => d.method)).toEqual(expect.arrayContaining(RUNTIME_METHODS));

    const final = await runs.get({ runId: submitted.runId, wait: true, includeResults: true, resultOrder: 'byIndex', offset: 0 });
    expect(final.status).toBe('success');
    expect(final.items).toEqual({ total: 300, pending: 0, running: 0, success: 300, failed: 0, cancelled: 0 });
    expect(final.results!.every((r, i) => r.result?.outcome === 'success' && r.result.value === i * 2)).toBe(true);
    expect(peer.isClosed).toBe(false);
  });
});
