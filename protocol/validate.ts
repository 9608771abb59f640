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

/** A problem to name in a message: its field, and its step when it is in one (flow diagnostics). */
export interface NamedIssue {
  field: string;
  message: string;
  stepId?: string;
}

/** `step "a" field "f": message`; without the step part outside steps, without the field part when it has none. */
export function describeIssue(issue: NamedIssue, stepSeparator = ' '): string {
  const step = issue.stepId === undefined ? '' : `step "${issue.stepId}"${stepSeparator}`;
  const field = issue.field === '' ? '' : `field "${issue.field}": `;
  return `${step}${field}${issue.message}`;
}

/**
 * The first of `issues` described (`malformed` when there is none): every message that names
 * "the first problem" says it this way, while its data lists them all.
 */
export function describeFirstIssue(issues: readonly NamedIssue[], stepSeparator?: string): string {
  const first = issues[0];
  return first === undefined ? 'malformed' : describeIssue(first, stepSeparator);
}

/**
 * Parses `value` with `schema`, or throws `-32602 Invalid params` whose message names the first
 * offending field and whose data lists every issue: `{method, issues: [{field, message}]}`.
 */
export function parseOrInvalidParams<S extends z.ZodType>(schema: S, value: unknown, method: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = fieldIssues(parsed.error);
  throw RpcError.invalidParams(`Invalid params for ${method}: ${describeFirstIssue(issues)}`, { method, issues });
}
