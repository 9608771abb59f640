import type { IncomingMessage, ServerResponse } from 'node:http';
import { replyJson } from './http-replies.js';
import { collectMetrics, type MetricsSources } from './metrics.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheusText } from './prometheus-text.js';

/**
 * Answers `GET /metrics` (and `HEAD`) with Prometheus text (docs/serve.md, "Metrics"). The caller
 * has shown an admin's token when the server has tokens (`ws-server.ts`): the metrics name
 * components and show the load of every namespace.
 */
export function answerMetrics(req: IncomingMessage, res: ServerResponse, sources: MetricsSources): void {
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
