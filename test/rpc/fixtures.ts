import { z } from 'zod';
import type { Message, MessageReader, MessageWriter } from 'vscode-jsonrpc';
import { NotificationMethod, RequestMethod } from '../../protocol/index.js';
import { RpcPeer, type RpcPeerOptions } from '../../src/rpc/peer.js';
import { createMemoryTransportPair } from '../../src/transport/memory-pair.js';

/** Test-only descriptors. */
export const Add = new RequestMethod('test/add', z.object({ a: z.number(), b: z.number() }), z.object({ sum: z.number() }));
export const Hold = new RequestMethod('test/hold', z.object({ key: z.string() }), z.object({ key: z.string(), by: z.string() }));
export const Note = new NotificationMethod('test/note', z.object({ text: z.string() }));

/** Promises a test resolves by hand, by key: lets handlers answer in any order the test chooses. */
export class Gate {
  private readonly waiting = new Map<string, (value?: unknown) => void>();
  readonly entered: string[] = [];
  wait(key: string): Promise<unknown> {
    this.entered.push(key);
    return new Promise((resolve) => this.waiting.set(key, resolve));
  }
  open(key: string, value?: unknown): void {
    const resolve = this.waiting.get(key);
    if (!resolve) throw new Error(`nobody waits for ${key}`);
    this.waiting.delete(key);
    resolve(value);
  }
}

/** Two listening peers over an in-memory pair. */
export function peerPair(optionsA: Partial<RpcPeerOptions> = {}, optionsB: Partial<RpcPeerOptions> = {}) {
  const [endA, endB] = createMemoryTransportPair();
  const a = new RpcPeer(endA.reader, endA.writer, { name: 'B-seen-from-A', ...optionsA });
  const b = new RpcPeer(endB.reader, endB.writer, { name: 'A-seen-from-B', ...optionsB });
  return { a, b };
}

/** A peer connected to a raw end, so a test can send arbitrary JSON and see exactly what comes back. */
export function peerWithRawEnd(options: Partial<RpcPeerOptions> = {}) {
  const [endPeer, endRaw] = createMemoryTransportPair();
  const peer = new RpcPeer(endPeer.reader, endPeer.writer, { name: 'raw', ...options });
  const raw = new RawEnd(endRaw.reader, endRaw.writer);
  return { peer, raw, closeRaw: () => endRaw.close() };
}

export class RawEnd {
  readonly received: Array<Record<string, any>> = [];
  private waiters: Array<() => void> = [];
  constructor(reader: MessageReader, private readonly writer: MessageWriter) {
    reader.listen((m) => {
      this.received.push(m as Record<string, any>);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  send(message: unknown): void {
    void this.writer.write(message as Message);
  }
  /** Resolves with the first received message matching `pred` (already received or still to come). */
  async next(pred: (m: Record<string, any>) => boolean): Promise<Record<string, any>> {
    for (;;) {
      const found = this.received.find(pred);
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}
