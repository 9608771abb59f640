import type { CallbackTarget } from '../../protocol/index.js';

/**
 * The outbox of completion callbacks (docs/callbacks.md): one row per run submitted with a
 * `callback`, stored with the run, due once the run's finish is recorded (in the same
 * transaction), claimed under a lease by the process that delivers it, and kept with its
 * delivery state. Times are ms since the epoch.
 */

/** What `RunStatus.callback` shows: never the secret or the headers. */
export interface StoredCallbackState {
  url: string;
  attempts: number;
  lastAttemptAt?: number;
  statusCode?: number;
  error?: string;
  deliveredAt?: number;
}

/** A claim of due callbacks. */
export interface CallbackClaim {
  /** Who delivers (a process or a cluster node). */
  holder: string;
  now: number;
  /** How long the claim keeps others off: longer than one attempt takes. */
  leaseMs: number;
  limit: number;
}

/** A claimed callback, with what its delivery needs. */
export interface CallbackDelivery {
  runId: string;
  /** The same for every attempt of this delivery (`X-Flowrun-Delivery`). */
  deliveryId: string;
  target: CallbackTarget;
  /** Attempts made before this one. */
  attempts: number;
  /** When it fell due (the run's finish): retries end a fixed time after it. */
  dueSince: number;
}

/** The outcome of one attempt. */
export interface CallbackAttempt {
  at: number;
  statusCode?: number;
  error?: string;
  delivered: boolean;
  /** When to try again; undefined when delivered or given up. */
  nextAttemptAt?: number;
}

/** A row of the `callbacks` table as both SQL backends return it (the columns of `CALLBACK_COLUMNS`). */
export interface CallbackRow {
  run_id: string;
  url: string;
  secret: string | null;
  headers: string | null;
  delivery_id: string;
  due_since: number | null;
  attempts: number;
  last_attempt_at: number | null;
  status_code: number | null;
  error: string | null;
  delivered_at: number | null;
}

export const CALLBACK_COLUMNS = 'run_id, url, secret, headers, delivery_id, due_since, attempts, last_attempt_at, status_code, error, delivered_at';

/** The delivery state of a row; fields absent when NULL. */
export function callbackStateOfRow(row: CallbackRow): StoredCallbackState {
  const state: StoredCallbackState = { url: row.url, attempts: row.attempts };
  if (row.last_attempt_at !== null) state.lastAttemptAt = Number(row.last_attempt_at);
  if (row.status_code !== null) state.statusCode = row.status_code;
  if (row.error !== null) state.error = row.error;
  if (row.delivered_at !== null) state.deliveredAt = Number(row.delivered_at);
  return state;
}

/** The target a row stores. */
export function callbackTargetOfRow(row: CallbackRow): CallbackTarget {
  const target: CallbackTarget = { url: row.url };
  if (row.secret !== null) target.secret = row.secret;
  if (row.headers !== null) target.headers = JSON.parse(row.headers) as Record<string, string>;
  return target;
}

/** A claimed row as a delivery. */
export function deliveryOfRow(row: CallbackRow): CallbackDelivery {
  return {
    runId: row.run_id,
    deliveryId: row.delivery_id,
    target: callbackTargetOfRow(row),
    attempts: row.attempts,
    dueSince: Number(row.due_since),
  };
}
