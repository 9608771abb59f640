import { ErrorCodes, type FlowError, type FlowResult, type RpcErrorObject } from '../../protocol/index.js';
import { ComponentError } from '../calls/component-error.js';

/** The shared results and failure shapes of item execution (docs/flows.md, "Failures"). Frozen: items share them. */

export const SKIPPED: FlowResult = Object.freeze({ outcome: 'skipped' });
export const NULL_RESULT: FlowResult = Object.freeze({ outcome: 'success', value: null });
export const CANCELLED: FlowResult = Object.freeze({
  outcome: 'failed',
  error: Object.freeze({ code: ErrorCodes.RequestCancelled, message: 'item cancelled' }),
});

/** A failed result carrying `error`. */
export function failed(error: FlowError): FlowResult {
  return { outcome: 'failed', error };
}

/** `{code: -32009, message: "path <p> not found in <what>"}`. */
export function pathNotFound(path: string, what: string): FlowResult {
  return failed({ code: ErrorCodes.ExpressionFailed, message: `path ${path} not found in ${what}` });
}

/** `{code: -32009, message: 'variable "<v>" is not defined'}`. */
export function variableNotDefined(name: string): FlowResult {
  return failed({ code: ErrorCodes.ExpressionFailed, message: `variable "${name}" is not defined` });
}

/**
 * A component call that threw: `{code: 500, message: 'step "<id>" failed', data: {stepId, component, cause}}`.
 * `cause` is the ComponentError's error object, or `-32603` with the message of anything else.
 */
export function stepFailure(stepId: string, component: string, err: unknown): FlowResult {
  const cause: RpcErrorObject = err instanceof ComponentError
    ? err.error
    : { code: ErrorCodes.InternalError, message: err instanceof Error ? err.message : String(err) };
  return failed({ code: 500, message: `step "${stepId}" failed`, data: { stepId, component, cause } });
}

/** A bug in the executor itself, reported as a failed item rather than thrown. */
export function internalFailure(err: unknown): FlowResult {
  const message = err instanceof Error ? err.message : String(err);
  return failed({ code: ErrorCodes.InternalError, message: `internal error executing item: ${message}` });
}
