import { z } from 'zod';
import { RpcError, ErrorCodes } from './errors.js';

/** JSON-RPC 2.0 envelopes (docs/protocol.md, "Wire format"). Strict at the envelope, lenient inside params. */

export const JsonRpcIdSchema = z.union([z.string(), z.number().int()]);
export type JsonRpcId = z.infer<typeof JsonRpcIdSchema>;

export const ErrorObjectSchema = z.object({
  code: z.number().int(),
  message: z.string(),
  data: z.unknown().optional(),
});

export const RequestMessageSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: JsonRpcIdSchema,
  method: z.string().min(1),
  params: z.unknown().optional(),
});
export type RequestMessage = z.infer<typeof RequestMessageSchema>;

export const NotificationMessageSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string().min(1),
  params: z.unknown().optional(),
});
export type NotificationMessage = z.infer<typeof NotificationMessageSchema>;

export const SuccessResponseSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: JsonRpcIdSchema,
  result: z.unknown(),
});

export const ErrorResponseSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.union([JsonRpcIdSchema, z.null()]),
  error: ErrorObjectSchema,
});

export type SuccessResponse = z.infer<typeof SuccessResponseSchema>;
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;
export type ResponseMessage = SuccessResponse | ErrorResponse;

export type Message = RequestMessage | NotificationMessage | ResponseMessage;

export type ClassifiedMessage =
  | { kind: 'request'; message: RequestMessage }
  | { kind: 'notification'; message: NotificationMessage }
  | { kind: 'response'; message: ResponseMessage }
  | { kind: 'invalid'; error: RpcError; id: JsonRpcId | null };

/**
 * Classifies one decoded JSON value as a request, notification or response, or says why it is
 * not a JSON-RPC 2.0 message. Hand-checked rather than zod-parsed because it runs for every
 * message on the hot path; it accepts exactly what the schemas above accept.
 */
export function classifyMessage(value: unknown): ClassifiedMessage {
  const kind = messageKind(value);
  return typeof kind === 'string' ? ({ kind, message: value } as ClassifiedMessage) : kind;
}

/** An invalid message: the error to answer it with, and its id when one could be read. */
export type InvalidMessage = Extract<ClassifiedMessage, { kind: 'invalid' }>;

/**
 * `classifyMessage` without an object per valid message (the peer's hot path): the kind of a
 * valid message, or why it is invalid.
 */
export function messageKind(value: unknown): 'request' | 'notification' | 'response' | InvalidMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid('message must be a JSON object (batches are not supported)', null);
  }
  const m = value as Record<string, unknown>;
  const rawId = m.id;
  const id = isValidId(rawId) ? rawId : null;
  if (m.jsonrpc !== '2.0') return invalid('field "jsonrpc" must be "2.0"', id);
  const hasId = rawId !== undefined && rawId !== null;
  if (hasId && !isValidId(rawId)) return invalid('field "id" must be a string or an integer', null);
  if (m.method !== undefined) {
    if (typeof m.method !== 'string' || m.method.length === 0) {
      return invalid('field "method" must be a non-empty string', id);
    }
    if ('result' in m || 'error' in m) return invalid('a request must not carry "result" or "error"', id);
    return hasId ? 'request' : 'notification';
  }
  const hasResult = 'result' in m;
  const hasError = m.error !== undefined;
  if (hasResult === hasError) {
    return invalid(hasId ? 'a response must carry exactly one of "result" and "error"' : 'missing "id" or "method"', id);
  }
  if (hasError) {
    const parsed = ErrorObjectSchema.safeParse(m.error);
    if (!parsed.success) return invalid('field "error" must be {code: integer, message: string, data?}', id);
  }
  if (!hasId && !hasError) return invalid('a response must carry "id"', null);
  return 'response';
}

function isValidId(id: unknown): id is JsonRpcId {
  return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id));
}

function invalid(message: string, id: JsonRpcId | null): InvalidMessage {
  return { kind: 'invalid', error: new RpcError(ErrorCodes.InvalidRequest, `Invalid request: ${message}`), id };
}
