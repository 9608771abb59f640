import { describe, expect, it } from 'vitest';
import { parseYamlKeepingComplexKeys, YamlSyntaxError } from '../../src/config/index.js';

describe('parseYamlKeepingComplexKeys', () => {
  it('keeps mapping keys as values (a Map) where a key is a mapping', () => {
    const { value } = parseYamlKeepingComplexKeys(['b:', '  { input: "a" }: 1', '  { input: null }: 2', '  plain: 3'].join('\n'));
    const b = (value as { b: Map<unknown, unknown> }).b;
    expect(b).toBeInstanceOf(Map);
    expect([...b]).toEqual([
      [{ input: 'a' }, 1],
      [{ input: null }, 2],
      ['plain', 3],
    ]);
  });

  it('makes plain objects of mappings with scalar keys', () => {
    const { value } = parseYamlKeepingComplexKeys('a: {x: 1, 2: y}\nlist: [1, {k: v}]\n');
    expect(value).toEqual({ a: { x: 1, '2': 'y' }, list: [1, { k: 'v' }] });
    expect(Object.getPrototypeOf((value as { a: object }).a)).toBe(Object.prototype);
  });

  it('parses a nested block mapping whose keys are flow mappings after flow values (yaml#646)', () => {
    const text = [
      'behaviors:',
      '  { input: "a" }:',
      '    result: {output: b}',
      '  { input: "hello" }:',
      '    result: {output: world}',
      '',
      '  # a comment',
      '  { input: "b" }:',
      '    result: {x: 1, y: 2}',
      '  [1, 2]:',
      '    result: 3',
    ].join('\n');
    const behaviors = (parseYamlKeepingComplexKeys(text).value as { behaviors: Map<unknown, unknown> }).behaviors;
    expect([...behaviors.keys()]).toEqual([{ input: 'a' }, { input: 'hello' }, { input: 'b' }, [1, 2]]);
    expect(behaviors.get([...behaviors.keys()][2])).toEqual({ result: { x: 1, y: 2 } });
  });

  it('reads JSON', () => {
    expect(parseYamlKeepingComplexKeys('{"a": [1, 2.5, "x", null, true]}').value).toEqual({ a: [1, 2.5, 'x', null, true] });
  });

  it('reports the line of a syntax error', () => {
    const error = (() => {
      try {
        parseYamlKeepingComplexKeys('a: 1\nb: [1, 2\nc: 3\n');
      } catch (err) {
        return err;
      }
    })() as YamlSyntaxError;
    expect(error).toBeInstanceOf(YamlSyntaxError);
    expect(error.line).toBeGreaterThanOrEqual(2);
    expect(error.message).not.toContain('\n');
  });

  it('refuses duplicate keys and several documents', () => {
    expect(() => parseYamlKeepingComplexKeys('a: 1\na: 2\n')).toThrow(YamlSyntaxError);
    expect(() => parseYamlKeepingComplexKeys('a: 1\n---\nb: 2\n')).toThrow(/more than one YAML document/);
  });

  it('finds the line of a field path, or of its nearest parent', () => {
    const source = parseYamlKeepingComplexKeys('plugins:\n  tools:\n    type: stepflow\n    command: 5\n');
    expect(source.lineOf(['plugins', 'tools', 'command'])).toBe(4);
    expect(source.lineOf(['plugins', 'tools', 'missing'])).toBe(3);
  });
});
