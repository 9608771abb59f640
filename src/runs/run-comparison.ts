import type { FlowResult, RunStatus, RunsCompareResultType } from '../../protocol/index.js';
import { jsonEqual } from '../values/json-equal.js';
import { CANCELLED } from '../executor/failures.js';
import type { RunState } from './run-state.js';

/** Which page of compared items to return. */
export interface ComparePage {
  onlyDifferent: boolean;
  offset: number;
  limit: number;
}

/**
 * Compares 2–4 runs item by item (docs/protocol.md, "runs/compare"). Items are matched by key:
 * a run's item index, or, for a run that reruns another of the compared runs, the key of the
 * source item it reruns (through chains of reruns). An item is the same when every run has it
 * settled with equal results (outcome and value as JSON, key order ignored); a key some run lacks
 * (or has not settled) is missing. The summary counts every key; `items` is one page of them,
 * ascending by key, of the differing and missing ones only with `onlyDifferent`.
 */
export function compareRuns(states: readonly RunState[], statuses: RunStatus[], page: ComparePage): RunsCompareResultType {
  const keyed = states.map((state) => itemsByKey(state, states));
  const keyCount = Math.max(0, ...keyed.map((byKey) => byKey.length));
  const summary = { items: 0, same: 0, different: 0, missing: 0 };
  const items: RunsCompareResultType['items'] = [];
  let listed = 0;
  let nextOffset: number | undefined;
  for (let key = 0; key < keyCount; key++) {
    const results = keyed.map((byKey, r) => resultAt(states[r], byKey[key] ?? -1));
    if (results.every((result) => result === null)) continue;
    summary.items++;
    const same = results.every((result) => result !== null && jsonEqual(result, results[0]));
    if (same) summary.same++;
    else if (results.includes(null)) summary.missing++;
    else summary.different++;
    if (page.onlyDifferent && same) continue;
    if (listed >= page.offset && items.length < page.limit) items.push({ key, results, same });
    else if (items.length === page.limit && nextOffset === undefined) nextOffset = listed;
    listed++;
  }
  const settings = states.map(({ identity: { variables, overrides, maxConcurrency } }) => ({ variables: variables ?? {}, ...(overrides !== undefined && { overrides }), ...(maxConcurrency !== undefined && { maxConcurrency }) }));
  return nextOffset === undefined ? { runs: statuses, settings, summary, items } : { runs: statuses, settings, summary, items, nextOffset };
}

/** A run's item index by key (-1: none), keys mapped through its `sourceIndices` when it reruns a compared run. */
function itemsByKey(state: RunState, all: readonly RunState[], depth = 0): Int32Array {
  const { total, rerunOf, sourceIndices } = state.identity;
  const source = rerunOf === undefined ? undefined : all.find((s) => s.runId === rerunOf);
  if (source === undefined || sourceIndices === undefined || depth >= all.length) {
    return Int32Array.from({ length: total }, (_, i) => i);
  }
  // The source's key of each of its items: its own index unless it reruns another.
  const sourceKeys = keysOf(itemsByKey(source, all, depth + 1), source.identity.total);
  let keyCount = 0;
  for (const key of sourceKeys) if (key >= keyCount) keyCount = key + 1;
  const byKey = new Int32Array(keyCount).fill(-1);
  for (let i = 0; i < total; i++) {
    const key = sourceKeys[sourceIndices[i]];
    if (key !== undefined && key >= 0) byKey[key] = i;
  }
  return byKey;
}

/** Inverts key → item into item → key. */
function keysOf(byKey: Int32Array, total: number): number[] {
  const keys = new Array<number>(total).fill(-1);
  byKey.forEach((item, key) => {
    if (item >= 0) keys[item] = key;
  });
  return keys;
}

/** The settled result of an item (a cancelled one without a result reads as cancelled), or null. */
function resultAt(state: RunState, index: number): FlowResult | null {
  if (index < 0) return null;
  const status = state.itemStatusOf(index);
  if (status === 'pending' || status === 'running') return null;
  return state.resultOf(index) ?? CANCELLED;
}
