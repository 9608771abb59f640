import { describe, expect, it } from 'vitest';
import { compileExpression, stepDependencies } from '../../src/flow/expressions.js';

const compile = (value: unknown) => compileExpression(value, 'output');

describe('compileExpression', () => {
  it('compiles JSON without expressions to one frozen constant', () => {
    const source = { a: [1, { b: 'c' }], d: null };
    const { expr, issues } = compile(source);
    expect(issues).toEqual([]);
    expect(expr).toMatchObject({ kind: 'const', value: source });
    if (expr.kind !== 'const') throw new Error('expected a constant');
    expect(Object.isFrozen(expr.value)).toBe(true);
    expect(Object.isFrozen(source)).toBe(false);
  });

  it('keeps the constant parts of an object next to its expressions', () => {
    const { expr } = compile({ fixed: { x: 1 }, dynamic: { $input: 'x' } });
    expect(expr).toMatchObject({
      kind: 'object',
      keys: ['fixed', 'dynamic'],
      values: [{ kind: 'const', value: { x: 1 } }, { kind: 'input' }],
    });
  });

  it('compiles $literal to a constant, taking precedence over every other key', () => {
    expect(compile({ $literal: { $step: 'x' }, $if: true, then: 1 }).expr).toMatchObject({ kind: 'const', value: { $step: 'x' } });
  });

  it('reads each expression form', () => {
    expect(compile({ $input: 'a.b' }).expr).toMatchObject({ kind: 'input', path: { segments: ['a', 'b'] } });
    expect(compile({ $step: 's', path: '$.x[0]' }).expr).toMatchObject({ kind: 'step', stepId: 's', path: { segments: ['x', 0] } });
    expect(compile({ $variable: 'cfg.k', default: 1 }).expr).toMatchObject({ kind: 'variable', name: 'cfg', rest: { segments: ['k'] }, fallback: { kind: 'const', value: 1 } });
    expect(compile({ $if: { $input: 'c' }, then: 1 }).expr).toMatchObject({ kind: 'if', otherwise: { kind: 'const', value: null } });
    expect(compile({ $coalesce: [null, { $input: 'x' }] }).expr).toMatchObject({ kind: 'coalesce' });
    expect(compile({ $from: { step: 's' }, path: 'x' }).expr).toMatchObject({ kind: 'step', stepId: 's', path: { segments: ['x'] } });
    expect(compile({ $from: { workflow: 'input' }, path: 'x' }).expr).toMatchObject({ kind: 'input', path: { segments: ['x'] } });
  });

  it('treats other $-keys as ordinary object keys', () => {
    expect(compile({ $other: 1 }).expr).toMatchObject({ kind: 'const', value: { $other: 1 } });
  });

  it('exposes every step an expression may need, in all branches', () => {
    const { expr, stepRefs } = compile({
      a: { $if: { $step: 'cond' }, then: { $step: 'yes' }, else: { $coalesce: [{ $step: 'c1' }] } },
      b: { $variable: 'v', default: { $step: 'dflt' } },
    });
    expect([...stepDependencies(expr)].sort()).toEqual(['c1', 'cond', 'dflt', 'yes']);
    expect(stepRefs.map((r) => r.field)).toEqual(['output.a.$if.$step', 'output.a.then.$step', 'output.a.else.$coalesce[0].$step', 'output.b.default.$step']);
  });

  it.each([
    [{ x: { $step: 3 } }, 'output.x.$step', /non-empty string/],
    [{ $if: true }, 'output.then', /requires "then"/],
    [{ $coalesce: 'a' }, 'output.$coalesce', /must be an array/],
    [{ $input: '$[abc]' }, 'output.$input', /invalid index/],
    [{ $step: 's', path: 'a[' }, 'output.path', /unclosed bracket/],
    [{ $step: 's', path: 5 }, 'output.path', /string or null/],
    [{ $variable: '' }, 'output.$variable', /empty/],
    [{ $from: { nowhere: 1 } }, 'output.$from', /\{step: <id>\}/],
  ])('reports malformed %j at its field', (value, field, message) => {
    const { issues } = compile(value);
    expect(issues).toHaveLength(1);
    expect(issues[0].field).toBe(field);
    expect(issues[0].message).toMatch(message);
  });
});
