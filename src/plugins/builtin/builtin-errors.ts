import type { z } from 'zod';
import { ErrorCodes, RpcError, describeFirstIssue, fieldIssues } from '../../../protocol/index.js';
import { FlowrunError } from '../../errors.js';
import { ComponentError } from '../../calls/component-error.js';

/** `-32602` for an input that does not match a builtin's schema; the message names the first bad field. */
export function invalidInput(component: string, error: z.ZodError): ComponentError {
  const issues = fieldIssues(error);
  return new ComponentError(
    { code: ErrorCodes.InvalidParams, message: `Invalid input for builtin ${component}: ${describeFirstIssue(issues)}`, data: { component, issues } },
    { component },
  );
}

/** `-32800` when the call was cancelled while a builtin waited. */
export function cancelled(component: string): ComponentError {
  return new ComponentError({ code: ErrorCodes.RequestCancelled, message: `builtin ${component} was cancelled` }, { component });
}

/**
 * Maps whatever a builtin threw to a `ComponentError`: wire errors from the runtime (flow not
 * found, invalid flow) keep their code; cancellation is `-32800`; anything else is `-32004`.
 */
export function toComponentError(err: unknown, component: string): ComponentError {
  if (err instanceof ComponentError) return err;
  if (err instanceof RpcError) return new ComponentError(err.toObject(), { component, cause: err });
  if (isCancellation(err)) return cancelled(component);
  const message = err instanceof Error ? err.message : String(err);
  return new ComponentError(
    { code: ErrorCodes.ComponentExecutionFailed, message: `builtin ${component} failed: ${message}` },
    { component, cause: err },
  );
}

function isCancellation(err: unknown): boolean {
  return (
    (err instanceof FlowrunError && err.code === 'REQUEST_CANCELLED') ||
    (err instanceof Error && err.name === 'AbortError')
  );
}
