import type { FlowrunClient } from '../client/index.js';
import { UsageError } from './usage-error.js';

/** Shortest prefix accepted for a run id (docs/cli.md). */
export const MIN_RUN_ID_PREFIX = 8;
const FULL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PAGE = 1000;

/**
 * The full run id for `text`: itself when it is a full id, else the one run whose id starts
 * with it (8+ characters), found through `runs/list`. None or several: a UsageError (exit 2).
 */
export async function resolveRunId(client: FlowrunClient, text: string): Promise<string> {
  if (FULL_ID.test(text)) return text;
  if (text.length < MIN_RUN_ID_PREFIX) {
    throw new UsageError(`run id "${text}": give the full id or a unique prefix of at least ${MIN_RUN_ID_PREFIX} characters`);
  }
  const prefix = text.toLowerCase();
  const matches: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.list({ limit: PAGE, cursor });
    for (const run of page.runs) if (run.runId.startsWith(prefix)) matches.push(run.runId);
    cursor = page.nextCursor;
  } while (cursor !== undefined && matches.length < 2);
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) throw new UsageError(`run id "${text}": no run has an id starting with it`);
  throw new UsageError(`run id "${text}" is ambiguous: it starts ${matches.join(', ')}${cursor !== undefined ? ', …' : ''}; give more characters`);
}
