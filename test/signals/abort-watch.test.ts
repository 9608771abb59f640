import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onAbort, unwatchAbort, watchAbort, type AbortWaiter } from '../../src/signals/abort-watch.js';

/** A waiter that records what it was told. */
function waiter(told: string[], name: string): AbortWaiter {
  return { abortWatch: undefined, prev: undefined, next: undefined, aborted: (reason) => told.push(`${name}: ${String(reason)}`) };
}

describe('watchAbort', () => {
  it('keeps one abort listener however many wait, and tells each waiter still waiting once, with the reason', () => {
    const controller = new AbortController();
    const told: string[] = [];
    const waiters = Array.from({ length: 1000 }, (_, i) => waiter(told, `w${i}`));
    for (const w of waiters) watchAbort(controller.signal, w);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    for (const w of waiters.slice(2)) unwatchAbort(w);
    controller.abort('stop');
    expect(told.sort()).toEqual(['w0: stop', 'w1: stop']);
    expect(waiters.every((w) => w.abortWatch === undefined)).toBe(true);
  });

  it('tells the waiters in the order they began to wait, so a run\'s own flag is set before its items hear', () => {
    const controller = new AbortController();
    const told: string[] = [];
    for (const name of ['run flag', 'item 0', 'item 1', 'item 2']) watchAbort(controller.signal, waiter(told, name));
    controller.abort('x');
    expect(told).toEqual(['run flag: x', 'item 0: x', 'item 1: x', 'item 2: x']);
  });

  it('removes the listener when the last waiter leaves, and adds one again for the next', () => {
    const controller = new AbortController();
    const told: string[] = [];
    const a = waiter(told, 'a');
    watchAbort(controller.signal, a);
    unwatchAbort(a);
    unwatchAbort(a); // leaving twice changes nothing
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const b = waiter(told, 'b');
    watchAbort(controller.signal, b);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort('late');
    expect(told).toEqual(['b: late']);
  });

  it('keeps the waiters of different signals apart', () => {
    const first = new AbortController();
    const second = new AbortController();
    const told: string[] = [];
    watchAbort(first.signal, waiter(told, 'first'));
    watchAbort(second.signal, waiter(told, 'second'));
    watchAbort(first.signal, waiter(told, 'first again'));
    second.abort('two');
    expect(told).toEqual(['second: two']);
    first.abort('one');
    expect(told.slice(1).sort()).toEqual(['first again: one', 'first: one']);
  });
});

describe('onAbort', () => {
  it('calls back once on abort, and never after its disposable is disposed', () => {
    const controller = new AbortController();
    const told: unknown[] = [];
    onAbort(controller.signal, (reason) => told.push(reason));
    onAbort(controller.signal, () => told.push('disposed one')).dispose();
    controller.abort('why');
    expect(told).toEqual(['why']);
  });
});
