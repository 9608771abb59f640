// Live run events (docs/events.md): one `runs/watch` kept alive across reconnects by watching
// again with `since` = the last cursor seen, so no event is missed. Events are handed over in
// batches, at most once per animation frame.
import { useEffect, useRef, useState } from 'preact/hooks';
import { RUN_EVENT_METHOD, type Api, type RunEvent, type RunsWatchParams } from './api.js';
import { RpcCallError } from './rpc.js';

/** `-32007`: the token's role may not watch (docs/security.md). */
const PERMISSION_DENIED = -32007;

export type WatchState = 'starting' | 'live' | 'denied' | 'failed';

export class RunWatcher {
  private subscriptionId: string | undefined;
  private cursor: string | undefined;
  private batch: RunEvent[] = [];
  /** Events that came before the watch's answer named its subscription: kept until it does. */
  private early: RunEvent[] = [];
  private frame = 0;
  private stopped = false;
  private readonly disposers: Array<() => void> = [];

  constructor(
    private readonly api: Api,
    private readonly params: RunsWatchParams,
    private readonly deliver: (events: RunEvent[]) => void,
    private readonly onState: (state: WatchState, message?: string) => void,
  ) {
    this.disposers.push(api.socket.onNotification((method, params) => method === RUN_EVENT_METHOD && this.receive(params as RunEvent)));
    this.disposers.push(api.socket.onState((state) => state === 'open' && this.start()));
    this.start();
  }

  stop(): void {
    this.stopped = true;
    cancelAnimationFrame(this.frame);
    for (const dispose of this.disposers) dispose();
    if (this.subscriptionId !== undefined) this.api.unwatch(this.subscriptionId).catch(() => undefined);
  }

  /** Watches (again): after a dropped socket the old subscription is gone, `since` resumes where it was. */
  private start(): void {
    this.subscriptionId = undefined;
    this.early = [];
    this.onState('starting');
    this.api
      .watch({ ...this.params, ...(this.cursor === undefined ? {} : { since: this.cursor }) })
      .then((answer) => {
        if (this.stopped) return void this.api.unwatch(answer.subscriptionId).catch(() => undefined);
        this.subscriptionId = answer.subscriptionId;
        this.cursor ??= answer.cursor;
        this.onState('live');
        for (const event of this.early.splice(0)) this.receive(event);
      })
      .catch((error: Error) => {
        if (this.stopped) return;
        // A lost connection is retried when the socket opens again.
        if (error instanceof RpcCallError) this.onState(error.code === PERMISSION_DENIED ? 'denied' : 'failed', error.message);
      });
  }

  private receive(event: RunEvent): void {
    if (this.stopped) return;
    // Other watches share the socket (a page being left unwatches asynchronously).
    if (this.subscriptionId === undefined) return void this.early.push(event);
    if (event.subscriptionId !== this.subscriptionId) return;
    this.cursor = event.cursor;
    this.batch.push(event);
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    this.frame = 0;
    const events = this.batch;
    this.batch = [];
    if (!this.stopped && events.length > 0) this.deliver(events);
  }
}

/**
 * Watches while mounted, re-watching when `key` changes; `onEvents` gets each frame's batch. Returns
 * the watch's state (a role that may not watch shows the data without live updates).
 */
export function useRunEvents(api: Api, params: RunsWatchParams, key: string, onEvents: (events: RunEvent[]) => void): WatchState {
  const [state, setState] = useState<WatchState>('starting');
  const handler = useRef(onEvents);
  handler.current = onEvents;
  useEffect(() => {
    const watcher = new RunWatcher(api, params, (events) => handler.current(events), setState);
    return () => watcher.stop();
  }, [api, key]);
  return state;
}
