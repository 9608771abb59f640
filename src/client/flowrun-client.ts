import type { Disposable } from 'vscode-jsonrpc';
import type WebSocket from 'ws';
import {
  BlobsGet,
  BlobsPut,
  RunsCompare,
  RunsGc,
  FlowsList,
  RunsEvent,
  RunsList,
  RunsSubmit,
  type BlobType,
  type ParamsIn,
  type RequestMethod,
  type ResultOut,
} from '../../protocol/index.js';
import { ConnectionClosedError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { byteSize, delayMs } from '../options.js';
import { RpcPeer, type RequestOptions } from '../rpc/peer.js';
import { RunHandle, submitAndWait } from './run-handle.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../transport/ndjson-reader.js';
import { wireWebSocket } from '../transport/websocket-connection.js';
import { namedClientError } from './client-errors.js';
import { openSocket } from './open-socket.js';
import { RunEventStream, type RunEvent, type WatchChannel, type WatchParams } from './event-stream.js';

/** Events of a subscription not yet claimed (they may come before the answer to its `runs/watch` is read), kept at most this many. */
const MAX_UNCLAIMED_EVENTS = 10_000;

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Sent as `Authorization: Bearer <token>`; needed when the server has one. */
  token?: string;
  /**
   * The namespace `list` and `watch` show when their params name none: an admin's token may name
   * any one (docs/security.md); other tokens see only their own. Default: the token's (an admin's:
   * every one).
   */
  namespace?: string;
  /** Aborts connecting (not the connection once open: use `close()`). */
  signal?: AbortSignal;
  /** Give up connecting after this long. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Largest frame accepted from the server. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Keep-alive ping interval; a silent server is dropped within two. Default 15 s. */
  pingIntervalMs?: number;
  /** Default: silent. */
  logger?: Logger;
}

