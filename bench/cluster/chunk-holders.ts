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
}

/** How to read `chunks`: the quoted holder column, and the SQL condition of an open chunk. */
export interface ChunkTable {
  holder: string;
  open: string;
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
  return { holder: `"${holder.replace(/"/g, '""')}"`, open: names.includes('state') ? "state = 'open'" : 'TRUE' };
}

/** The open chunks of `runId` that some node holds now. */
export async function heldChunks(client: pg.Client, table: ChunkTable, runId: string): Promise<HeldChunk[]> {
  const { rows } = await client.query<{ chunk_index: number; holder: string }>(
    `SELECT chunk_index, ${table.holder}::text AS holder FROM chunks
      WHERE run_id = $1 AND ${table.holder} IS NOT NULL AND ${table.open} ORDER BY chunk_index`,
    [runId],
  );
  return rows.map((r) => ({ chunkIndex: Number(r.chunk_index), holder: r.holder }));
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
