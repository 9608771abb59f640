import { describe, expect, it } from 'vitest';
import type { Flow } from '../../protocol/index.js';
import { FlowLoadError } from '../../src/errors.js';
import { compileFlow } from '../../src/flow/compile.js';

const compile = (flow: unknown) => compileFlow(flow as Flow);

describe('compileFlow', () => {
  it('links step references to step indices and lists each step\'s dependencies', () => {
    const flow = compile({
      name: 'linked',
      steps: [
        { id: 'a', component: '/c', input: { $step: 'b' } },
        { id: 'b', component: '/c', skipIf: { $input: 'x' } },
        { id: 'c', component: '/c', input: { $if: { $step: 'a' }, then: { $step: 'b' } } },
      ],
      output: { $step: 'c', path: 'out' },
    });
    expect(flow.name).toBe('linked');
    expect(flow.output).toMatchObject({ kind: 'step', stepId: 'c', index: 2 });
    expect(flow.steps[0].input).toMatchObject({ kind: 'step', index: 1 });
    expect(flow.steps.map((s) => [...s.dependencies].sort())).toEqual([[1], [], [0, 1]]);
    expect(flow.stepIndex.get('b')).toBe(1);
  });

  it('fills in onError defaults', () => {
    const flow = compile({
      steps: [
        { id: 'a', component: '/c' },
        { id: 'b', component: '/c', onError: null },
        { id: 'c', component: '/c', onError: { action: 'retry' } },
        { id: 'd', component: '/c', onError: { action: 'retry', maxRetries: 0, backoffMs: 5 } },
        { id: 'e', component: '/c', onError: { action: 'useDefault' } },
        { id: 'f', component: '/c', onError: { action: 'useDefault', defaultValue: { x: 1 } } },
        { id: 'g', component: '/c', onError: { action: 'skip' } },
      ],
      output: [{ $step: 'a' }, { $step: 'b' }, { $step: 'c' }, { $step: 'd' }, { $step: 'e' }, { $step: 'f' }, { $step: 'g' }],
    });
    expect(flow.steps.map((s) => s.onError)).toEqual([
      { action: 'fail' },
      { action: 'fail' },
      { action: 'retry', maxRetries: 3, backoffMs: 100 },
      { action: 'retry', maxRetries: 0, backoffMs: 5 },
      { action: 'useDefault', result: { outcome: 'success', value: null } },
      { action: 'useDefault', result: { outcome: 'success', value: { x: 1 } } },
      { action: 'skip' },
    ]);
  });

  it('lists the mustExecute steps in flow order', () => {
    const flow = compile({
      steps: [
        { id: 'a', component: '/c', mustExecute: true },
        { id: 'b', component: '/c', mustExecute: false },
        { id: 'c', component: '/c', mustExecute: true },
      ],
    });
    expect(flow.mustExecute).toEqual([0, 2]);
  });

  it('collects variable defaults from the nested and the flat variables schema', () => {
    const nested = compile({ schemas: { properties: { variables: { properties: { a: { default: 1 }, b: { type: 'string' } } } } } });
    expect([...nested.variableDefaults]).toEqual([['a', 1]]);
    const flat = compile({ schemas: { variables: { properties: { c: { default: 'x' } } } } });
    expect([...flat.variableDefaults]).toEqual([['c', 'x']]);
  });

  it('compiles an absent output to the constant null', () => {
    expect(compile({ steps: [] }).output).toMatchObject({ kind: 'const', value: null });
  });

  it('throws FlowLoadError carrying the diagnostics of an invalid flow', () => {
    let error: unknown;
    try {
      compile({ steps: [{ id: 'a', component: '/c', input: { $step: 'a' } }], output: { $step: 'a' } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FlowLoadError);
    expect((error as FlowLoadError).message).toBe('invalid flow: step "a", field "steps[0].input.$step": step "a" references itself');
    expect((error as FlowLoadError).diagnostics).toEqual([expect.objectContaining({ stepId: 'a', field: 'steps[0].input.$step' })]);
  });

  it('keeps warnings on the compiled flow', () => {
    expect(compile({ steps: [{ id: 'lonely', component: '/c' }] }).diagnostics).toEqual([
      expect.objectContaining({ level: 'warning', stepId: 'lonely' }),
    ]);
  });
});
