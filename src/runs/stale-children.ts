import type { LoadedRun, RunSummary, StateStore } from '../statestore/state-store.js';

/** Runs read per page while looking for children. */
const PAGE = 1000;

/**
 * After a crash, an item that had not finished runs again, and its component submits its child
 * runs anew: the unfinished children of its earlier attempt (and their descendants) are marked
 * cancelled in the store, so resuming them finishes cancelling them instead of running them beside
 * the new ones. Children of finished items are left alone (they may be meant to outlive the item).
 * Returns the ids marked.
 */
export async function cancelStaleChildren(store: StateStore, parent: LoadedRun): Promise<string[]> {
  const unfinished = (index: number) => {
    const status = parent.items[index]?.status;
    return status === 'pending' || status === 'running';
  };
  const stale = (await unfinishedChildren(store, parent.record.runId)).filter(
    (child) => child.record.parentItemIndex !== undefined && unfinished(child.record.parentItemIndex),
  );
  const marked: string[] = [];
  // Walked with a list, not recursion: a chain of nested runs can be long.
  const toCancel = stale.map((child) => child.record.runId);
  for (let runId = toCancel.pop(); runId !== undefined; runId = toCancel.pop()) {
    await store.markCancelled(runId);
    marked.push(runId);
    for (const child of await unfinishedChildren(store, runId)) toCancel.push(child.record.runId);
  }
  return marked;
}

async function unfinishedChildren(store: StateStore, parentRunId: string): Promise<RunSummary[]> {
  const children: RunSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listRuns({ parentRunId, statuses: ['pending', 'running'], cursor, limit: PAGE });
    for (const child of page.runs) if (!child.state.cancelRequested) children.push(child);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return children;
}
