import { existsSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ErrorCodes, type FlowResult } from '../../protocol/index.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { ComponentError } from '../../src/calls/component-error.js';
import type { ComponentCall } from '../../src/calls/plugin.js';
import { DEFAULT_CALL_TIMEOUT_MS, StepflowPlugin, type StepflowStdioPluginOptions } from '../../src/plugins/stepflow-plugin.js';
import { SWEEP_INTERVAL_MS } from '../../src/rpc/peer.js';
import { FakeRuntimeApi } from '../fixtures/fake-runtime-api.js';
import { captureLogger, LEVEL } from '../transport/capture-logger.js';

// A raw NDJSON server that misbehaves on purpose (see the fixture's header).
const MISBEHAVING = 'test/fixtures/misbehaving-server.mjs';

beforeAll(() => {
  if (!existsSync('dist/src/sdk/index.js')) throw new Error('dist/ is missing: run "npx tsc -p ." before these tests');
});

const plugins: StepflowPlugin[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(plugins.splice(0).map((p) => p.close()));
});

function plugin(options: Partial<StepflowStdioPluginOptions> & { logger?: Logger } = {}): StepflowPlugin {
  const p = new StepflowPlugin({
    name: 'tools',
    command: process.execPath,
    args: [MISBEHAVING],
    logger: silentLogger,
    runtimeApi: new FakeRuntimeApi(),
    ...options,
  });
  plugins.push(p);
  return p;
}

let nextItem = 0;
function call(component: string): ComponentCall {
  return { component, input: null, attempt: 1, scope: { runId: 'run-a', itemIndex: nextItem++, stepId: 'step-1', flowId: 'sha256:flow' } };
}

async function componentError(promise: Promise<unknown>): Promise<ComponentError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ComponentError);
  return error as ComponentError;
}

/** What the server saw: the components whose calls were cancelled, and any answer the runtime sent it. */
async function report(p: StepflowPlugin): Promise<{ cancelled: string[]; answersReceived: unknown[] }> {
  const result: FlowResult = await p.execute(call('/report'));
  return (result as { value: { cancelled: string[]; answersReceived: unknown[] } }).value;
}

describe('StepflowPlugin against a server whose answers never match its calls', () => {
  it.each(['/hang', '/wrong_id', '/string_id', '/huge', '/both', '/scalar'])(
    'ends a call to %s with -32006 and sends $/cancelRequest for it',
    async (component) => {
      const p = plugin({ timeoutMs: 500, maxMessageBytes: 64 * 1024 });
      await p.start();
      const error = await componentError(p.execute(call(component)));
      expect(error.error.code).toBe(ErrorCodes.Timeout);
      expect(error.error.message).toBe(`component "${component}" on plugin "tools" timed out after 500 ms`);
      // The cancel precedes the report request on the same connection.
      expect(await report(p)).toEqual({ cancelled: [component], answersReceived: [] });
    },
  );

  it('logs a response carrying both result and error, truncated, and never answers it', async () => {
    const { logger, records } = captureLogger();
    const p = plugin({ timeoutMs: 500, logger });
    await p.start();
    await componentError(p.execute(call('/both')));
    expect((await report(p)).answersReceived).toEqual([]);
    const dropped = records.filter((r) => r.level === LEVEL.warn && r.msg === 'tools: dropped an invalid message');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.reason).toBe('Invalid request: a response must carry exactly one of "result" and "error"');
    expect(dropped[0]!.message).toMatch(/^\{"jsonrpc":"2\.0","id":\d+,"result":\{…\},"error":\{…\}\}$/);
  });

  it('ends a hung call after the default timeout of 5 minutes, never before', async () => {
    // Long timeouts are checked by the peer's sweep (setInterval): drive it by hand.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const p = plugin();
    await p.start();
    let settled = false;
    const pending = componentError(p.execute(call('/hang'))).finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(DEFAULT_CALL_TIMEOUT_MS - SWEEP_INTERVAL_MS);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(3 * SWEEP_INTERVAL_MS);
    const error = await pending;
    expect(error.error.code).toBe(ErrorCodes.Timeout);
    expect(error.error.message).toContain(`timed out after ${DEFAULT_CALL_TIMEOUT_MS} ms`);
    expect(await report(p)).toEqual({ cancelled: ['/hang'], answersReceived: [] });
  });
});

describe('StepflowPlugin against a server that dies after 364 KB of stderr', () => {
  it('gives every lost call a brief excerpt (the first error line and the last lines) and logs the tail once', async () => {
    const { logger, records } = captureLogger();
    const p = plugin({ logger });
    await p.start();
    const lost = Array.from({ length: 20 }, () => componentError(p.execute(call('/hang'))));
    lost.push(componentError(p.execute(call('/chatty_crash'))));
    const errors = await Promise.all(lost);
    const filler = 'x'.repeat(99);
    for (const error of errors) {
      expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
      expect(error.error.message).toContain('stderr: Error: the chatty server broke | ');
      expect((error.error.data as { stderr: string[] }).stderr).toEqual(['Error: the chatty server broke', filler, filler, 'last words']);
      expect(JSON.stringify(error.error).length).toBeLessThan(2048);
    }
    const incidents = records.filter((r) => r.level === LEVEL.warn && r.msg === 'component server "tools" exited (code 1)');
    expect(incidents).toHaveLength(1);
    const tail = incidents[0]!.stderrTail as string[];
    expect(tail.at(-1)).toBe('last words');
    expect(tail.join('\n').length).toBeLessThanOrEqual(4096 + tail.length);
  });
});
