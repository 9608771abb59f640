import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCodes, RpcError, RunsWatch } from '../../protocol/index.js';
import { requireRole, type Principal } from '../api/access.js';
import type { RunWatches } from '../api/run-watches.js';
import type { WatchEvent } from '../api/run-watch.js';
import type { Logger } from '../log.js';
import { watchParamsOfQuery } from './events-query.js';
import { replyJson } from './http-replies.js';

/** A comment line this often keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

/**
 * Answers `GET /events` with server-sent events (docs/events.md): the events of a `runs/watch`
 * whose params are the query's, each as `id: <cursor>`, `event: <type>`, `data: <runs/event
 * params as JSON>`. The caller checked the bearer token; `principal` needs the role of
 * `runs/watch` and sees only its namespace's runs (docs/security.md). Bad params → 400, an unknown run (or one of another
 * namespace) → 404, a role below viewer or another namespace asked for by a token that is not an admin's → 403, each
 * with a JSON body naming why.
 */
export function answerEvents(req: IncomingMessage, res: ServerResponse, watches: RunWatches, logger: Logger, principal: Principal): void {
  if (req.method !== 'GET') {
    replyJson(res, 405, { error: `${req.method} not allowed on /events` }, { Allow: 'GET' });
    return;
  }
  void stream(req, res, watches, logger, principal);
}

/** The HTTP status of a watch that could not open. */
const STATUS_OF_CODE = new Map<number, number>([
  [ErrorCodes.NotFound, 404],
  [ErrorCodes.InvalidParams, 400],
  [ErrorCodes.PermissionDenied, 403],
]);

async function stream(req: IncomingMessage, res: ServerResponse, watches: RunWatches, logger: Logger, principal: Principal): Promise<void> {
  let opened;
  try {
    requireRole(principal, RunsWatch.method);
    const params = watchParamsOfQuery(new URL(req.url ?? '/', 'http://localhost').searchParams, header(req, 'last-event-id'));
    let subscriptionId = '';
    const send = (event: WatchEvent): void => {
      res.write(`id: ${event.cursor}\nevent: ${event.type}\ndata: ${JSON.stringify({ subscriptionId, ...event })}\n\n`);
    };
    opened = await watches.open(params, send, () => res.end(), principal);
    subscriptionId = opened.watch.id;
  } catch (err) {
    const status = (err instanceof RpcError && STATUS_OF_CODE.get(err.code)) || 500;
    if (status === 500) logger.error({ err }, 'GET /events failed');
    replyJson(res, status, { error: err instanceof Error ? err.message : String(err), ...(err instanceof RpcError && { code: err.code }) });
    return;
  }
  const { watch, cursor } = opened;
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
  // The stream starts at once (headers and the cursor), before the first event.
  res.write(`: watching from cursor ${cursor}\n\n`);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  res.once('close', () => {
    clearInterval(heartbeat);
    watch.close();
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
