import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ComponentsExecute, ComponentsList, ErrorCodes, RpcError } from '../../protocol/index.js';
import { RequestCancelledError } from '../../src/errors.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { RpcPeer } from '../../src/rpc/peer.js';
import { createComponentServer, defineComponent, type Component, type ComponentContext } from '../../src/sdk/index.js';
import { createMemoryTransportPair } from '../../src/transport/memory-pair.js';
import { deferred } from '../support/deferred.js';

const peers: RpcPeer[] = [];
afterEach(() => {
  for (const peer of peers.splice(0)) peer.close();
});

/** A server with `components` and the runtime's peer talking to it in memory. */
function connect(components: Component<any, any>[], logger: Logger = silentLogger): RpcPeer {
  const [serverEnd, runtimeEnd] = createMemoryTransportPair();
  const connection = createComponentServer({ name: 'ctx-test', components, logger }).serve(serverEnd.reader, serverEnd.writer);
  const runtime = new RpcPeer(runtimeEnd.reader, runtimeEnd.writer, { name: 'runtime' });
  runtime.listen();
  peers.push(runtime, connection.peer);
  return runtime;
}

describe('component execution context', () => {
  it('answers -32004 when a synchronous handler throws', async () => {
    const boom = defineComponent({
      name: '/boom',
      handler: () => {
        throw new Error('sync failure');
      },
    });
    const runtime = connect([boom]);
    const error = await runtime.sendRequest(ComponentsExecute, { component: '/boom', input: null, attempt: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe(ErrorCodes.ComponentExecutionFailed);
    expect((error as RpcError).message).toBe('Component execution failed: sync failure');
  });

  it('gives a handler that reads ctx.signal only after the cancel arrived an aborted signal', async () => {
    const release = deferred<void>();
    const started = deferred<ComponentContext>();
    const seen = deferred<boolean>();
    const late = defineComponent({
      name: '/late',
      handler: async (_input, ctx) => {
        started.resolve(ctx);
        await release.promise;
        seen.resolve(ctx.signal.aborted);
        return null;
      },
    });
    const runtime = connect([late]);
    const controller = new AbortController();
    const call = runtime.sendRequest(ComponentsExecute, { component: '/late', input: null, attempt: 1 }, { signal: controller.signal });
    await started.promise;
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(RequestCancelledError);
    // Messages are delivered in order: once this answer is back, the server has seen $/cancelRequest.
    await runtime.sendRequest(ComponentsList, {});
    release.resolve();
    await expect(seen.promise).resolves.toBe(true);
  });

  it('logs through a child logger naming the component, run and step', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const chatty = defineComponent({
      name: '/chatty',
      handler: (_input, ctx) => {
        ctx.logger.info('working');
        return ctx.logger === ctx.logger;
      },
    });
    const runtime = connect([chatty], pino({ level: 'info' }, sink));
    const observability = { run_id: 'r1', step_id: 's1' };
    await expect(runtime.sendRequest(ComponentsExecute, { component: '/chatty', input: null, attempt: 1, observability })).resolves.toEqual({
      output: true,
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(lines.find((line) => line.msg === 'working')).toMatchObject({ component: '/chatty', run_id: 'r1', step_id: 's1' });
  });
});
