import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerTokenMatches, UNAUTHORIZED_MESSAGE } from './bearer-token.js';
import { replyJson } from './http-replies.js';
import { collectMetrics, type MetricsSources } from './metrics.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheusText } from './prometheus-text.js';

/**
 * Answers `GET /metrics` (and `HEAD`) with Prometheus text (docs/serve.md, "Metrics"). Like a
 * WebSocket upgrade it needs the bearer token when the server has one: the metrics name
 * components and show the load.
 */
export function answerMetrics(req: IncomingMessage, res: ServerResponse, token: string | undefined, sources: MetricsSources): void {
  if (token !== undefined && !bearerTokenMatches(req.headers.authorization, token)) {
    sources.logger.warn({ remote: req.socket.remoteAddress }, 'refused a /metrics request without a valid bearer token');
    replyJson(res, 401, { error: UNAUTHORIZED_MESSAGE }, { 'WWW-Authenticate': 'Bearer' });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    replyJson(res, 405, { error: `${req.method} not allowed on /metrics` }, { Allow: 'GET, HEAD' });
    return;
  }
  collectMetrics(sources).then(
    (families) => {
      const text = renderPrometheusText(families);
      res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    },
    (err: unknown) => {
      sources.logger.error({ err }, 'metrics: collecting failed');
      replyJson(res, 500, { error: `cannot collect the metrics: ${err instanceof Error ? err.message : String(err)}` });
    },
  );
}
