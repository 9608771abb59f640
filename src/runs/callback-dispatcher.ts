import { ErrorCodes, RpcError, type RunStatus } from '../../protocol/index.js';
import type { Logger } from '../log.js';
import { delayMs, positiveInt } from '../options.js';
import type { CallbackAttempt, CallbackDelivery } from '../statestore/callback-outbox.js';
import type { StateStore } from '../statestore/state-store.js';
import { callbackBody, postCallback, type CallbackResponse } from './callback-request.js';

/** How completion callbacks are delivered (docs/callbacks.md); every field has a default. */
export interface CallbackOptions {
  /** Hosts a callback URL may name (`example.com`, or `*.example.com` for its subdomains). Default: any. */
  allowHosts?: readonly string[];
  /** Wait before the second attempt, doubling after each failed one. Default 1000 ms. */
  backoffMs?: number;
  /** Longest wait between two attempts. Default 300,000 ms (5 min). */
  maxBackoffMs?: number;
  /** No attempt starts later than this after the run finished. Default 86,400,000 ms (24 h). */
  giveUpAfterMs?: number;
  /** How long one attempt may take. Default 10,000 ms. */
  timeoutMs?: number;
  /** How often the outbox is looked at for due callbacks (a run finishing here wakes it at once). Default 1000 ms. */
  pollMs?: number;
}

export const DEFAULT_CALLBACK_OPTIONS = {
  backoffMs: 1_000,
  maxBackoffMs: 300_000,
  giveUpAfterMs: 86_400_000,
  timeoutMs: 10_000,
  pollMs: 1_000,
} as const;

type ResolvedCallbackOptions = Required<Omit<CallbackOptions, 'allowHosts'>>;

/** Callbacks claimed at once; each is one POST in flight. */
const CLAIM_BATCH = 32;

/** The options with their defaults, checked once. */
export function resolveCallbackOptions(options: CallbackOptions = {}): ResolvedCallbackOptions {
  const d = DEFAULT_CALLBACK_OPTIONS;
  return {
    backoffMs: delayMs('callbacks.backoffMs', options.backoffMs, d.backoffMs),
    maxBackoffMs: delayMs('callbacks.maxBackoffMs', options.maxBackoffMs, d.maxBackoffMs),
    giveUpAfterMs: positiveInt('callbacks.giveUpAfterMs', options.giveUpAfterMs, d.giveUpAfterMs),
    timeoutMs: delayMs('callbacks.timeoutMs', options.timeoutMs, d.timeoutMs),
    pollMs: delayMs('callbacks.pollMs', options.pollMs, d.pollMs),
  };
}

export interface CallbackDispatcherDeps {
  store: StateStore;
  /** Who claims (this process, or this node of a cluster). */
  holder: string;
  /** The run's status to send, without results. */
  statusOf: (runId: string) => Promise<RunStatus>;
  logger: Logger;
  now: () => number;
  options?: CallbackOptions;
}

/**
 * Delivers completion callbacks from the outbox (docs/callbacks.md): claims due ones under a
 * lease, POSTs each, records the attempt and, unless delivered, when to try again (backoff from
 * `backoffMs` doubling up to `maxBackoffMs`, for `giveUpAfterMs` after the run finished). At least
 * once: a process that dies mid-attempt leaves the callback claimed only until its lease ends.
 */
export class CallbackDispatcher {
  private readonly options: ResolvedCallbackOptions;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly stopping = new AbortController();

  constructor(private readonly deps: CallbackDispatcherDeps) {
    this.options = resolveCallbackOptions(deps.options);
  }

  /** Starts looking at the outbox: now, then every `pollMs`. */
  start(): void {
    this.schedule(0);
  }

  /** Looks at the outbox now (a run with a callback just finished here). */
  wake(): void {
    if (this.pass) this.again = true;
    else this.schedule(0);
  }

  /** Stops; an attempt under way is abandoned (its lease runs out and it is made again, here or elsewhere). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopping.abort();
    await this.pass;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.runPass(), ms);
    // Pending deliveries never keep a process alive; the next start delivers them.
    this.timer.unref();
  }

  private runPass(): void {
    this.pass = this.deliverDue()
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'completion callbacks: cannot read the outbox; trying again later'))
      .finally(() => {
        this.pass = undefined;
        const again = this.again;
        this.again = false;
        this.schedule(again ? 0 : this.options.pollMs);
      });
  }

  private async deliverDue(): Promise<void> {
    const { store, holder, now } = this.deps;
    // The lease outlasts an attempt, with room for reading the run and recording the outcome.
    const leaseMs = 2 * this.options.timeoutMs + 1_000;
    while (!this.stopped) {
      const claimed = await store.claimCallbacks({ holder, now: now(), leaseMs, limit: CLAIM_BATCH });
      await Promise.all(claimed.map((delivery) => this.deliver(delivery)));
      if (claimed.length < CLAIM_BATCH) return;
    }
  }

  private async deliver(delivery: CallbackDelivery): Promise<void> {
    const { logger, store, now } = this.deps;
    let response: CallbackResponse;
    try {
      const { callback: _own, results: _none, ...run } = await this.deps.statusOf(delivery.runId);
      const signal = AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.stopping.signal]);
      response = await postCallback(delivery.target, delivery.deliveryId, callbackBody(run), signal);
    } catch (err) {
      response = { delivered: false, error: `cannot read run ${delivery.runId}: ${(err as Error).message}` };
      // A run deleted meanwhile has nothing left to report.
      if (err instanceof RpcError && err.code === ErrorCodes.NotFound) response.giveUp = true;
    }
    if (this.stopped && !response.delivered) return;
    const attempt = nextAttempt(delivery, response, now(), this.options);
    const log = { runId: delivery.runId, url: delivery.target.url, attempt: delivery.attempts + 1, statusCode: response.statusCode, error: response.error };
    if (response.delivered) logger.debug(log, 'completion callback delivered');
    else logger.warn({ ...log, nextAttemptAt: attempt.nextAttemptAt && new Date(attempt.nextAttemptAt).toISOString() }, 'completion callback not delivered');
    await store.recordCallbackAttempt(delivery.runId, attempt).catch((err: unknown) => logger.warn({ err, runId: delivery.runId }, 'cannot record a callback attempt'));
  }
}

/** The attempt to record: delivered, or when to try again, or given up once the next try would start too late. */
export function nextAttempt(delivery: CallbackDelivery, response: CallbackResponse, at: number, options: ResolvedCallbackOptions): CallbackAttempt {
  const attempt: CallbackAttempt = { at, delivered: response.delivered };
  if (response.statusCode !== undefined) attempt.statusCode = response.statusCode;
  if (response.error !== undefined) attempt.error = response.error;
  if (response.delivered) return attempt;
  const made = delivery.attempts + 1;
  const waitMs = Math.min(options.maxBackoffMs, options.backoffMs * 2 ** Math.min(made - 1, 40));
  if (!response.giveUp && at + waitMs <= delivery.dueSince + options.giveUpAfterMs) attempt.nextAttemptAt = at + waitMs;
  else attempt.error = `${attempt.error ?? 'not delivered'}; gave up after ${made} attempts`;
  return attempt;
}

/** Whether `host` is one `allowHosts` lets a callback name (exact, or `*.domain` for its subdomains), case-insensitively. */
export function isAllowedHost(host: string, allowHosts: readonly string[] | undefined): boolean {
  if (allowHosts === undefined) return true;
  const h = host.toLowerCase();
  return allowHosts.some((allowed) => {
    const a = allowed.toLowerCase();
    return a.startsWith('*.') ? h.endsWith(a.slice(1)) : h === a;
  });
}
