import type { z } from 'zod';
import { RpcError } from './errors.js';

/** One problem found in a message, with the path of the field it concerns (`steps[2].id`). */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Formats a zod issue path as `a.b[2].c`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/** Flattens a zod error into field issues. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ field: formatPath(i.path) || '(root)', message: i.message }));
}

/**
 * Parses `value` with `schema`, or throws `-32602 Invalid params` whose message names the first
 * offending field and whose data lists every issue: `{method, issues: [{field, message}]}`.
 */
export function parseOrInvalidParams<S extends z.ZodType>(schema: S, value: unknown, method: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = fieldIssues(parsed.error);
  const first = issues[0];
  throw RpcError.invalidParams(
    `Invalid params for ${method}: ${first ? `field "${first.field}": ${first.message}` : 'malformed'}`,
    { method, issues },
  );
}
