/** `${NAME}` or `${NAME:-default}`. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type Environment = Readonly<Record<string, string | undefined>>;

/** Thrown for `${NAME}` when NAME is not set and no default is given; `path` is where. */
export class MissingVariableError extends Error {
  override name = 'MissingVariableError';
  constructor(
    readonly variable: string,
    readonly path: ReadonlyArray<string | number>,
  ) {
    super(`environment variable ${variable} is not set (write \${${variable}:-default} to give a default)`);
  }
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string value (not in keys) of a JSON-like
 * tree, returning a new tree. As in the shell, the default also applies when NAME is empty.
 */
export function substituteEnv(value: unknown, env: Environment, path: Array<string | number> = []): unknown {
  if (typeof value === 'string') return substituteInString(value, env, path);
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, [...path, i]));
  if (value instanceof Map) {
    return new Map([...value].map(([key, item], i) => [key, substituteEnv(item, env, [...path, i])]));
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, [...path, key])]));
  }
  return value;
}

function substituteInString(text: string, env: Environment, path: ReadonlyArray<string | number>): string {
  if (!text.includes('${')) return text;
  return text.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
    const set = env[name];
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
    if (set === undefined) throw new MissingVariableError(name, path);
    return set;
  });
}
