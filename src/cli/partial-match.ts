/**
 * Partial comparison of a flow `test` case (docs/cli.md, `flowrun test`): every key of the expected object must
 * match in the actual one; arrays match element-wise and in length; other values are equal.
 * Returns the path of the first mismatch with both values, or undefined when it matches.
 */
export function findMismatch(expected: unknown, actual: unknown, path = '$'): { path: string; expected: unknown; actual: unknown } | undefined {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return { path, expected, actual };
    for (let i = 0; i < expected.length; i++) {
      const m = findMismatch(expected[i], actual[i], `${path}[${i}]`);
      if (m) return m;
    }
    return undefined;
  }
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual)) return { path, expected, actual };
    for (const [key, value] of Object.entries(expected)) {
      if (!(key in actual)) return { path: `${path}.${key}`, expected: value, actual: undefined };
      const m = findMismatch(value, actual[key], `${path}.${key}`);
      if (m) return m;
    }
    return undefined;
  }
  return Object.is(expected, actual) || expected === actual ? undefined : { path, expected, actual };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
