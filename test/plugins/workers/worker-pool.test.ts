import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import type { RuntimeApi } from '../../../src/api/runtime-api.js';
import type { ServerConnection } from '../../../src/plugins/stepflow/server-connection.js';
import { Worker } from '../../../src/plugins/workers/worker.js';
import { WorkerPool, type NoWorkerReason } from '../../../src/plugins/workers/worker-pool.js';
import { WorkerRegistry } from '../../../src/plugins/workers/worker-registry.js';

/**
 * Dispatch within one pool, on the pool itself: which worker a call gets, waiting for room, and
 * what a wait ends with. The sessions are stand-ins that are open (the end-to-end suites in
 * test/workers/ run real worker processes).
 */
const open = () => ({ isClosed: false }) as unknown as ServerConnection;
const worker = (id: string, capacity: number, components = ['/a']) =>
  new Worker(id, { pool: 'p', name: id, capacity, components: components.map((component) => ({ component })) }, open(), 'node-1');
const failWith = (reason: NoWorkerReason) => new Error(reason.kind === 'timeout' ? `waited ${reason.waitedMs}` : 'aborted');

describe('WorkerPool', () => {
  it('gives each call the least-loaded worker that serves its component, never above its capacity', () => {
    const pool = new WorkerPool('p');
    const small = worker('small', 1);
    const big = worker('big', 3);
    const other = worker('other', 5, ['/b']);
    for (const w of [small, big, other]) pool.add(w);
    const got = [1, 2, 3, 4].map(() => pool.acquire('/a', undefined, 1000, failWith));
    expect(got.slice(0, 4).map((w) => (w instanceof Worker ? w.id : 'waits'))).toEqual(['small', 'big', 'big', 'big']);
    expect([small.inFlight, big.inFlight, other.inFlight]).toEqual([1, 3, 0]);
    const fifth = pool.acquire('/a', undefined, 60_000, failWith);
    expect(fifth).toBeInstanceOf(Promise);
    void (fifth as Promise<Worker>).catch(() => undefined);
    pool.release(big, true);
    return expect(fifth).resolves.toBe(big);
  });

  it('matches component names with or without a leading slash, and sends the worker\'s spelling', () => {
    const w = worker('w', 1, ['bare', '/slashed']);
    expect(w.spellingOf('/bare')).toBe('bare');
    expect(w.spellingOf('bare')).toBe('bare');
    expect(w.spellingOf('slashed')).toBe('/slashed');
    expect(w.spellingOf('/other')).toBeUndefined();
  });

  it('serves waiting calls first come, first served, and skips a draining worker', async () => {
    const pool = new WorkerPool('p');
    const only = worker('only', 1);
    pool.add(only);
    pool.acquire('/a', undefined, 1000, failWith);
    const order: string[] = [];
    const first = (pool.acquire('/a', undefined, 60_000, failWith) as Promise<Worker>).then(() => order.push('first'));
    const second = (pool.acquire('/a', undefined, 60_000, failWith) as Promise<Worker>).then(() => order.push('second'));
    pool.release(only, true);
    await first;
    expect(order).toEqual(['first']);
    only.draining = true;
    pool.release(only, true);
    const late = worker('late', 1);
    pool.add(late);
    await second;
    expect(order).toEqual(['first', 'second']);
    expect(late.inFlight).toBe(1);
    expect(pool.stats()).toEqual({ pool: 'p', workers: 2, draining: 1, callsSucceeded: 2, callsFailed: 0 });
  });

  it('ends a wait after waitMs, or at once when the call is cancelled', async () => {
    const pool = new WorkerPool('p');
    await expect(pool.acquire('/a', undefined, 20, failWith)).rejects.toThrow('waited 20');
    const controller = new AbortController();
    const waiting = pool.acquire('/a', controller.signal, 60_000, failWith);
    controller.abort();
    await expect(waiting).rejects.toThrow('aborted');
  });
});

describe('WorkerRegistry.hasWorkersFor', () => {
  it('holds only when every pool named has a worker that is not draining', () => {
    const registry = new WorkerRegistry({ runtimeApi: {} as RuntimeApi, logger: silentLogger, node: 'node-1' });
    expect(registry.hasWorkersFor([])).toBe(true);
    const gpu = registry.register({ pool: 'gpu', name: 'g', capacity: 1, components: [{ component: '/x' }] }, open());
    registry.register({ pool: 'cpu', name: 'c', capacity: 1, components: [{ component: '/y' }] }, open());
    expect(registry.hasWorkersFor(['gpu', 'cpu'])).toBe(true);
    expect(registry.hasWorkersFor(['gpu', 'tpu'])).toBe(false);
    registry.drain(gpu);
    expect(registry.hasWorkersFor(['gpu'])).toBe(false);
    registry.unregister(gpu);
    expect(registry.list().map((w) => w.pool)).toEqual(['cpu']);
  });
});
