import type { FlowResult, ItemCounts } from '../../protocol/index.js';

/** The first failed item of a run: its index and result. */
export interface FirstFailure {
  itemIndex: number;
  result?: FlowResult;
}

/**
 * The one stderr line after a run with failed items (docs/cli.md):
 * `21 of 20000 items failed (first: item 17: step "x" failed: <cause>); see flowrun items ID --status failed`.
 * `runId` is given when the run can be looked at afterwards (a served runtime).
 */
export function formatFailureSummary(counts: ItemCounts, first: FirstFailure | undefined, runId?: string): string {
  const firstText = first === undefined ? '' : ` (first: item ${first.itemIndex}: ${describeFailure(first.result)})`;
  const see = runId === undefined ? '' : `; see flowrun items ${runId} --status failed`;
  return `${counts.failed} of ${counts.total} items failed${firstText}${see}`;
}

/** `step "x" failed: <cause message>`, or the error's own message when it has no cause. */
export function describeFailure(result: FlowResult | undefined): string {
  if (result === undefined || result.outcome !== 'failed') return 'failed';
  const { message, data } = result.error;
  const cause = (data as { cause?: { message?: unknown } } | undefined)?.cause?.message;
  return oneLine(typeof cause === 'string' && cause !== '' ? `${message}: ${cause}` : message);
}

/** Keeps the summary one line: newlines folded, long messages cut. */
function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
