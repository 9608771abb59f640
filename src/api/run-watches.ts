import { ErrorCodes, RpcError, RunsEvent, RunsUnwatch, RunsWatch, type RunsWatchParamsType } from '../../protocol/index.js';
import type { RpcPeer } from '../rpc/peer.js';
import type { RunManager } from '../runs/run-manager.js';
import { RunWatch, type WatchEvent } from './run-watch.js';
import { namespaceSeenBy, requireRole, type Principal } from './access.js';

/** Most watches one connection may hold at once; beyond it `runs/watch` is answered -32005. */
export const MAX_WATCHES_PER_CONNECTION = 256;

/** What `serve` opens watches on (docs/events.md): `runs/watch` over WebSocket and `GET /events`. */
export class RunWatches {
  constructor(private readonly runs: RunManager) {}

  /**
   * Opens a watch: resolves with its id and cursor once it listens; `send` then gets each event,
   * `onEnd` is called if the watch ends by itself (the watched run finished). A `principal` sees
   * the events of its namespace's runs only, an admin every namespace or the one it names
   * (docs/security.md); without one, every namespace or the one `params` names.
   */
  async open(params: RunsWatchParamsType, send: (event: WatchEvent) => void, onEnd?: () => void, principal?: Principal): Promise<{ watch: RunWatch; cursor: string }> {
    const namespace = principal === undefined ? params.namespace : namespaceSeenBy(principal, params.namespace, RunsWatch.method);
    const watch = new RunWatch(this.runs, params, send, onEnd, namespace);
    const { cursor } = await watch.open();
    return { watch, cursor };
  }
}

/**
 * Serves `runs/watch` and `runs/unwatch` on a connection, sending `runs/event` notifications;
 * the connection closing ends its watches.
 */
export function registerWatchHandlers(peer: RpcPeer, watches: RunWatches, principal?: Principal): void {
  const open = new Map<string, RunWatch>();
  peer.onRequest(RunsWatch, async (params) => {
    if (principal) requireRole(principal, RunsWatch.method);
    if (open.size >= MAX_WATCHES_PER_CONNECTION) {
      throw new RpcError(ErrorCodes.ResourceUnavailable, `this connection holds ${MAX_WATCHES_PER_CONNECTION} watches already; unwatch some first`);
    }
    const { watch, cursor } = await watches.open(
      params,
      (event) => {
        if (!peer.isClosed) peer.sendNotification(RunsEvent, { subscriptionId: watch.id, ...event });
      },
      () => open.delete(watch.id),
      principal,
    );
    open.set(watch.id, watch);
    return { subscriptionId: watch.id, cursor };
  });
  peer.onRequest(RunsUnwatch, ({ subscriptionId }) => {
    if (principal) requireRole(principal, RunsUnwatch.method);
    const watch = open.get(subscriptionId);
    watch?.close();
    open.delete(subscriptionId);
    return { removed: watch !== undefined };
  });
  peer.onClose(() => {
    for (const watch of open.values()) watch.close();
    open.clear();
  });
}
