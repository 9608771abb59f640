import { describe, expect, it } from 'vitest';
import { MissingVariableError, substituteEnv } from '../../src/config/index.js';

describe('substituteEnv', () => {
  const env = { HOST: 'example.org', EMPTY: '', PORT: '8080' };

  it('replaces ${VAR} in every string value, nested in objects and arrays', () => {
    const value = { url: 'ws://${HOST}:${PORT}/x', args: ['--host', '${HOST}'], deep: { list: [{ v: '${PORT}' }] } };
    expect(substituteEnv(value, env)).toEqual({
      url: 'ws://example.org:8080/x',
      args: ['--host', 'example.org'],
      deep: { list: [{ v: '8080' }] },
    });
  });

  it('uses the default of ${VAR:-default} when VAR is unset or empty', () => {
    expect(substituteEnv(['${NOPE:-fallback}', '${EMPTY:-fallback}', '${HOST:-fallback}', '${NOPE:-}'], env)).toEqual([
      'fallback',
      'fallback',
      'example.org',
      '',
    ]);
  });

  it('keeps an empty VAR as empty for ${VAR}', () => {
    expect(substituteEnv('a${EMPTY}b', env)).toBe('ab');
  });

  it('leaves keys, numbers, booleans and null alone', () => {
    expect(substituteEnv({ '${HOST}': 1, b: true, c: null }, env)).toEqual({ '${HOST}': 1, b: true, c: null });
  });

  it('substitutes values of Maps but not their keys', () => {
    const map = new Map<unknown, unknown>([[{ input: '${HOST}' }, { result: '${HOST}' }]]);
    const out = substituteEnv(map, env) as Map<unknown, unknown>;
    expect([...out]).toEqual([[{ input: '${HOST}' }, { result: 'example.org' }]]);
  });

  it('throws naming the variable and where it is used when an unset VAR has no default', () => {
    const error = (() => {
      try {
        substituteEnv({ plugins: { tools: { env: { KEY: 'x-${API_KEY}' } } } }, env);
      } catch (err) {
        return err;
      }
    })() as MissingVariableError;
    expect(error).toBeInstanceOf(MissingVariableError);
    expect(error.variable).toBe('API_KEY');
    expect(error.path).toEqual(['plugins', 'tools', 'env', 'KEY']);
    expect(error.message).toContain('API_KEY');
  });

  it('leaves text that is not a reference as it is', () => {
    expect(substituteEnv('$HOST ${1X} ${ HOST } $${x', env)).toBe('$HOST ${1X} ${ HOST } $${x');
  });
});
