import { parseOrInvalidParams, RunsWatchParams, type RunsWatchParamsType } from '../../protocol/index.js';

/** Query parameters of `GET /events` that carry text as it is; the others are converted below. */
const TEXT_FIELDS = ['runId', 'since', 'namespace', 'flowId', 'flowName', 'flowLabel', 'parentRunId', 'rerunOf', 'createdAfter', 'createdBefore'] as const;
const FILTER_FIELDS = new Set(['status', 'flowId', 'flowName', 'flowLabel', 'metadata', 'parentRunId', 'rootsOnly', 'rerunOf', 'createdAfter', 'createdBefore']);

/**
 * The `runs/watch` params of a `GET /events` query (docs/events.md): `runId`, `since`,
 * `namespace`, `items=true`, `progressEveryMs`, and the filter fields of `runs/list` as parameters of their own
 * (`status` comma-separated or repeated, `metadata` a JSON object, `rootsOnly=true`). A
 * `Last-Event-ID` header (what a browser's EventSource sends when it reconnects) stands for `since`.
 * Bad values throw the -32602 `RpcError` naming the field.
 */
export function watchParamsOfQuery(query: URLSearchParams, lastEventId: string | undefined): RunsWatchParamsType {
  const raw: Record<string, unknown> = {};
  for (const field of TEXT_FIELDS) {
    const value = query.get(field);
    if (value !== null) raw[field] = value;
  }
  const statuses = query.getAll('status').flatMap((s) => s.split(',')).filter((s) => s.length > 0);
  if (statuses.length > 0) raw.status = statuses;
  for (const flag of ['items', 'rootsOnly'] as const) {
    const value = query.get(flag);
    if (value !== null) raw[flag] = value === 'true' ? true : value === 'false' ? false : value;
  }
  const every = query.get('progressEveryMs');
  if (every !== null) raw.progressEveryMs = /^\d+$/.test(every) ? Number(every) : every;
  const metadata = query.get('metadata');
  if (metadata !== null) raw.metadata = parseJson(metadata);
  if (lastEventId !== undefined && lastEventId.length > 0) raw.since = lastEventId;
  const params: Record<string, unknown> = {};
  const filter: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) (FILTER_FIELDS.has(key) ? filter : params)[key] = value;
  if (Object.keys(filter).length > 0) params.filter = filter;
  return parseOrInvalidParams(RunsWatchParams, params, 'GET /events');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
