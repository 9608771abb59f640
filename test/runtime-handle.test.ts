import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../blobstore/memory.js';
import { ErrorCodes, RpcError, RunsGet } from '../protocol/index.js';
import { InProcessCaller } from '../src/api/in-process-caller.js';
import { RunHandle } from '../src/client/run-handle.js';
import { RunNotFoundError } from '../src/client/client-errors.js';
import { parseConfig } from '../src/config/index.js';
import { RequestCancelledError, RequestTimeoutError } from '../src/errors.js';
import { Runtime } from '../src/runtime.js';
import { fixturePath, ROOT } from './support/paths.js';

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

/** A runtime routing `/s/*` to the stdio test server (`/s/echo`, `/s/slow` that runs until cancelled). */
async function embedded(): Promise<Runtime> {
  const config = parseConfig(
    { plugins: { s: { type: 'stepflow', command: process.execPath, args: [fixturePath('stepflow-test-server.mjs')] } }, routes: { '/s/{*component}': [{ plugin: 's' }] } },
    { workingDirectory: ROOT, env: process.env },
  );
  runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore() });
  return runtime;
}

const oneStep = (component: string) => ({ steps: [{ id: 'a', component, input: { $input: '$' } }], output: { $step: 'a' } });

describe('Runtime.submit: the client\'s RunHandle over the embedded runtime', () => {
  it('submits with the protocol\'s defaults and reads the run through the handle', async () => {
    const rt = await embedded();
    const run = await rt.submit({ flow: oneStep('/s/echo'), inputs: ['a', 'b', 'c'] });
    expect(run).toBeInstanceOf(RunHandle);
    expect(run.submitted).toMatchObject({ runId: run.runId, items: { total: 3 } });
    expect(await run.result()).toEqual([
      { outcome: 'success', value: 'a' },
      { outcome: 'success', value: 'b' },
      { outcome: 'success', value: 'c' },
    ]);
    expect(await run.status()).toMatchObject({ runId: run.runId, status: 'success', items: { total: 3, success: 3 } });
    const page = await run.results({ offset: 1, limit: 1 });
    expect(page).toEqual({ results: [expect.objectContaining({ itemIndex: 1, result: { outcome: 'success', value: 'b' } })], nextOffset: 2 });
    expect((await rt.run(run.runId).itemResults()).map((item) => item.itemIndex)).toEqual([0, 1, 2]);
    expect(await rt.runs.get({ runId: run.runId, wait: false, includeResults: false, resultOrder: 'byIndex', offset: 0 })).toMatchObject({ status: 'success' });
  });

  it('with wait, the handle holds the terminal status and every result', async () => {
    const rt = await embedded();
    const run = await rt.submit({ flow: oneStep('/s/echo'), inputs: [1, 2], wait: true });
    expect(run.submitted).toMatchObject({ status: 'success', items: { success: 2 } });
    expect(run.submitted?.results?.map((item) => item.result)).toEqual([
      { outcome: 'success', value: 1 },
      { outcome: 'success', value: 2 },
    ]);
  });

  it('cancels a running run through the handle; waits end with the cancelled status', async () => {
    const rt = await embedded();
    const run = await rt.submit({ flow: oneStep('/s/slow'), inputs: [{ tag: 'x' }] });
    const waiting = run.wait();
    expect((await run.cancel()).runId).toBe(run.runId);
    expect(await waiting).toMatchObject({ status: 'cancelled' });
    expect((await run.result())[0]).toMatchObject({ outcome: 'failed' });
  });

  it('a wait abandoned by its signal or its request timeout rejects as a connection\'s would; the run goes on', async () => {
    const rt = await embedded();
    const run = await rt.submit({ flow: oneStep('/s/slow'), inputs: [{ tag: 'y' }] });
    const controller = new AbortController();
    const aborted = run.wait({ signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    expect(await aborted).toBeInstanceOf(RequestCancelledError);
    // A long poll on a run that never ends, bounded by the request's timeoutMs.
    const caller = new InProcessCaller(rt.service);
    const timedOut = await caller.sendRequest(RunsGet, { runId: run.runId, wait: true }, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(RequestTimeoutError);
    expect(timedOut).toMatchObject({ method: 'runs/get', timeoutMs: 50 });
    await expect(caller.sendRequest(RunsGet, { runId: run.runId }, { timeoutMs: 0 })).rejects.toThrow('runs/get: timeoutMs must be a positive integer');
    expect(await run.status()).toMatchObject({ status: 'running' });
    await run.cancel();
  });

  it('an unknown run rejects with RunNotFoundError carrying its runId; bad params name the field', async () => {
    const rt = await embedded();
    const err = await rt.run('no-such-run').status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunNotFoundError);
    expect(err).toMatchObject({ runId: 'no-such-run', code: ErrorCodes.NotFound });
    const bad = await rt.submit({ flow: oneStep('/s/echo'), inputs: [1], maxConcurrency: 0 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(RpcError);
    expect(bad).toMatchObject({ code: ErrorCodes.InvalidParams, message: expect.stringContaining('maxConcurrency') });
  });

  it('refuses a flow with a step no route takes before it runs, as over the wire', async () => {
    const rt = await embedded();
    const err = await rt.submit({ flow: oneStep('/nowhere/x'), inputs: [1] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCodes.InvalidParams, message: expect.stringContaining('/nowhere/x') });
    expect((await rt.runs.list({ limit: 10 })).runs).toEqual([]);
  });
});

describe('Runtime.watch: a run of this process, item by item', () => {
  it('tells each settled item, its status and result, the counts, and the end', async () => {
    const rt = await embedded();
    const run = await rt.submit({ flow: oneStep('/s/echo'), inputs: ['a', 'b'] });
    const live = rt.watch(run.runId)!;
    expect(live.runId).toBe(run.runId);
    expect(live.total).toBe(2);
    let settled = 0;
    const subscription = live.onItemSettled(() => settled++);
    await live.finished();
    subscription.dispose();
    expect(settled).toBe(2);
    expect(live.counts).toMatchObject({ total: 2, success: 2 });
    expect([live.itemStatus(0), live.itemStatus(1)]).toEqual(['success', 'success']);
    expect(live.results({ offset: 1 }).map((item) => item.result)).toEqual([{ outcome: 'success', value: 'b' }]);
    expect(rt.watch('no-such-run')).toBeUndefined();
  });

  it('cancels the run it watches', async () => {
    const rt = await embedded();
    const run = await rt.submit({ flow: oneStep('/s/slow'), inputs: [{ tag: 'z' }] });
    const live = rt.watch(run.runId)!;
    await live.cancel();
    await live.finished();
    expect(live.counts).toMatchObject({ cancelled: 1 });
  });
});
