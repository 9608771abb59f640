import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ComponentsExecute, ErrorCodes, MAX_JSON_DEPTH, RequestMethod, RpcError, type FastPathCodec } from '../../protocol/index.js';
import { peerPair, peerWithRawEnd } from './fixtures.js';

const Params = z.object({ n: z.number() });
const Result = z.object({ doubled: z.number() });

/** A codec that records what the peer asked of it: takes `{n}` with n ≥ 0 itself, refuses n = 13, leaves the rest to the schema. */
function recordingCodec(seen: string[]): FastPathCodec<typeof Params, typeof Result> {
  return {
    writeParams: (params) => (seen.push(`write ${params.n}`), { n: params.n }),
    parseParams: (value) => {
      const n = (value as { n?: unknown }).n;
      seen.push(`params ${String(n)}`);
      return typeof n === 'number' && n >= 0 ? { n } : undefined;
    },
    parseResult: (value) => {
      const doubled = (value as { doubled?: unknown }).doubled;
      seen.push(`result ${String(doubled)}`);
      if (doubled === 26) throw new RpcError(ErrorCodes.InvalidValue, 'refused by the fast path');
      return typeof doubled === 'number' && doubled >= 0 ? { doubled } : undefined;
    },
  };
}

describe('RpcPeer and a descriptor fast path', () => {
  it('writes, parses params and parses results through the codec the descriptor carries, and the schema decides the rest', async () => {
    const seen: string[] = [];
    const Double = new RequestMethod('test/double', Params, Result, recordingCodec(seen));
    const { a, b } = peerPair();
    b.onRequest(Double, ({ n }) => ({ doubled: 2 * n }));
    a.listen();
    b.listen();
    await expect(a.sendRequest(Double, { n: 2 })).resolves.toEqual({ doubled: 4 });
    expect(seen).toEqual(['write 2', 'params 2', 'result 4']);
    seen.length = 0;
    // Not the usual shape: the schemas parse both ways (and accept negatives).
    await expect(a.sendRequest(Double, { n: -1 })).resolves.toEqual({ doubled: -2 });
    expect(seen).toEqual(['write -1', 'params -1', 'result -2']);
    seen.length = 0;
    const refused = await a.sendRequest(Double, { n: 13 }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: ErrorCodes.InvalidValue, message: 'refused by the fast path' });
    expect(seen).toEqual(['write 13', 'params 13', 'result 26']);
  });

  it('answers params the fast path leaves to the schema with -32602 naming the field', async () => {
    const seen: string[] = [];
    const Double = new RequestMethod('test/double', Params, Result, recordingCodec(seen));
    const { peer, raw } = peerWithRawEnd();
    peer.onRequest(Double, ({ n }) => ({ doubled: 2 * n }));
    peer.listen();
    raw.send({ jsonrpc: '2.0', id: 1, method: 'test/double', params: { n: 'two' } });
    const answer = await raw.next((m) => m.id === 1);
    expect(answer.error).toMatchObject({ code: ErrorCodes.InvalidParams, message: expect.stringContaining('field "n"') });
    expect(seen).toEqual(['params two']);
  });

  it('rejects a components/execute output nested too deeply, naming the field', async () => {
    let output: unknown = 1;
    for (let i = 0; i <= MAX_JSON_DEPTH; i++) output = [output];
    const { a, b } = peerPair();
    b.onRequest(ComponentsExecute, () => ({ output }));
    a.listen();
    b.listen();
    const error = await a.sendRequest(ComponentsExecute, { component: '/deep', input: null, attempt: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ code: ErrorCodes.InvalidValue, message: expect.stringContaining('field "output" of the components/execute result') });
  });
});
