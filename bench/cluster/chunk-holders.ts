/**
 * Who holds which chunk of a run, read from the cluster's `chunks` table (docs/cluster.md): the
 * takeover case kills a holder and polls for another node to claim its chunks. The holder column is
 * found by name (`holder…`), so the bench reads the table whatever that column is called, and a
 * `state` column, when there is one, keeps only open chunks; a database without the table has no
 * chunks, and the case says so.
 */
import type pg from 'pg';

export interface HeldChunk {
  chunkIndex: number;
  holder: string;
  /** Items the holder may run at once in this chunk (1 when the table has no `slots`). */
  slots: number;
}

/** How to read `chunks`: the quoted holder column, the SQL condition of an open chunk, and what else it has. */
export interface ChunkTable {
  holder: string;
  open: string;
  slots: string;
  /** Whether rows carry their item range (`first_item`, `end_item`). */
  ranges: boolean;
}

/** How `chunks` of the current schema reads; undefined when there is no such table. */
export async function chunkTable(client: pg.Client): Promise<ChunkTable | undefined> {
  const { rows } = await client.query<{ column_name: string }>(
    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'chunks' ORDER BY ordinal_position",
  );
  if (rows.length === 0) return undefined;
  const names = rows.map((r) => r.column_name);
  const holder = names.find((n) => n === 'holder') ?? names.find((n) => n.startsWith('holder'));
  if (holder === undefined) throw new Error(`table chunks has no holder column (columns: ${names.join(', ')})`);
  return {
    holder: `"${holder.replace(/"/g, '""')}"`,
    open: names.includes('state') ? "state = 'open'" : 'TRUE',
    slots: names.includes('slots') ? 'slots' : '1',
    ranges: names.includes('first_item') && names.includes('end_item'),
  };
}

/** The open chunks of `runId` that some node holds now. */
export async function heldChunks(client: pg.Client, table: ChunkTable, runId: string): Promise<HeldChunk[]> {
  const { rows } = await client.query<{ chunk_index: number; holder: string; slots: number }>(
    `SELECT chunk_index, ${table.holder}::text AS holder, ${table.slots} AS slots FROM chunks
      WHERE run_id = $1 AND ${table.holder} IS NOT NULL AND ${table.open} ORDER BY chunk_index`,
    [runId],
  );
  return rows.map((r) => ({ chunkIndex: Number(r.chunk_index), holder: r.holder, slots: Number(r.slots) }));
}

/** Items of `runId` recorded running in the open chunks `holder` holds; undefined when chunks carry no item range. */
export async function runningItemsOf(client: pg.Client, table: ChunkTable, runId: string, holder: string): Promise<number | undefined> {
  if (!table.ranges) return undefined;
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM items i JOIN chunks c ON c.run_id = i.run_id AND i.item_index >= c.first_item AND i.item_index < c.end_item
      WHERE c.run_id = $1 AND c.${table.holder}::text = $2 AND c.${table.open} AND i.status = 'running'`,
    [runId, holder],
  );
  return Number(rows[0].n);
}

/** The pid of each live node row, by node id. */
export async function nodePids(client: pg.Client): Promise<Map<string, number>> {
  const { rows } = await client.query<{ node_id: string; pid: number }>('SELECT node_id, pid FROM nodes');
  return new Map(rows.map((r) => [r.node_id, Number(r.pid)]));
}

export interface TakeoverOptions {
  /** Between two reads of the table. */
  pollMs: number;
  /** Gives up (rejects, naming the run and node) after this long. */
  timeoutMs: number;
}

export interface Takeover {
  chunkIndex: number;
  newHolder: string;
  /** Reads of the table until the claim was seen. */
  polls: number;
}

/**
 * Polls until one of `chunks` (held by `victim` when it was killed) is held by another node, and
 * says which. Rows whose holder is NULL (a lease handed back) are still waiting for a claim.
 */
export async function waitForTakeover(client: pg.Client, table: ChunkTable, runId: string, victim: string, chunks: readonly number[], options: TakeoverOptions): Promise<Takeover> {
  const deadline = Date.now() + options.timeoutMs;
  for (let polls = 1; ; polls++) {
    const { rows } = await client.query<{ chunk_index: number; holder: string }>(
      `SELECT chunk_index, ${table.holder}::text AS holder FROM chunks
        WHERE run_id = $1 AND chunk_index = ANY($2::int[]) AND ${table.holder} IS NOT NULL AND ${table.holder}::text <> $3
        ORDER BY chunk_index LIMIT 1`,
      [runId, chunks, victim],
    );
    if (rows[0]) return { chunkIndex: Number(rows[0].chunk_index), newHolder: rows[0].holder, polls };
    if (Date.now() >= deadline) throw new Error(`no node claimed a chunk of run ${runId} held by killed node ${victim} within ${options.timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}
