import { RunsUnwatch, RunsWatch, type ParamsIn, type ParamsOut, type RunsEvent } from '../../protocol/index.js';
import type { RequestOptions } from '../rpc/peer.js';

/** One `runs/event` as a watch yields it. */
export type RunEvent = ParamsOut<typeof RunsEvent>;
/** What `client.watch()` takes: the params of `runs/watch` (docs/events.md). */
export type WatchParams = NonNullable<ParamsIn<typeof RunsWatch>>;

/** How a stream talks to its connection. */
export interface WatchChannel {
  sendRequest: <D extends typeof RunsWatch | typeof RunsUnwatch>(d: D, params: ParamsIn<D>, options?: RequestOptions) => Promise<any>;
  /** A `runs/watch` starts (+1) or ended (-1, after `subscribe`): events of unknown watches are kept meanwhile. */
  opening(delta: 1 | -1): void;
  /** Routes the events of `subscriptionId` to `sink` until the returned function is called. */
  subscribe(subscriptionId: string, sink: (event: RunEvent) => void): () => void;
  /** Calls `listener` when the connection closes. */
  onClose(listener: (reason?: Error) => void): { dispose(): void };
}

/**
 * The events of one watch as an async iterator (docs/client.md, "Events"). A watch of one run
 * ends after its `run.finished`; any watch ends when the loop breaks (the server is told:
 * `runs/unwatch`). When the connection closes the iterator throws; `cursor` is the last event's, so
 * a new connection resumes with `watch({...params, since: stream.cursor})` and misses nothing kept.
 */
export class RunEventStream implements AsyncIterable<RunEvent> {
  /** The cursor of the last event yielded (or of the watch's start): give it as `since` to resume. */
  cursor: string | undefined;
  private subscriptionId: string | undefined;
  private readonly queue: RunEvent[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private done = false;
  private unsubscribe: (() => void) | undefined;
  private started: Promise<void> | undefined;

  constructor(
    private readonly channel: WatchChannel,
    private readonly params: WatchParams,
  ) {}

  /** Sends `runs/watch` (once); resolves when the server listens. Iterating starts it too. */
  start(): Promise<void> {
    return (this.started ??= this.open());
  }

  private async open(): Promise<void> {
    const closed = this.channel.onClose((reason) => this.fail(reason ?? new Error('connection closed')));
    this.channel.opening(1);
    let unsubscribe: () => void;
    try {
      const { subscriptionId, cursor } = await this.channel.sendRequest(RunsWatch, this.params);
      this.subscriptionId = subscriptionId;
      this.cursor = cursor;
      unsubscribe = this.channel.subscribe(subscriptionId, (event) => this.push(event));
    } catch (err) {
      closed.dispose();
      throw err;
    } finally {
      this.channel.opening(-1);
    }
    this.unsubscribe = () => {
      unsubscribe();
      closed.dispose();
    };
  }

  private push(event: RunEvent): void {
    this.queue.push(event);
    this.wake?.();
  }

  private fail(reason: Error): void {
    this.failure ??= reason;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RunEvent> {
    await this.start();
    try {
      for (;;) {
        const event = this.queue.shift();
        if (event !== undefined) {
          this.cursor = event.cursor;
          yield event;
          if (this.params.runId !== undefined && event.type === 'run.finished') return;
          continue;
        }
        if (this.failure !== undefined) throw this.failure;
        if (this.done) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      await this.close();
    }
  }

  /** Ends the watch: the server stops sending (`runs/unwatch`) and iteration ends. */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.wake?.();
    this.unsubscribe?.();
    if (this.subscriptionId !== undefined && this.failure === undefined) {
      await this.channel.sendRequest(RunsUnwatch, { subscriptionId: this.subscriptionId }).catch(() => {});
    }
  }
}
