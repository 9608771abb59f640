import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExecuteRequestParams, RequestEnvelope, ResultEnvelope, messageJson } from '../../protocol/wire-json.js';
import type { Observability } from '../../protocol/index.js';

/** What the hand-made text must equal: JSON.stringify of the plain message. */
function plainRequest(id: number, method: string, component: string, input: unknown, attempt: number, observability?: Observability) {
  const params: Record<string, unknown> = { component, input, attempt };
  if (observability !== undefined) params.observability = observability;
  return JSON.stringify({ jsonrpc: '2.0', id, method, params });
}

const observabilityArb = fc.option(
  fc.record({ run_id: fc.uuid(), flow_id: fc.string(), step_id: fc.string() }, { requiredKeys: ['run_id'] }),
  { nil: undefined },
);

describe('hand-made JSON text of messages (protocol/wire-json.ts)', () => {
  it('writes an execute request exactly as JSON.stringify would, whatever the input and ids', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.constantFrom('components/execute', 'other/method'),
        fc.constantFrom('/echo', '/a"b', '/é\u2028'),
        fc.jsonValue(),
        fc.integer({ min: 1, max: 5 }),
        observabilityArb,
        fc.boolean(),
        (id, method, component, input, attempt, observability, frozen) => {
          const obs = observability && frozen ? Object.freeze({ ...observability }) : observability;
          const text = messageJson(new RequestEnvelope(id, method, new ExecuteRequestParams(component, input, attempt, obs)));
          expect(text).toBe(plainRequest(id, method, component, input, attempt, obs));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('does not reuse the text around the input for another step, attempt or run', () => {
    const a = Object.freeze({ run_id: 'r1', flow_id: 'f', step_id: 's1' });
    const b = Object.freeze({ run_id: 'r1', flow_id: 'f', step_id: 's2' });
    const calls: Array<[string, number, Observability | undefined]> = [
      ['/echo', 1, a], ['/echo', 1, a], ['/echo', 2, a], ['/other', 2, a], ['/other', 2, b], ['/other', 2, undefined], ['/echo', 1, a],
    ];
    calls.forEach(([component, attempt, obs], i) => {
      const text = messageJson(new RequestEnvelope(i + 1, 'components/execute', new ExecuteRequestParams(component, { i }, attempt, obs)));
      expect(text).toBe(plainRequest(i + 1, 'components/execute', component, { i }, attempt, obs));
    });
  });

  it('writes an observability object that changed since the last request as it is now', () => {
    const obs: Observability = { run_id: 'r1', step_id: 's' };
    const request = (id: number) => messageJson(new RequestEnvelope(id, 'components/execute', new ExecuteRequestParams('/echo', 1, 1, obs)));
    expect(request(1)).toBe(plainRequest(1, 'components/execute', '/echo', 1, 1, obs));
    obs.run_id = 'r2';
    expect(request(2)).toBe(plainRequest(2, 'components/execute', '/echo', 1, 1, obs));
  });

  it('leaves out an input JSON cannot write, as JSON.stringify does', () => {
    const text = messageJson(new RequestEnvelope(3, 'components/execute', new ExecuteRequestParams('/echo', undefined, 1, undefined)));
    expect(text).toBe(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'components/execute', params: { component: '/echo', attempt: 1 } }));
  });

  it('writes a result exactly as JSON.stringify would', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.string()), fc.jsonValue(), (id, result) => {
        expect(messageJson(new ResultEnvelope(id, result))).toBe(JSON.stringify({ jsonrpc: '2.0', id, result }));
      }),
      { numRuns: 200 },
    );
  });
});
