import {
  BlobsGet,
  BlobsPut,
  FlowsList,
  RunsCancel,
  RunsCompare,
  RunsDelete,
  RunsGc,
  RunsGet,
  RunsItems,
  RunsList,
  RunsRerun,
  RunsMetrics,
  RunsSubmit,
  parseOrInvalidParams,
  type ParamsIn,
  type RequestMethod,
  type ResultOut,
} from '../../protocol/index.js';
import { RequestCancelledError, RequestTimeoutError } from '../errors.js';
import { delayMs } from '../options.js';
import type { RequestOptions } from '../rpc/peer.js';
import type { CallerContext, RuntimeApi } from './runtime-api.js';

type AnyMethod = RequestMethod<any, any>;
type Handler = (api: RuntimeApi, params: any, caller: CallerContext) => Promise<unknown>;

/** The runtime methods a program may call in process, as a client of `flowrun serve` may over the wire. */
const HANDLERS = new Map<AnyMethod, Handler>([
  [BlobsPut, (api, params, caller) => api.blobsPut(params, caller)],
  [BlobsGet, (api, params, caller) => api.blobsGet(params, caller)],
  [RunsSubmit, (api, params, caller) => api.runsSubmit(params, caller)],
  [RunsGet, (api, params, caller) => api.runsGet(params, caller)],
  [RunsCancel, (api, params, caller) => api.runsCancel(params, caller)],
  [RunsList, (api, params, caller) => api.runsList(params, caller)],
  [RunsRerun, (api, params, caller) => api.runsRerun(params, caller)],
  [RunsCompare, (api, params, caller) => api.runsCompare(params, caller)],
  [RunsDelete, (api, params, caller) => api.runsDelete(params, caller)],
  [RunsGc, (api, params, caller) => api.runsGc(params, caller)],
  [FlowsList, (api, params, caller) => api.flowsList(params, caller)],
  [RunsItems, (api, params, caller) => api.runsItems(params, caller)],
  [RunsMetrics, (api, params, caller) => api.runsMetrics(params, caller)],
]);

/**
 * Sends requests to the runtime API of this process by descriptor, as a connection to
 * `flowrun serve` does: params and results are parsed with the descriptor's schemas (defaults
 * applied, a bad field rejects with `-32602`), aborting `signal` rejects with
 * `RequestCancelledError` and `timeoutMs` with `RequestTimeoutError` (docs/client.md), and the
 * call sees the abort as a cancelled request would. The embedded runtime's run handles use it, so
 * embedding and remote use read the same.
 */
export class InProcessCaller {
  constructor(private readonly api: RuntimeApi) {}

  sendRequest<D extends AnyMethod>(d: D, params: ParamsIn<D>, options: RequestOptions = {}): Promise<ResultOut<D>> {
    const handler = HANDLERS.get(d);
    if (handler === undefined) return Promise.reject(new RangeError(`${d.method} is not a method of the runtime`));
    try {
      delayMs(`${d.method}: timeoutMs`, options.timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    if (options.signal?.aborted) return Promise.reject(new RequestCancelledError(d.method, { cause: options.signal.reason }));
    const controller = new AbortController();
    return new Promise<ResultOut<D>>((resolve, reject) => {
      const stop = (error: Error): void => {
        controller.abort(error);
        reject(error);
      };
      const onAbort = (): void => stop(new RequestCancelledError(d.method, { cause: options.signal?.reason }));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => stop(new RequestTimeoutError(d.method, options.timeoutMs!)), options.timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      Promise.resolve()
        .then(() => handler(this.api, parseOrInvalidParams(d.params, params, d.method), { signal: controller.signal }))
        .then((result) => d.result.parse(result) as ResultOut<D>)
        .then(
          (result) => (done(), resolve(result)),
          (error: unknown) => (done(), reject(error)),
        );
    });
  }
}
