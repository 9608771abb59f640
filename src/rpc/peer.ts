import { Disposable, type Message, type MessageReader, type MessageWriter } from 'vscode-jsonrpc';
import type { z } from 'zod';
import {
  CancelRequest,
  ErrorCodes,
  RpcError,
  messageKind,
  describeFirstIssue,
  fieldIssues,
  parseOrInvalidParams,
  MAX_TIMEOUT_MS,
  type ErrorResponse,
  type JsonRpcId,
  type NotificationMessage,
  type NotificationMethod,
  type ParamsIn,
  type ParamsOut,
  type RequestMessage,
  type RequestMethod,
  type ResponseMessage,
  type ResultIn,
  type ResultOut,
  type InvalidMessage,
  type RpcErrorObject,
} from '../../protocol/index.js';
// Envelopes that write their own JSON text, cheaper than JSON.stringify: internal to flowrun.
import { RequestEnvelope, ResultEnvelope } from '../../protocol/wire-json.js';
import { ConnectionClosedError, RequestCancelledError, RequestTimeoutError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { positiveInt } from '../options.js';
import { unwatchAbort, watchAbort, type AbortWaiter } from '../signals/abort-watch.js';

/** Options of {@link RpcPeer}. */
export interface RpcPeerOptions {
  /** Names the other side in logs and errors (e.g. the plugin name). */
  name: string;
  /** Default: silent. */
  logger?: Logger;
  /** Incoming requests handled at once; beyond it they are answered `-32005`. Default: unlimited. */
  maxInFlight?: number;
}

/** Options of one outgoing request. */
export interface RequestOptions {
  /** Aborting sends `$/cancelRequest` and rejects with `RequestCancelledError`. */
  signal?: AbortSignal;
  /**
   * No answer within this many ms: sends `$/cancelRequest` and rejects with `RequestTimeoutError`.
   * Default: none. From 10 s up it may fire up to 2 s late (one shared sweep, not a timer per request).
   */
  timeoutMs?: number;
}

/** What a request handler knows about the request it serves. */
export interface RequestContext {
  readonly id: JsonRpcId;
  /** Aborted by `$/cancelRequest` or when the connection closes. Created on first read. */
  readonly signal: AbortSignal;
}

export type RequestHandler<D extends RequestMethod<any, any>> = (
  params: ParamsOut<D>,
  ctx: RequestContext,
) => ResultIn<D> | Promise<ResultIn<D>>;

type AnyRequestMethod = RequestMethod<z.ZodType, z.ZodType>;
type AnyNotificationMethod = NotificationMethod<z.ZodType>;
type AnyRequestHandler = (params: unknown, ctx: RequestContext) => unknown;
type NotificationHandler = (params: unknown) => void;

interface RegisteredRequest {
  descriptor: AnyRequestMethod;
  handler: AnyRequestHandler;
}
interface RegisteredNotification {
  descriptor: AnyNotificationMethod;
  handler: NotificationHandler;
}

/**
 * A JSON-RPC 2.0 endpoint over a message reader/writer pair (docs/protocol.md, "Wire format"), driven by the typed
 * descriptors of `protocol/methods.ts`. Both sides may send requests; handlers run concurrently and
 * are cancelled with `$/cancelRequest`. Written for the hot path: integer ids in a Map, no timer
 * unless a request has `timeoutMs`, no AbortController unless a handler reads its signal, and
 * synchronous handler results answered without a promise.
 */
export class RpcPeer {
  private readonly name: string;
  private readonly logger: Logger;
  private readonly maxInFlight: number;
  private readonly requestHandlers = new Map<string, RegisteredRequest>();
  private readonly notificationHandlers = new Map<string, RegisteredNotification>();
  private readonly pending = new Map<number, OutgoingRequest>();
  private readonly inFlight = new Map<JsonRpcId, IncomingRequest>();
  private readonly closeListeners: Array<(reason?: Error) => void> = [];
  private nextId = 1;
  private closed = false;
  private listening = false;
  private closeReason: Error | undefined;
  /** The last promise a write returned and that got a rejection guard; see `send`. */
  private guardedWrite: Promise<void> | undefined;
  /** What pending requests call back into when their signal aborts or their timer fires. */
  private readonly owner: RequestOwner = { abandon: (request, error) => this.abandon(request, error) };
  /** Counts sweeps of long timeouts; such a request expires at a tick, not by a timer of its own. */
  private tick = 0;
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly reader: MessageReader,
    private readonly writer: MessageWriter,
    options: RpcPeerOptions,
  ) {
    this.name = options.name;
    this.logger = (options.logger ?? silentLogger).child({ peer: options.name });
    this.maxInFlight = positiveInt('maxInFlight', options.maxInFlight, Infinity);
    // Subscribed at once: a request sent before listen() must still learn that it could not be written.
    writer.onError(([error, message]) => this.onWriteError(error, message));
    writer.onClose(() => this.close());
  }

  /** True once the connection is closed; every later send fails at once. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Outgoing requests awaiting an answer. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Incoming requests whose handler has not settled yet. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Serves requests of `d`; params arrive parsed by its schema, the return value is the result. Disposing unregisters it. */
  onRequest<D extends RequestMethod<any, any>>(d: D, handler: RequestHandler<D>): Disposable {
    const registered: RegisteredRequest = { descriptor: d, handler: handler as AnyRequestHandler };
    this.requestHandlers.set(d.method, registered);
    return unregister(this.requestHandlers, d.method, registered);
  }

  /** Handles notifications of `d`; params that fail its schema are logged and dropped. Disposing unregisters it. */
  onNotification<D extends NotificationMethod<any>>(d: D, handler: (params: ParamsOut<D>) => void): Disposable {
    const registered: RegisteredNotification = { descriptor: d, handler: handler as NotificationHandler };
    this.notificationHandlers.set(d.method, registered);
    return unregister(this.notificationHandlers, d.method, registered);
  }

  /** Calls `d` on the other side and resolves with its result, parsed by the descriptor's result schema. */
  sendRequest<D extends RequestMethod<any, any>>(d: D, params: ParamsIn<D>, options?: RequestOptions): Promise<ResultOut<D>> {
    return new Promise<ResultOut<D>>((resolve, reject) => {
      this.sendRequestTo(d, params, { resolve, reject }, options?.signal, options?.timeoutMs);
    });
  }

  /**
   * `sendRequest` for the hot path: the answer goes to `sink` (exactly once; possibly before this
   * returns, when the request cannot be sent), so a caller that wraps the answer in its own
   * promise makes one promise per call instead of two.
   */
  sendRequestTo<D extends RequestMethod<any, any>>(
    d: D,
    params: ParamsIn<D>,
    sink: ResponseSink<ResultOut<D>>,
    signal?: AbortSignal,
    timeoutMs?: number,
  ): void {
    if (this.closed) return sink.reject(this.closedError(d.method));
    if (timeoutMs !== undefined && !(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
      return sink.reject(new RangeError(`${d.method}: timeoutMs must be in (0, ${MAX_TIMEOUT_MS}], got ${timeoutMs}`));
    }
    // Never sent, so there is nothing to cancel on the other side.
    if (signal?.aborted) return sink.reject(new RequestCancelledError(d.method, { cause: signal.reason }));
    const id = this.nextId++;
    const request = new OutgoingRequest(this.owner, id, d as AnyRequestMethod, sink);
    this.pending.set(id, request);
    if (signal !== undefined) watchAbort(signal, request);
    if (timeoutMs !== undefined) {
      request.timeoutMs = timeoutMs;
      if (timeoutMs >= SWEPT_TIMEOUT_MIN_MS) {
        // A timer each costs ~0.4 µs per call, and every component call has a timeout (5 min by
        // default); they share one sweep a second. +1: a tick may be about to fire, never early.
        request.expiresAtTick = this.tick + Math.ceil(timeoutMs / SWEEP_INTERVAL_MS) + 1;
        this.sweeper ??= this.startSweeper();
      } else {
        request.timer = setTimeout(onRequestTimeout, timeoutMs, request);
      }
    }
    // A hot method's params write their own JSON text (its descriptor's fast path).
    const fastPath = request.descriptor.fastPath;
    this.send(new RequestEnvelope(id, d.method, fastPath === undefined ? params : fastPath.writeParams(params)));
  }

  /** Sends a notification of `d`; dropped (with a debug log) when the connection is closed. */
  sendNotification<D extends NotificationMethod<any>>(d: D, params: ParamsIn<D>): void {
    if (this.closed) {
      this.logger.debug({ method: d.method }, `${this.name}: notification dropped, connection closed`);
      return;
    }
    this.send({ jsonrpc: '2.0', method: d.method, params });
  }

  /** Starts reading messages. Closing of the reader or writer closes the peer. */
  listen(): void {
    if (this.listening) throw new Error(`RpcPeer(${this.name}): listen() called twice`);
    this.listening = true;
    this.reader.onClose(() => this.close());
    this.reader.onError((error) => this.close(error));
    this.reader.listen(this.onMessage);
  }

  /**
   * Closes the connection: rejects every pending request with `ConnectionClosedError`, aborts every
   * running handler's signal, ends the writer and fires `onClose` once. Idempotent.
   */
  close(reason?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    if (reason) this.logger.debug({ err: reason }, `${this.name}: connection closed`);
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const request of pending) {
      request.dispose();
      request.sink.reject(this.closedError(request.descriptor.method));
    }
    const abortReason = reason ?? new ConnectionClosedError(`connection to ${this.name} closed`);
    for (const incoming of this.inFlight.values()) incoming.abort(abortReason);
    try {
      this.writer.end();
    } catch (error) {
      this.logger.debug({ err: error }, `${this.name}: ending the writer failed`);
    }
    for (const listener of this.closeListeners.splice(0)) {
      try {
        listener(reason);
      } catch (error) {
        this.logger.error({ err: error }, `${this.name}: close listener threw`);
      }
    }
  }

  /** Calls `listener` once when the peer closes (soon if it already has), unless disposed before. */
  onClose(listener: (reason?: Error) => void): Disposable {
    let disposed = false;
    if (this.closed) queueMicrotask(() => disposed || listener(this.closeReason));
    else this.closeListeners.push(listener);
    return Disposable.create(() => {
      disposed = true;
      const at = this.closeListeners.indexOf(listener);
      if (at >= 0) this.closeListeners.splice(at, 1);
    });
  }

  // --- incoming ---

  private readonly onMessage = (value: Message): void => {
    if (this.closed) return;
    const kind = messageKind(value);
    switch (kind) {
      case 'response':
        this.onResponse(value as ResponseMessage);
        return;
      case 'request':
        this.onRequestMessage(value as RequestMessage);
        return;
      case 'notification':
        this.onNotificationMessage(value as NotificationMessage);
        return;
      default:
        this.onInvalidMessage(value, kind);
    }
  };

  /**
   * An invalid request (it has a `method`) is answered with its error, as JSON-RPC asks. Anything
   * else (a response with both `result` and `error`, a non-object) is logged, truncated, and
   * dropped: answering a malformed response as if it were a request could ping-pong errors forever.
   */
  private onInvalidMessage(value: unknown, invalid: InvalidMessage): void {
    const isRequest = typeof value === 'object' && value !== null && !Array.isArray(value) && 'method' in value;
    if (isRequest && invalid.id !== null) {
      this.sendError(invalid.id, invalid.error.toObject());
      return;
    }
    this.logger.warn({ reason: invalid.error.message, message: previewMessage(value) }, `${this.name}: dropped an invalid message`);
  }

  private onResponse(message: ResponseMessage): void {
    const id = message.id;
    const request = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (request === undefined) {
      if ('error' in message && message.id === null) {
        this.logger.warn({ error: message.error }, `${this.name}: peer reported an error without id`);
      } else if (typeof id === 'number' && id > 0 && id < this.nextId) {
        // One of ours that was already settled: a late answer after a cancel or a timeout.
        this.logger.debug({ id }, `${this.name}: ignored a late response to request ${id}`);
      } else {
        this.logger.warn({ id }, `${this.name}: ignored a response to unknown request id ${String(id)}`);
      }
      return;
    }
    this.pending.delete(id as number);
    request.dispose();
    if ('error' in message) {
      request.sink.reject(RpcError.fromObject(message.error));
      return;
    }
    // A hot method's usual result is read by hand (its descriptor's fast path); the rest by its schema.
    const fastPath = request.descriptor.fastPath;
    if (fastPath !== undefined) {
      let fast: unknown;
      try {
        fast = fastPath.parseResult(message.result);
      } catch (error) {
        request.sink.reject(error as Error);
        return;
      }
      if (fast !== undefined) {
        request.sink.resolve(fast);
        return;
      }
    }
    const method = request.descriptor.method;
    const parsed = request.descriptor.result.safeParse(message.result);
    if (parsed.success) {
      request.sink.resolve(parsed.data);
    } else {
      const issues = fieldIssues(parsed.error);
      request.sink.reject(new RpcError(ErrorCodes.InternalError, `Invalid result for ${method}: ${describeFirstIssue(issues)}`, { method, issues }));
    }
  }

  private onRequestMessage(message: RequestMessage): void {
    const { id, method } = message;
    const registered = this.requestHandlers.get(method);
    if (registered === undefined) {
      this.sendError(id, { code: ErrorCodes.MethodNotFound, message: `Method not found: ${method}` });
      return;
    }
    if (this.inFlight.has(id)) {
      this.sendError(id, { code: ErrorCodes.InvalidRequest, message: `Invalid request: id ${JSON.stringify(id)} is already in flight` });
      return;
    }
    if (this.inFlight.size >= this.maxInFlight) {
      this.sendError(id, {
        code: ErrorCodes.ResourceUnavailable,
        message: `Too many requests in flight (maxInFlight ${this.maxInFlight}); ${method} refused`,
        data: { method, maxInFlight: this.maxInFlight },
      });
      return;
    }
    // A hot method's usual params are checked by hand (its descriptor's fast path); anything
    // else, and every other method, goes to the schema, which words the error.
    let params: unknown = registered.descriptor.fastPath?.parseParams(message.params);
    if (params === undefined) {
      try {
        params = parseOrInvalidParams(registered.descriptor.params, message.params, method);
      } catch (error) {
        this.sendError(id, (error as RpcError).toObject());
        return;
      }
    }
    const incoming = new IncomingRequest(id, method);
    let result: unknown;
    try {
      result = registered.handler(params, incoming);
    } catch (error) {
      this.finishWithError(incoming, error);
      return;
    }
    if (isThenable(result)) {
      // In flight only while it waits: most handlers answer at once (two Map operations less per
      // request), and over our transports no message (cancel, duplicate id) arrives during a
      // handler's synchronous part: readers deliver in later ticks.
      incoming.waiting = true;
      this.inFlight.set(id, incoming);
      // The handler's synchronous start closed the peer (close() found no entry to abort).
      if (this.closed) incoming.abort(this.closeReason ?? new ConnectionClosedError(`connection to ${this.name} closed`));
      result.then(
        (value) => this.finish(incoming, value),
        (error: unknown) => this.finishWithError(incoming, error),
      );
    } else {
      this.finish(incoming, result);
    }
  }

  private finish(incoming: IncomingRequest, value: unknown): void {
    if (incoming.waiting) this.inFlight.delete(incoming.id);
    if (this.closed) return;
    if (incoming.cancelled) {
      this.sendCancelled(incoming.id);
      return;
    }
    // `undefined` would vanish from the JSON and leave a response with neither result nor error.
    this.send(new ResultEnvelope(incoming.id, value === undefined ? null : value));
  }

  private finishWithError(incoming: IncomingRequest, error: unknown): void {
    if (incoming.waiting) this.inFlight.delete(incoming.id);
    if (this.closed) return;
    if (incoming.cancelled) {
      this.sendCancelled(incoming.id);
      return;
    }
    if (error instanceof RpcError) {
      this.sendError(incoming.id, error.toObject());
      return;
    }
    this.logger.error({ err: error, method: incoming.method }, `${this.name}: handler of ${incoming.method} failed`);
    const message = error instanceof Error ? error.message : String(error);
    this.sendError(incoming.id, { code: ErrorCodes.InternalError, message });
  }

  private onNotificationMessage(message: NotificationMessage): void {
    const method = message.method;
    if (method === CancelRequest.method) {
      this.onCancelRequest(message.params);
      return;
    }
    const registered = this.notificationHandlers.get(method);
    if (registered === undefined) {
      this.logger.debug({ method }, `${this.name}: ignored notification ${method} (no handler)`);
      return;
    }
    const parsed = registered.descriptor.params.safeParse(message.params);
    if (!parsed.success) {
      this.logger.warn({ method, issues: fieldIssues(parsed.error) }, `${this.name}: ignored notification ${method} with invalid params`);
      return;
    }
    try {
      const returned: unknown = registered.handler(parsed.data);
      if (isThenable(returned)) {
        returned.then(undefined, (error: unknown) =>
          this.logger.error({ err: error, method }, `${this.name}: notification handler of ${method} failed`),
        );
      }
    } catch (error) {
      this.logger.error({ err: error, method }, `${this.name}: notification handler of ${method} failed`);
    }
  }

  private onCancelRequest(params: unknown): void {
    const parsed = CancelRequest.params.safeParse(params);
    if (!parsed.success) {
      this.logger.warn({ params }, `${this.name}: ignored $/cancelRequest with invalid params`);
      return;
    }
    // The request may have finished already; then there is nothing left to cancel.
    const incoming = this.inFlight.get(parsed.data.id);
    incoming?.abort(new RequestCancelledError(incoming.method));
  }

  // --- outgoing ---

  private startSweeper(): ReturnType<typeof setInterval> {
    const sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    // Pending requests keep their transport open; the sweep alone must not keep a process alive.
    sweeper.unref();
    return sweeper;
  }

  /** Times out the requests whose tick has come; stops once none with a long timeout is left. */
  private sweep(): void {
    const tick = ++this.tick;
    let waiting = false;
    for (const request of this.pending.values()) {
      if (request.expiresAtTick === 0) continue;
      if (request.expiresAtTick <= tick) {
        this.abandon(request, new RequestTimeoutError(request.descriptor.method, request.timeoutMs));
      } else {
        waiting = true;
      }
    }
    if (!waiting && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Rejects a pending request after its signal aborted or its timeout fired, and tells the other side. */
  private abandon(request: OutgoingRequest, error: Error): void {
    if (this.pending.get(request.id) !== request) return;
    this.pending.delete(request.id);
    request.dispose();
    if (!this.closed) this.send({ jsonrpc: '2.0', method: CancelRequest.method, params: { id: request.id } });
    request.sink.reject(error);
  }

  private sendError(id: JsonRpcId, error: RpcErrorObject): void {
    this.send({ jsonrpc: '2.0', id, error });
  }

  private sendCancelled(id: JsonRpcId): void {
    this.sendError(id, { code: ErrorCodes.RequestCancelled, message: 'Request cancelled' });
  }

  private send(message: OutgoingMessage): void {
    const written = this.writer.write(message);
    // Writers that return a fresh promise per write get a guard so a failed write never becomes an
    // unhandled rejection; writers returning one shared promise (ours) pay for this check only.
    if (written !== this.guardedWrite) {
      this.guardedWrite = written;
      written.then(undefined, noop);
    }
  }

  private onWriteError(error: Error, message: Message | undefined): void {
    if (message === undefined) {
      // The stream itself failed: nothing more can be sent.
      this.close(error);
      return;
    }
    // One message could not be serialised: fail just that exchange.
    const m = message as Partial<RequestMessage & ResponseMessage>;
    if (m.method !== undefined && typeof m.id === 'number') {
      const request = this.pending.get(m.id);
      if (request !== undefined) {
        this.pending.delete(m.id);
        request.dispose();
        request.sink.reject(error);
      }
    } else if (m.method === undefined && m.id !== undefined && m.id !== null && !('error' in m)) {
      this.logger.error({ err: error, id: m.id }, `${this.name}: a result could not be serialised`);
      this.sendError(m.id, { code: ErrorCodes.InternalError, message: `Result could not be serialised: ${error.message}` });
    } else {
      this.logger.error({ err: error }, `${this.name}: a message could not be serialised`);
    }
  }

  private closedError(method: string): ConnectionClosedError {
    return new ConnectionClosedError(`connection to ${this.name} closed; ${method} got no answer`, { cause: this.closeReason });
  }
}

/** Timeouts from this long up are checked by the shared sweep (see `sendRequestTo`). */
export const SWEPT_TIMEOUT_MIN_MS = 10_000;
/** How often the sweep runs: a swept timeout fires at most two of these late. */
export const SWEEP_INTERVAL_MS = 1_000;
const PREVIEW_CHARS = 200;
const PREVIEW_FIELDS = 8;
const PREVIEW_VALUE_CHARS = 60;

/** What a peer writes: envelopes that know their JSON text, notifications, error responses. */
type OutgoingMessage = RequestEnvelope | ResultEnvelope | NotificationMessage | ErrorResponse;

interface RequestOwner {
  abandon(request: OutgoingRequest, error: Error): void;
}

/** Receives the answer of one outgoing request: its parsed result, or the error it failed with. */
export interface ResponseSink<T> {
  resolve(result: T): void;
  reject(error: Error): void;
}

/** An outgoing request awaiting its answer. Waits on its signal without a closure (`AbortWaiter`). */
class OutgoingRequest implements AbortWaiter {
  timer: ReturnType<typeof setTimeout> | undefined;
  timeoutMs = 0;
  /** The sweep tick at which a long timeout expires; 0 when the request has none. */
  expiresAtTick = 0;

  /** Set while the request waits on its signal, with its links among the signal's waiters. */
  abortWatch: AbortWaiter['abortWatch'];
  prev: AbortWaiter | undefined;
  next: AbortWaiter | undefined;

  constructor(
    readonly owner: RequestOwner,
    readonly id: number,
    readonly descriptor: AnyRequestMethod,
    readonly sink: ResponseSink<any>,
  ) {}

  /** Its signal aborted: the request is abandoned as cancelled. */
  aborted(reason: unknown): void {
    this.owner.abandon(this, new RequestCancelledError(this.descriptor.method, { cause: reason }));
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.abortWatch !== undefined) unwatchAbort(this);
  }
}

/** Removes a handler from `handlers` when it is still the one registered for `method`. */
function unregister<H>(handlers: Map<string, H>, method: string, registered: H): Disposable {
  return Disposable.create(() => {
    if (handlers.get(method) === registered) handlers.delete(method);
  });
}

function onRequestTimeout(request: OutgoingRequest): void {
  request.timer = undefined;
  request.owner.abandon(request, new RequestTimeoutError(request.descriptor.method, request.timeoutMs));
}

/** An incoming request being handled; its AbortController exists only once the handler reads `signal`. */
class IncomingRequest implements RequestContext {
  cancelled = false;
  /** Set when its handler returned a promise: the request is then in `inFlight` until it settles. */
  waiting = false;
  private controller: AbortController | undefined;
  private abortReason: unknown;

  constructor(
    readonly id: JsonRpcId,
    readonly method: string,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function noop(): void {}

/** A short description of an invalid message for a log line: never its whole text, which may be huge. */
function previewMessage(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value).slice(0, PREVIEW_CHARS);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const fields: string[] = [];
  for (const [key, v] of Object.entries(value).slice(0, PREVIEW_FIELDS)) {
    const shown = typeof v === 'object' && v !== null ? (Array.isArray(v) ? '[…]' : '{…}') : JSON.stringify(v);
    const text = String(shown);
    fields.push(`${JSON.stringify(key)}:${text.length > PREVIEW_VALUE_CHARS ? `${text.slice(0, PREVIEW_VALUE_CHARS)}…` : text}`);
  }
  return `{${fields.join(',')}}`.slice(0, PREVIEW_CHARS);
}
