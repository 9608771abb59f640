import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BlobNotFoundError,
  connect,
  ErrorCodes,
  FlowNotFoundError,
  RpcError,
  RunLimitError,
  RunNotFoundError,
  type FlowrunClient,
} from '../../src/client/index.js';
import type { RuntimeServer } from '../../src/serve/ws-server.js';
import { cleanupAfterEach } from '../support/cleanups.js';
import { startGate } from '../support/gate.js';
import { ECHO_FLOW, GATE_FLOW } from '../support/workspace.js';
import { startServedRuntime, type ServedRuntime } from '../support/served-runtime.js';

let served: ServedRuntime;
let server: RuntimeServer;

beforeAll(async () => {
  served = await startServedRuntime((config) => ({ ...config, limits: { ...config.limits, maxLiveRuns: 1 } }));
  ({ server } = served);
});
const cleanups = cleanupAfterEach();
afterAll(() => served.close());

async function client(): Promise<FlowrunClient> {
  const c = await connect(server.url);
  cleanups.push(() => c.close());
  return c;
}

const MISSING_BLOB = `sha256:${'0'.repeat(64)}`;

describe('named client errors', () => {
  it('a run that does not exist rejects status and cancel with RunNotFoundError carrying its runId', async () => {
    const c = await client();
    for (const call of [() => c.run('no-such-run').status(), () => c.run('no-such-run').cancel()]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RunNotFoundError);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ name: 'RunNotFoundError', runId: 'no-such-run', code: ErrorCodes.NotFound, data: { runId: 'no-such-run' } });
    }
  });

  it('a missing blob rejects getBlob with BlobNotFoundError carrying its blobId', async () => {
    const c = await client();
    const err = await c.getBlob(MISSING_BLOB).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobNotFoundError);
    expect(err).toMatchObject({ name: 'BlobNotFoundError', blobId: MISSING_BLOB, code: ErrorCodes.BlobNotFound });
  });

  it('a submit by an unknown flowId rejects with FlowNotFoundError carrying the flowId', async () => {
    const c = await client();
    const err = await c.submit({ flowId: MISSING_BLOB, inputs: [1] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlowNotFoundError);
    expect(err).toMatchObject({ flowId: MISSING_BLOB, code: ErrorCodes.NotFound });
  });

  it('a run over maxLiveRuns is refused with RunLimitError, and other errors stay plain RpcErrors', async () => {
    const c = await client();
    const gate = await startGate();
    cleanups.push(() => gate.close());
    const live = await c.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }] });
    await gate.arrived(1);
    const refused = await c.submit({ flow: ECHO_FLOW, inputs: ['x'] }).catch((e: unknown) => e);
    await live.cancel();
    expect(refused).toBeInstanceOf(RunLimitError);
    expect(refused).toMatchObject({ code: ErrorCodes.TooManyRequests, data: { limit: 'maxLiveRuns', max: 1 } });
    const plain = await c.submit({ flow: { steps: [] }, inputs: [], overrides: { ghost: { value: {} } } }).catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(RpcError);
    expect((plain as Error).constructor).toBe(RpcError);
  });
});
