import { createHmac } from 'node:crypto';
import type { CallbackTarget, RunStatus } from '../../protocol/index.js';

/** What one POST of a completion callback came to. */
export interface CallbackResponse {
  delivered: boolean;
  statusCode?: number;
  error?: string;
  /** Not worth trying again (the run is gone). */
  giveUp?: boolean;
}

/** The JSON body of a completion callback (docs/callbacks.md). */
export function callbackBody(run: RunStatus): string {
  return JSON.stringify({ event: 'run.finished', run });
}

/** `sha256=<hex HMAC-SHA256 of body>` with the callback's secret. */
export function callbackSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * POSTs `body` to the callback's URL once: the target's headers, then flowrun's own (which win).
 * Any 2xx is delivered; another status, a network error or `signal` (the attempt's timeout) is not.
 * Redirects are not followed: a 3xx is an answer like any other.
 */
export async function postCallback(target: CallbackTarget, deliveryId: string, body: string, signal: AbortSignal): Promise<CallbackResponse> {
  // `set` replaces a header of the same name in any case.
  const headers = new Headers(target.headers);
  headers.set('content-type', 'application/json');
  headers.set('x-flowrun-delivery', deliveryId);
  if (target.secret !== undefined) headers.set('x-flowrun-signature', callbackSignature(target.secret, body));
  try {
    const response = await fetch(target.url, { method: 'POST', headers, body, signal, redirect: 'manual' });
    // The answer's body is not read: release the connection.
    await response.body?.cancel().catch(() => {});
    if (response.status >= 200 && response.status < 300) return { delivered: true, statusCode: response.status };
    return { delivered: false, statusCode: response.status, error: `HTTP ${response.status}` };
  } catch (err) {
    const error = signal.aborted ? 'timed out' : errorText(err);
    return { delivered: false, error };
  }
}

/** fetch's "fetch failed" says nothing: its cause does (ECONNREFUSED, a DNS failure, …). */
function errorText(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  return err instanceof Error ? err.message : String(err);
}