export type SubmitParams = ParamsIn<typeof RunsSubmit>;
export type ListRunsParams = NonNullable<ParamsIn<typeof RunsList>>;
export type ListRunsResult = ResultOut<typeof RunsList>;
export type ListFlowsParams = NonNullable<ParamsIn<typeof FlowsList>>;
export type ListFlowsResult = ResultOut<typeof FlowsList>;
export type CompareRunsParams = Omit<ParamsIn<typeof RunsCompare>, 'runIds'>;
export type CompareRunsResult = ResultOut<typeof RunsCompare>;

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Connects to a runtime served by `flowrun serve` (docs/client.md). Fails with `ConnectError` naming the URL. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<FlowrunClient> {
  const connectTimeoutMs = delayMs('connectTimeoutMs', options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
  const socket = await openSocket(url, {
    token: options.token,
    signal: options.signal,
    connectTimeoutMs,
    maxMessageBytes: byteSize('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES),
  });
  return new FlowrunClient(socket, url, options);
}

/**
 * A connection to a flowrun runtime: submit runs and get handles on them, list runs, put and get
 * blobs. Every call takes `RequestOptions` (`signal`, `timeoutMs`); when the connection is lost,
 * pending calls reject with `ConnectionClosedError` naming the URL and the close code.
 */
export class FlowrunClient {
  private readonly peer: RpcPeer;
  /** Where each watch's events go, by subscription id; events of one not claimed yet wait in `unclaimed`. */
  private readonly sinks = new Map<string, (event: RunEvent) => void>();
  private readonly unclaimed: RunEvent[] = [];
  /** `runs/watch` requests not answered yet. */
  private opening = 0;
  /** Largest frame accepted from the server: `RunHandle` pages results under it. */
  readonly maxMessageBytes: number;
  /** The namespace `list` shows when its params name none (`ConnectOptions.namespace`). */
  readonly namespace: string | undefined;

  /** Use {@link connect}. */
  constructor(
    private readonly socket: WebSocket,
    readonly url: string,
    options: Pick<ConnectOptions, 'logger' | 'pingIntervalMs' | 'maxMessageBytes' | 'namespace'> = {},
  ) {
    this.namespace = options.namespace;
    const logger = options.logger ?? silentLogger;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const { reader, writer } = wireWebSocket(socket, {
      logger,
      name: url,
      pingIntervalMs: options.pingIntervalMs,
      onError: (error) => logger.debug({ err: error, url }, `${url}: ${error.message}`),
      // Called before the reader's and writer's own close, so the peer closes with the reason.
      onClose: (code, reason) => {
        const why = reason.length > 0 ? `: ${reason}` : '';
        this.peer.close(new ConnectionClosedError(`connection to ${url} closed (code ${code}${why})`));
      },
    });
    this.peer = new RpcPeer(reader, writer, { name: url, logger });
    this.peer.onNotification(RunsEvent, (event) => {
      const sink = this.sinks.get(event.subscriptionId);
      if (sink !== undefined) sink(event);
      // Only while a watch is being opened: events of an ended watch still on the wire are dropped.
      else if (this.opening > 0 && this.unclaimed.length < MAX_UNCLAIMED_EVENTS) this.unclaimed.push(event);
    });
    this.peer.listen();
  }

  /**
   * Watches runs (`runs/watch`, docs/events.md): all, one (`runId`), or those a filter selects,
   * as an async iterator of events, of `params.namespace`, else the client's `namespace` when set.
   * The client does not reconnect: after a lost connection, connect again and watch with
   * `since: stream.cursor`.
   */
  watch(params: WatchParams = {}): RunEventStream {
    const namespace = params.namespace ?? this.namespace;
    return new RunEventStream(this.watchChannel, namespace === undefined ? params : { ...params, namespace });
  }

  private readonly watchChannel: WatchChannel = {
    sendRequest: (d, params, options) => this.sendRequest(d, params as never, options),
    opening: (delta) => {
      this.opening += delta;
      if (this.opening === 0) this.unclaimed.length = 0;
    },
    subscribe: (subscriptionId, sink) => {
      this.sinks.set(subscriptionId, sink);
      for (let i = 0; i < this.unclaimed.length; ) {
        if (this.unclaimed[i].subscriptionId === subscriptionId) sink(this.unclaimed.splice(i, 1)[0]);
        else i++;
      }
      return () => this.sinks.delete(subscriptionId);
    },
    onClose: (listener) => this.peer.onClose(listener),
  };

  /** True once the connection is closed (by either side). */
  get isClosed(): boolean {
    return this.peer.isClosed;
  }

  /**
   * Calls any runtime method by its descriptor (what `RunHandle` uses). Errors with a name of
   * their own reject as it (`RunNotFoundError`, `BlobNotFoundError`, …: `client-errors.ts`).
   */
  sendRequest<D extends RequestMethod<any, any>>(d: D, params: ParamsIn<D>, options?: RequestOptions): Promise<ResultOut<D>> {
    return this.peer.sendRequest(d, params, options).catch((error: unknown) => {
      throw namedClientError(error, d, params);
    });
  }

  /**
   * Submits a run (`runs/submit`) and returns its handle; `handle.submitted` is the status at
   * submit. With `wait`, it is the status once the run is terminal (or `timeoutMs` passed), with
   * every result: the client waits and pages the results itself, since one answer holding them
   * all could exceed its frame limit.
   */
  submit(params: SubmitParams, options: RequestOptions = {}): Promise<RunHandle> {
    return submitAndWait(this, params, options);
  }

  /** A handle on an existing run; nothing is sent until it is used. */
  run(runId: string): RunHandle {
    return new RunHandle(this, runId);
  }

  /**
   * Lists runs, newest first unless `order: 'oldest'`, filtered by status, flow, label, metadata, parent… (`runs/list`),
   * of `params.namespace`, else the client's `namespace` when set.
   */
  list(params: ListRunsParams = {}, options?: RequestOptions): Promise<ListRunsResult> {
    const namespace = params.namespace ?? this.namespace;
    return this.sendRequest(RunsList, namespace === undefined ? params : { ...params, namespace }, options);
  }

  /**
   * Lists the flows the runs of a namespace ran, most recently used first, with their run counts
   * (`flows/list`), of `params.namespace`, else the client's `namespace` when set. `getBlob(flowId)` reads one.
   */
  listFlows(params: ListFlowsParams = {}, options?: RequestOptions): Promise<ListFlowsResult> {
    const namespace = params.namespace ?? this.namespace;
    return this.sendRequest(FlowsList, namespace === undefined ? params : { ...params, namespace }, options);
  }

  /**
   * Compares 2–4 runs item by item (`runs/compare`): a summary, and a page of items with each
   * run's result and whether they are the same (`nextOffset` while more remain).
   */
  compare(runIds: readonly string[], params: CompareRunsParams = {}, options?: RequestOptions): Promise<CompareRunsResult> {
    return this.sendRequest(RunsCompare, { ...params, runIds: [...runIds] }, options);
  }

  /**
   * Runs the retention sweep of the served runtime now (`runs/gc`): the runs and blobs it deleted,
   * or with `dryRun` would delete, as the config's `retention:` says (docs/retention.md).
   */
  gc(params: ParamsIn<typeof RunsGc> = {}, options?: RequestOptions): Promise<ResultOut<typeof RunsGc>> {
    return this.sendRequest(RunsGc, params, options);
  }

  /** Stores a blob and returns its id (`sha256:…`). A `flow` blob is validated first. */
  async putBlob(data: unknown, type: BlobType = 'data', options?: RequestOptions): Promise<string> {
    const result = await this.sendRequest(BlobsPut, { data, blob_type: type }, options);
    return result.blob_id;
  }

  /** Reads a blob; a missing id rejects with `BlobNotFoundError` (an `RpcError`, -32008). */
  async getBlob(blobId: string, options?: RequestOptions): Promise<{ data: unknown; blobType: BlobType }> {
    const result = await this.sendRequest(BlobsGet, { blob_id: blobId }, options);
    return { data: result.data, blobType: result.blob_type };
  }

  /** Calls `listener` once when the connection closes, with the reason when it was not `close()`; disposing stops that. */
  onClose(listener: (reason?: Error) => void): Disposable {
    return this.peer.onClose(listener);
  }

  /** Closes the connection (1000); pending calls reject. Resolves once the socket is closed. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (this.socket.readyState === this.socket.CLOSED) resolve();
      else this.socket.once('close', () => resolve());
    });
    this.peer.close();
    return closed;
  }
}
