import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { formatFieldPath, type FieldPath } from '../values/field-path.js';

export { formatFieldPath, type FieldPath };

/** Where a config comes from, so every error can name the file, the field and the line. */
export interface ConfigSource {
  /** The file the config is in (a config file, or a flow file for an inline `test.config`). */
  file?: string;
  /** Prepended to every field path, e.g. `test.config` for a flow's inline config. */
  fieldPrefix?: string;
  /** 1-based line of the node at a config-relative path. */
  lineOf?: (path: FieldPath) => number | undefined;
}

/** Turns problems found while reading a config into ConfigErrors naming file, field and line. */
export class ConfigReader {
  constructor(private readonly source: ConfigSource) {}

  /** Throws a ConfigError about the field at `path`. */
  fail(path: FieldPath, message: string): never {
    const relative = formatFieldPath(path);
    const field = [this.source.fieldPrefix, relative].filter((part) => part).join(relative.startsWith('[') ? '' : '.');
    const line = this.source.lineOf?.(path);
    const where = this.source.file === undefined ? 'config' : line === undefined ? this.source.file : `${this.source.file}:${line}`;
    throw new ConfigError(field ? `${where}: ${field}: ${message}` : `${where}: ${message}`, this.source.file, field || undefined);
  }

  /** Parses `value` with a zod schema; on failure throws a ConfigError naming every bad field. */
  parse<T>(schema: z.ZodType<T>, value: unknown, path: FieldPath): T {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const [first, ...others] = result.error.issues.map((issue) => ({
      path: [...path, ...issue.path],
      message: describeIssue(issue, valueAt(value, issue.path)),
    }));
    const more = others.map((issue) => `; ${formatFieldPath(issue.path)}: ${issue.message}`).join('');
    return this.fail(first.path, first.message + more);
  }
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.code === 'invalid_type' && value === undefined) {
    return issue.expected === 'nonoptional' ? 'is required' : `is required (expected ${issue.expected})`;
  }
  return issue.message;
}

function valueAt(value: unknown, path: FieldPath): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
