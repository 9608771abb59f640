import type { Api } from '../api.js';

const PAGE = 1000;

/** Every item's result as JSON Lines (`{itemIndex, status, result}`), read through `runs/items` a page at a time. */
export async function downloadResults(api: Api, runId: string): Promise<void> {
  const lines: string[] = [];
  let offset: number | undefined = 0;
  while (offset !== undefined) {
    const page = await api.runItems({ runId, offset, limit: PAGE });
    for (const item of page.items) lines.push(JSON.stringify({ itemIndex: item.itemIndex, status: item.status, result: item.result }));
    offset = page.nextOffset;
  }
  const url = URL.createObjectURL(new Blob([lines.join('\n') + (lines.length > 0 ? '\n' : '')], { type: 'application/x-ndjson' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `${runId}.jsonl`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
