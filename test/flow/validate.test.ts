import { describe, expect, it } from 'vitest';
import { validateFlow, type Diagnostic } from '../../src/flow/validate.js';

const SCHEMA = 'https://stepflow.org/schemas/v1/flow.json';
const errors = (flow: unknown): Diagnostic[] => validateFlow(flow).diagnostics.filter((d) => d.level === 'error');
const warnings = (flow: unknown): Diagnostic[] => validateFlow(flow).diagnostics.filter((d) => d.level === 'warning');

describe('validateFlow', () => {
  it('accepts a valid flow and returns it parsed', () => {
    const result = validateFlow({
      schema: SCHEMA,
      steps: [{ id: 'a', component: '/c', input: { $input: 'x' } }],
      output: { $step: 'a' },
    });
    expect(result.diagnostics).toEqual([]);
    expect(result.flow?.steps[0].id).toBe('a');
  });

  it('allows a step to reference a step defined after it', () => {
    const result = validateFlow({
      steps: [{ id: 'late', component: '/c', input: { $step: 'early' } }, { id: 'early', component: '/c' }],
      output: { $step: 'late' },
    });
    expect(result.diagnostics).toEqual([]);
    expect(result.flow).toBeDefined();
  });

  it('refuses a value that is not an object', () => {
    expect(errors([1, 2])).toEqual([{ level: 'error', field: '(root)', message: 'a flow must be an object' }]);
  });

  it('names the step and field of a structural error', () => {
    const found = errors({ steps: [{ id: 'a', component: 5 }] });
    expect(found).toEqual([expect.objectContaining({ stepId: 'a', field: 'steps[0].component' })]);
    expect(validateFlow({ steps: [{ id: 'a', component: 5 }] }).flow).toBeUndefined();
  });

  it('refuses a schema other than the v1 URL', () => {
    expect(errors({ schema: 'https://example.com/v2', steps: [] })).toEqual([expect.objectContaining({ field: 'schema' })]);
  });

  it('refuses a bad onError', () => {
    const found = errors({ steps: [{ id: 'a', component: '/c', onError: { action: 'explode' } }], output: { $step: 'a' } });
    expect(found).toEqual([expect.objectContaining({ stepId: 'a', field: 'steps[0].onError.action' })]);
    const negative = errors({ steps: [{ id: 'a', component: '/c', onError: { action: 'retry', maxRetries: -1 } }], output: { $step: 'a' } });
    expect(negative).toEqual([expect.objectContaining({ stepId: 'a', field: 'steps[0].onError.maxRetries' })]);
  });

  it('refuses duplicate step ids, naming both places', () => {
    const found = errors({ steps: [{ id: 'a', component: '/c' }, { id: 'a', component: '/c' }], output: { $step: 'a' } });
    expect(found).toEqual([{ level: 'error', stepId: 'a', field: 'steps[1].id', message: 'duplicate step id "a" (also steps[0])' }]);
  });

  it('refuses an empty step id', () => {
    expect(errors({ steps: [{ id: '', component: '/c' }] })).toEqual([
      { level: 'error', stepId: '', field: 'steps[0].id', message: 'a step id must not be empty' },
    ]);
  });

  it('refuses a component that does not start with "/"', () => {
    expect(errors({ steps: [{ id: 'a', component: 'mock/x' }], output: { $step: 'a' } })).toEqual([
      expect.objectContaining({ stepId: 'a', field: 'steps[0].component', message: expect.stringContaining('must start with "/"') }),
    ]);
  });

  it('refuses a $step naming an unknown step, in a step and in the output', () => {
    const found = errors({
      steps: [{ id: 'a', component: '/c', input: { x: { $step: 'ghost' } } }],
      output: { y: { $step: 'phantom' } },
    });
    expect(found).toEqual([
      { level: 'error', stepId: 'a', field: 'steps[0].input.x.$step', message: '"$step" names unknown step "ghost"' },
      { level: 'error', field: 'output.y.$step', message: '"$step" names unknown step "phantom"' },
    ]);
  });

  it('refuses a step referencing itself', () => {
    expect(errors({ steps: [{ id: 'a', component: '/c', input: { $step: 'a' } }], output: { $step: 'a' } })).toEqual([
      { level: 'error', stepId: 'a', field: 'steps[0].input.$step', message: 'step "a" references itself' },
    ]);
  });

  it('refuses a cycle and names the steps on it', () => {
    const found = errors({
      steps: [
        { id: 'a', component: '/c', input: { $step: 'c' } },
        { id: 'b', component: '/c', input: { $step: 'a' } },
        { id: 'c', component: '/c', skipIf: { $step: 'b' } },
      ],
      output: { $step: 'a' },
    });
    expect(found).toHaveLength(1);
    expect(found[0].message).toBe('cycle between steps "a" → "c" → "b" → "a"');
    expect(found[0]).toMatchObject({ stepId: 'b', field: 'steps[1].input.$step' });
  });

  it('refuses a cycle hidden in an untaken $if branch', () => {
    const found = errors({
      steps: [
        { id: 'a', component: '/c', input: { $if: false, then: { $step: 'b' } } },
        { id: 'b', component: '/c', input: { $step: 'a' } },
      ],
      output: { $step: 'a' },
    });
    expect(found.map((d) => d.message)).toEqual([expect.stringContaining('cycle')]);
  });

  it.each([
    [{ $step: 7 }, 'steps[0].input.x.$step'],
    [{ $if: true }, 'steps[0].input.x.then'],
    [{ $coalesce: {} }, 'steps[0].input.x.$coalesce'],
    [{ $input: '$[abc]' }, 'steps[0].input.x.$input'],
    [{ $step: 'b', path: '$.a[0' }, 'steps[0].input.x.path'],
  ])('refuses the malformed expression %j, naming step and field', (expr, field) => {
    const found = errors({ steps: [{ id: 'a', component: '/c', input: { x: expr } }, { id: 'b', component: '/c' }], output: { $step: 'a' } });
    expect(found).toEqual([expect.objectContaining({ stepId: 'a', field })]);
  });

  it('reports malformed skipIf and output expressions at their field', () => {
    expect(errors({ steps: [{ id: 'a', component: '/c', skipIf: { $coalesce: 1 } }], output: { $if: 1 } })).toEqual([
      expect.objectContaining({ stepId: 'a', field: 'steps[0].skipIf.$coalesce' }),
      expect.objectContaining({ field: 'output.then' }),
    ]);
  });

  it('warns about unknown top-level and step keys and ignores them', () => {
    const result = validateFlow({
      colour: 'blue',
      steps: [{ id: 'a', component: '/c', shade: null }],
      output: { $step: 'a' },
    });
    expect(result.flow).toBeDefined();
    expect(result.diagnostics).toEqual([
      { level: 'warning', field: 'colour', message: 'unknown key "colour" is ignored' },
      { level: 'warning', stepId: 'a', field: 'steps[0].shade', message: 'unknown step key "shade" is ignored' },
    ]);
  });

  it('warns about steps that can never run', () => {
    const found = warnings({
      steps: [
        { id: 'used', component: '/c', input: { $step: 'dep' } },
        { id: 'dep', component: '/c' },
        { id: 'forced', component: '/c', mustExecute: true, input: { $step: 'forcedDep' } },
        { id: 'forcedDep', component: '/c' },
        { id: 'orphan', component: '/c' },
      ],
      output: { $step: 'used' },
    });
    expect(found).toEqual([expect.objectContaining({ stepId: 'orphan', field: 'steps[4]', message: expect.stringContaining('unreachable') })]);
  });
});
