import type { ItemResult, RunHandle } from '../../src/client/index.js';

/** Every item result of a run, read page by page (`limit` per page) in item order. */
export async function allResults(run: RunHandle, limit: number): Promise<ItemResult[]> {
  const results: ItemResult[] = [];
  for (let offset: number | undefined = 0; offset !== undefined; ) {
    const page = await run.results({ offset, limit });
    results.push(...page.results);
    offset = page.nextOffset;
  }
  return results;
}
