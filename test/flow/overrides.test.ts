import { describe, expect, it } from 'vitest';
import { OverridesSchema, RpcError, type Flow, type Overrides } from '../../protocol/index.js';
import { applyOverrides, mergePatch } from '../../src/flow/overrides.js';
import { validateFlow } from '../../src/flow/validate.js';
import { thrownBy } from '../support/errors.js';

const base = validateFlow({
  steps: [
    { id: 'a', component: '/c', input: { data: { $step: 'b' }, keep: 1 } },
    { id: 'b', component: '/c', input: { n: 1 } },
  ],
  output: { $step: 'a' },
}).flow as Flow;

const rpcError = (fn: () => unknown): RpcError => thrownBy(fn, RpcError);

describe('applyOverrides', () => {
  it('applies a merge patch (the default) to the step JSON; null removes a key', () => {
    const flow = applyOverrides(base, { a: { value: { component: '/other', input: { keep: null, extra: true } } } });
    expect(flow.steps[0]).toEqual({ id: 'a', component: '/other', input: { data: { $step: 'b' }, extra: true } });
  });

  it('replaces a reference with data through $literal, which takes precedence in the merged object', () => {
    const flow = applyOverrides(base, { a: { $type: 'merge_patch', value: { input: { data: { $literal: [1] } } } } });
    expect(flow.steps[0].input).toEqual({ data: { $step: 'b', $literal: [1] }, keep: 1 });
  });

  it('applies a JSON patch with paths relative to the step', () => {
    const flow = applyOverrides(base, {
      b: { $type: 'json_patch', value: [{ op: 'replace', path: '/input/n', value: 2 }, { op: 'add', path: '/mustExecute', value: true }] },
    });
    expect(flow.steps[1]).toEqual({ id: 'b', component: '/c', input: { n: 2 }, mustExecute: true });
  });

  it('takes the overrides of runs/submit as parsed by the protocol schema', () => {
    const overrides: Overrides = OverridesSchema.parse({ b: { value: { input: { n: 5 } } } });
    expect(applyOverrides(base, overrides).steps[1].input).toEqual({ n: 5 });
  });

  it('leaves the original flow untouched', () => {
    const before = structuredClone(base);
    applyOverrides(base, { a: { value: { input: { keep: 2 } } } });
    applyOverrides(base, { b: { $type: 'json_patch', value: [{ op: 'replace', path: '/input/n', value: 9 }] } });
    expect(base).toEqual(before);
  });

  it('refuses an override naming an unknown step with -32602', () => {
    const err = rpcError(() => applyOverrides(base, { ghost: { value: {} } }));
    expect(err.code).toBe(-32602);
    expect(err.message).toBe('override names unknown step "ghost"');
    expect(err.data).toEqual({ stepId: 'ghost' });
  });

  it('refuses a JSON patch that does not apply', () => {
    const err = rpcError(() => applyOverrides(base, { b: { $type: 'json_patch', value: [{ op: 'replace', path: '/nope/x', value: 1 }] } }));
    expect(err.code).toBe(-32602);
    expect(err.message).toMatch(/json_patch override for step "b" failed/);
  });

  it('validates the patched flow again', () => {
    const err = rpcError(() => applyOverrides(base, { b: { value: { input: { $step: 'a' } } } }));
    expect(err.code).toBe(-32602);
    expect(err.message).toMatch(/cycle/);
    expect(err.data).toMatchObject({ diagnostics: [expect.objectContaining({ level: 'error' })] });
  });
});

describe('mergePatch (RFC 7396)', () => {
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    ['string', { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('patches %j with %j into %j', (target, patch, expected) => {
    expect(mergePatch(target, patch)).toEqual(expected);
  });
});
