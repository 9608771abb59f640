import { describe, expect, it } from 'vitest';
import { isAllowedHost, nextAttempt, resolveCallbackOptions } from '../../src/runs/callback-dispatcher.js';
import type { CallbackDelivery } from '../../src/statestore/callback-outbox.js';

const options = resolveCallbackOptions();
const delivery = (attempts: number): CallbackDelivery => ({ runId: 'r', deliveryId: 'd', target: { url: 'http://127.0.0.1/' }, attempts, dueSince: 0 });

describe('callback backoff', () => {
  it('waits 1 s after the first failed attempt, doubling up to 5 min', () => {
    const waits = [0, 1, 2, 3, 8, 9, 20].map((made) => nextAttempt(delivery(made), { delivered: false, statusCode: 500 }, 1_000_000, options).nextAttemptAt! - 1_000_000);
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 256_000, 300_000, 300_000]);
  });

  it('records a delivery with no next attempt, and gives up once the next attempt would start 24 h after the run ended', () => {
    expect(nextAttempt(delivery(0), { delivered: true, statusCode: 204 }, 5, options)).toEqual({ at: 5, delivered: true, statusCode: 204 });
    const late = 86_400_000 - 299_999;
    const last = nextAttempt(delivery(40), { delivered: false, error: 'ECONNREFUSED' }, late, options);
    expect(last.nextAttemptAt).toBeUndefined();
    expect(last.error).toBe('ECONNREFUSED; gave up after 41 attempts');
    expect(nextAttempt(delivery(40), { delivered: false, statusCode: 503 }, late - 1, options).nextAttemptAt).toBe(86_400_000);
  });

  it('takes its base from the options, checked once', () => {
    const fast = resolveCallbackOptions({ backoffMs: 50, maxBackoffMs: 200 });
    expect([0, 1, 2, 3].map((made) => nextAttempt(delivery(made), { delivered: false }, 0, fast).nextAttemptAt)).toEqual([50, 100, 200, 200]);
    expect(() => resolveCallbackOptions({ backoffMs: 0 })).toThrow(/callbacks\.backoffMs must be a positive integer/);
  });
});

describe('callback hosts', () => {
  it('allows any host without a list, else the hosts listed and the subdomains of *.domain, in any case', () => {
    expect(isAllowedHost('evil.example', undefined)).toBe(true);
    const allow = ['127.0.0.1', '*.hooks.example.com'];
    expect(isAllowedHost('127.0.0.1', allow)).toBe(true);
    expect(isAllowedHost('A.Hooks.Example.com', allow)).toBe(true);
    expect(isAllowedHost('hooks.example.com', allow)).toBe(false);
    expect(isAllowedHost('evilhooks.example.com', allow)).toBe(false);
    expect(isAllowedHost('localhost', allow)).toBe(false);
  });
});
