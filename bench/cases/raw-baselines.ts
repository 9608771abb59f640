/**
 * The baselines (a): a minimal JSON-RPC client loop with no flowrun code, against a raw
 * echo child over stdio NDJSON and over `ws`. The loop has this shape: C
 * async workers each awaiting one request at a time, responses matched by id through a Map of
 * pending promises; over stdio the requests of one tick go out in one `write()`.
 */
import WebSocket from 'ws';
import { childScript, readPort, spawnNode, stopChild } from '../lib/children.js';
import { measure, type Measure } from '../lib/measure.js';
import { payload, type PayloadName } from '../lib/payloads.js';

export interface PassOptions {
  payload: PayloadName;
  concurrency: number;
  items: number;
  warmup: number;
}

/** A minimal request/response client over some frame-oriented send function. */
class RawClient {
  private nextId = 1;
  private readonly pending = new Map<number, (output: unknown) => void>();

  constructor(private readonly sendText: (text: string) => void) {}

  request(method: string, input: unknown): Promise<unknown> {
    const id = this.nextId++;
    const promise = new Promise<unknown>((resolve) => this.pending.set(id, resolve));
    this.sendText(JSON.stringify({ jsonrpc: '2.0', id, method, params: { input } }));
    return promise;
  }

  /** Handles one response text. */
  receive(text: string): void {
    const m = JSON.parse(text) as { id: number; result: { output: unknown } };
    const resolve = this.pending.get(m.id)!;
    this.pending.delete(m.id);
    resolve(m.result.output);
  }
}

/** `items` requests by `concurrency` workers; each worker awaits its answer before the next. */
async function drive(client: RawClient, items: number, concurrency: number, name: PayloadName): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items) {
      next++;
      const out = await client.request('components/execute', payload(name));
      if (out === undefined) throw new Error('bad echo');
    }
  };
  const workers: Promise<void>[] = [];
  for (let k = 0; k < Math.min(concurrency, items); k++) workers.push(worker());
  await Promise.all(workers);
}

/** Times a pass, with the peer's CPU over the same window (asked for before and after). */
async function timed(client: RawClient, options: PassOptions): Promise<Measure> {
  await drive(client, options.warmup, options.concurrency, options.payload);
  const before = (await client.request('cpu', null)) as number;
  const m = await measure(options.items, () => drive(client, options.items, options.concurrency, options.payload));
  const after = (await client.request('cpu', null)) as number;
  return { ...m, peerCpuMicros: after - before };
}

/**
 * Raw NDJSON over a fresh child's stdio, writes batched per tick; with `writeAtChars`, a batch is
 * also written as soon as it holds that many characters (as flowrun's NDJSON writer does at 16 KiB).
 */
export async function rawNdjsonPass(options: PassOptions & { writeAtChars?: number }): Promise<Measure> {
  const child = spawnNode(childScript('raw-ndjson-echo'));
  const stdin = child.stdin!;
  const writeAt = options.writeAtChars ?? Infinity;
  let batch = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (batch !== '') stdin.write(batch);
    batch = '';
  };
  const client = new RawClient((text) => {
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
    batch += text + '\n';
    if (batch.length >= writeAt) {
      stdin.write(batch);
      batch = '';
    }
  });
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    let start = 0;
    let nl = chunk.indexOf('\n');
    if (nl === -1) {
      partial += chunk;
      return;
    }
    client.receive(partial + chunk.slice(0, nl));
    partial = '';
    start = nl + 1;
    while ((nl = chunk.indexOf('\n', start)) !== -1) {
      client.receive(chunk.slice(start, nl));
      start = nl + 1;
    }
    partial = chunk.slice(start);
  });
  try {
    return await timed(client, options);
  } finally {
    stdin.end();
    await stopChild(child);
  }
}

/** Raw `ws` to a fresh child's WebSocket server, one text frame per message. */
export async function rawWebSocketPass(options: PassOptions): Promise<Measure> {
  const child = spawnNode(childScript('raw-ws-echo'));
  const port = await readPort(child);
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const client = new RawClient((text) => socket.send(text));
  socket.on('message', (data) => client.receive(data.toString()));
  try {
    return await timed(client, options);
  } finally {
    socket.close();
    await stopChild(child);
  }
}
