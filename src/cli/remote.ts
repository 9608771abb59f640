import { isTerminal, type ResultOrder, type RunStatus } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../client/index.js';
import type { RunHandle } from '../sdk/run-handle.js';
import { ProgressBar } from './progress.js';
import { UsageError } from './usage-error.js';

/** parseArgs options shared by the commands that talk to a served runtime (SPEC §9). */
export const REMOTE_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
} as const;

export const REMOTE_USAGE = '--url ws://HOST:PORT/ [--token T | env FLOWRUN_TOKEN]';

/** Bound of each long poll while a progress bar is drawn: how stale the bar may get. */
const PROGRESS_POLL_MS = 500;

/** Connects to `--url` with `--token` (or FLOWRUN_TOKEN); a refusal is one `ConnectError` naming the URL. */
export function connectRemote(values: { url?: string; token?: string }, usage: string): Promise<FlowrunClient> {
  if (values.url === undefined) throw new UsageError(`--url is required\nusage: ${usage}`);
  const token = values.token ?? (process.env.FLOWRUN_TOKEN || undefined);
  return connect(values.url, { token });
}

/**
 * Waits until the run is terminal. With a terminal on stderr a progress bar is drawn, refreshed by
 * bounded long polls (`runs/get` with `wait` and a short `timeoutMs`); otherwise it is one long
 * poll at a time without a bound. Either way the server answers the moment the run ends.
 */
export async function waitForRun(handle: RunHandle, initial: RunStatus | undefined, stream: NodeJS.WriteStream = process.stderr): Promise<RunStatus> {
  if (initial !== undefined && isTerminal(initial.status)) return initial;
  if (!stream.isTTY) {
    let status = await handle.wait();
    while (!isTerminal(status.status)) status = await handle.wait();
    return status;
  }
  let latest = initial ?? (await handle.status());
  const progress = new ProgressBar(() => latest.items, stream).start();
  try {
    while (!isTerminal(latest.status)) latest = await handle.wait({ timeoutMs: PROGRESS_POLL_MS });
  } finally {
    progress.stop();
  }
  return latest;
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
