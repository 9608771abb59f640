import type { z } from 'zod';
import { ErrorCodes, RpcError, formatPath, type FieldIssue } from '../../protocol/index.js';
import type { Component } from './define-component.js';

/** Parses an execute call's input with the component's schema, or throws -32602 naming the field. */
export function parseComponentInput(component: Component, input: unknown): unknown {
  if (component.input === undefined) return input;
  const parsed = component.input.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = describeIssues('input', parsed.error);
  throw new RpcError(
    ErrorCodes.InvalidParams,
    `Invalid input for component "${component.name}": ${summarize(issues)}`,
    { component: component.name, issues },
  );
}

/** Checks a handler's output against the component's output schema, or throws -32004 naming the field. */
export function checkComponentOutput(component: Component, output: unknown): unknown {
  if (component.output === undefined) return output;
  const parsed = component.output.safeParse(output);
  if (parsed.success) return parsed.data;
  const issues = describeIssues('output', parsed.error);
  throw new RpcError(
    ErrorCodes.ComponentExecutionFailed,
    `Component execution failed: "${component.name}" returned an invalid output: ${summarize(issues)}`,
    { component: component.name, issues },
  );
}

/** Zod issues as `{field: 'input.name', message: 'expected string, received number'}`. */
function describeIssues(root: string, error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => {
    const path = formatPath(issue.path);
    const field = path === '' ? root : path.startsWith('[') ? `${root}${path}` : `${root}.${path}`;
    // zod prefixes type errors with "Invalid input: "; the field name already says where.
    return { field, message: issue.message.replace(/^Invalid input: /, '') };
  });
}

function summarize(issues: FieldIssue[]): string {
  const [first] = issues;
  if (first === undefined) return 'malformed';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${first.field}: ${first.message}${more}`;
}
