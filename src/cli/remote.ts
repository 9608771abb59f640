import { RunsGet, isTerminal, type ResultOrder, type RunStatus } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../client/index.js';
import type { RunHandle } from '../client/run-handle.js';
import { ProgressBar, type ProgressStream } from './progress.js';
import { formatFailureSummary, type FirstFailure } from './failure-summary.js';
import type { Output } from './output.js';
import { UsageError } from './usage-error.js';

/** parseArgs options shared by the commands that talk to a served runtime (docs/cli.md). */
export const REMOTE_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
} as const;

export const REMOTE_USAGE = '[--url URL] [--token T]';

/** Where remote commands connect when neither `--url` nor FLOWRUN_URL says: `flowrun serve`'s default address. */
export const DEFAULT_URL = 'ws://127.0.0.1:7837/';

/** The help text of the remote flags, shared by every remote command. */
export const REMOTE_HELP = `  --url URL            the served runtime (default: $FLOWRUN_URL, else ${DEFAULT_URL})
  --token T            bearer token (default: $FLOWRUN_TOKEN)`;

/** Bound of each long poll while a progress bar is drawn: how stale the bar may get. */
const PROGRESS_POLL_MS = 500;
/** Results per page while looking for the first failed item. */
const RESULT_PAGE = 1000;

/**
 * Connects to `--url` (else FLOWRUN_URL, else the default address) with `--token` (else
 * FLOWRUN_TOKEN); a refusal is one `ConnectError` naming the URL.
 */
export function connectRemote(values: { url?: string; token?: string }): Promise<FlowrunClient> {
  const url = values.url ?? (process.env.FLOWRUN_URL || DEFAULT_URL);
  const token = values.token ?? (process.env.FLOWRUN_TOKEN || undefined);
  return connect(url, { token });
}

/**
 * Waits until the run is terminal. With a terminal on stderr a progress bar is drawn, refreshed by
 * bounded long polls (`runs/get` with `wait` and a short `timeoutMs`); otherwise it is one long
 * poll at a time without a bound. Either way the server answers the moment the run ends.
 * Aborting `signal` (Ctrl-C) rejects; the run goes on.
 */
export async function waitForRun(handle: RunHandle, initial: RunStatus | undefined, stream: ProgressStream = process.stderr, signal?: AbortSignal): Promise<RunStatus> {
  if (initial !== undefined && isTerminal(initial.status)) return initial;
  if (!stream.isTTY) {
    let status = await handle.wait({ signal });
    while (!isTerminal(status.status)) status = await handle.wait({ signal });
    return status;
  }
  let latest = initial ?? (await handle.status({ signal }));
  const progress = new ProgressBar(() => latest.items, stream).start();
  try {
    while (!isTerminal(latest.status)) latest = await handle.wait({ timeoutMs: PROGRESS_POLL_MS, signal });
  } finally {
    progress.stop();
  }
  return latest;
}

/** Connects, runs `use` with the client, and closes the connection whatever happens. */
export async function withRemote<T>(values: { url?: string; token?: string }, use: (client: FlowrunClient) => Promise<T>): Promise<T> {
  const client = await connectRemote(values);
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/** The failed item with the lowest index, paging through the results in input order. */
export async function findFirstFailure(client: FlowrunClient, runId: string): Promise<FirstFailure | undefined> {
  let offset: number | undefined = 0;
  while (offset !== undefined) {
    const page: RunStatus = await client.sendRequest(RunsGet, { runId, includeResults: true, offset, limit: RESULT_PAGE });
    const failed = (page.results ?? []).find((r) => r.status === 'failed');
    if (failed) return { itemIndex: failed.itemIndex, result: failed.result };
    offset = (page.results?.length ?? 0) > 0 ? page.nextOffset : undefined;
  }
  return undefined;
}

/** After waiting for a run: the one summary line on stderr when items failed (docs/cli.md). */
export async function reportFailures(client: FlowrunClient, status: RunStatus, out: Output): Promise<void> {
  if (status.items.failed === 0) return;
  out.error(formatFailureSummary(status.items, await findFirstFailure(client, status.runId), status.runId));
}

/**
 * Every item result in `order` (for a running run: those available now), with the run's status
 * after them; paged under the client's frame limit by `RunHandle.itemResults`.
 */
export async function collectResults(client: FlowrunClient, runId: string, order: ResultOrder): Promise<RunStatus> {
  const handle = client.run(runId);
  const results = await handle.itemResults({ order });
  return { ...(await handle.status()), results };
}

/** Parses `--order`. */
export function parseOrder(text: string | undefined): ResultOrder {
  if (text === undefined) return 'byIndex';
  if (text === 'byIndex' || text === 'by_index') return 'byIndex';
  if (text === 'byCompletion' || text === 'by_completion') return 'byCompletion';
  throw new UsageError(`--order: expected byIndex or byCompletion, got "${text}"`);
}

/** Exit code of a waited-for run: 0 when every item succeeded, 1 otherwise (as `flowrun run`). */
export function exitCodeOf(status: RunStatus): number {
  return status.status === 'success' && status.items.failed === 0 && status.items.cancelled === 0 ? 0 : 1;
}
