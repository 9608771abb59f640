import { describe, expect, it } from 'vitest';
import { compareSpecificity, findRouteProblem, matchRoutePattern, parseRoutePattern } from '../../src/config/index.js';

describe('route patterns', () => {
  it('matches literal segments exactly', () => {
    const pattern = parseRoutePattern('/builtin/eval');
    expect(matchRoutePattern(pattern, '/builtin/eval')).toEqual({});
    expect(matchRoutePattern(pattern, '/builtin/evalx')).toBeUndefined();
    expect(matchRoutePattern(pattern, '/builtin/eval/x')).toBeUndefined();
  });

  it('captures exactly one segment with {name}', () => {
    const pattern = parseRoutePattern('/mock/{component}');
    expect(matchRoutePattern(pattern, '/mock/one_output')).toEqual({ component: 'one_output' });
    expect(matchRoutePattern(pattern, '/mock/a/b')).toBeUndefined();
    expect(matchRoutePattern(pattern, '/mock')).toBeUndefined();
  });

  it('captures one or more segments with {*name}', () => {
    const pattern = parseRoutePattern('/a/{*component}');
    expect(matchRoutePattern(pattern, '/a/b/c')).toEqual({ component: 'b/c' });
    expect(matchRoutePattern(pattern, '/a/b')).toEqual({ component: 'b' });
    expect(matchRoutePattern(pattern, '/a')).toBeUndefined();
    expect(matchRoutePattern(pattern, '/a/')).toBeUndefined();
  });

  it('matches nothing for paths with empty segments or without the leading slash', () => {
    const pattern = parseRoutePattern('/{*rest}');
    expect(matchRoutePattern(pattern, 'a/b')).toBeUndefined();
    expect(matchRoutePattern(pattern, '/a//b')).toBeUndefined();
  });

  it('refuses malformed patterns', () => {
    expect(() => parseRoutePattern('a/b')).toThrow(/start with "\/"/);
    expect(() => parseRoutePattern('/a//b')).toThrow(/empty segment/);
    expect(() => parseRoutePattern('/a/x{id}')).toThrow(/whole segment/);
    expect(() => parseRoutePattern('/{*a}/b')).toThrow(/last segment/);
    expect(() => parseRoutePattern('/{a}/{a}')).toThrow(/twice/);
  });

  it('orders literal before {x} before {*x}, segment by segment', () => {
    const sorted = ['/{*c}', '/a/{*c}', '/a/{x}/{y}', '/a/b', '/{x}/b'].map(parseRoutePattern).sort(compareSpecificity).map((p) => p.source);
    expect(sorted).toEqual(['/a/b', '/a/{x}/{y}', '/a/{*c}', '/{x}/b', '/{*c}']);
  });

  it('reports two patterns that match the same paths', () => {
    const problem = findRouteProblem({ '/a/{x}': [{ plugin: 'p', component: '/x' }], '/a/{y}': [{ plugin: 'p', component: '/y' }] }, ['p']);
    expect(problem?.message).toContain('matches the same components as route "/a/{x}"');
  });

  it('reports templates that use captures the pattern does not have, and rules with no way to name the component', () => {
    expect(findRouteProblem({ '/a/{x}': [{ plugin: 'p', component: '/{y}' }] }, ['p'])?.path).toEqual(['/a/{x}', 0, 'component']);
    expect(findRouteProblem({ '/a/{x}': [{ plugin: 'p' }] }, ['p'])?.message).toMatch(/captures no \{component\}/);
    expect(findRouteProblem({ '/eval': [{ plugin: 'p', component: '/eval' }] }, ['p'])).toBeUndefined();
  });

  it('accepts templates that produce names without a leading slash, and checks their captures too', () => {
    expect(findRouteProblem({ '/calc/{*component}': [{ plugin: 'p', component: '{component}' }] }, ['p'])).toBeUndefined();
    expect(findRouteProblem({ '/run': [{ plugin: 'p', component: 'eval' }] }, ['p'])).toBeUndefined();
    expect(findRouteProblem({ '/calc/{x}': [{ plugin: 'p', component: '{y}' }] }, ['p'])?.message).toBe(
      'component template "{y}" uses {y}, which route "/calc/{x}" does not capture',
    );
  });
});
