import pg from 'pg';

/**
 * What the demo reads of the cluster's tables (docs/cluster.md): the `nodes` rows, and every claim
 * of a chunk, which the `chunks` table forgets once a chunk is done (its holder is cleared). A
 * trigger the demo adds to its throw-away database records each claim (a new epoch with a holder).
 */
export class ChunkClaims {
  private constructor(private readonly client: pg.Client) {}

  /** Connects and adds the claim log; call once the first node has created the schema. */
  static async open(url: string): Promise<ChunkClaims> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(CLAIM_LOG);
    } catch (err) {
      await client.end();
      throw err;
    }
    return new ChunkClaims(client);
  }

  /** The node id of the node process `pid` (its row in `nodes`), once it has registered. */
  async nodeIdOf(pid: number): Promise<string | undefined> {
    const { rows } = await this.client.query<{ node_id: string }>('SELECT node_id FROM nodes WHERE pid = $1', [pid]);
    return rows[0]?.node_id;
  }

  /** How many chunks of the run `nodeId` holds right now. */
  async chunksHeld(runId: string, nodeId: string): Promise<number> {
    const { rows } = await this.client.query<{ n: number }>(
      "SELECT count(*)::integer AS n FROM chunks WHERE run_id = $1 AND holder = $2 AND state = 'open'",
      [runId, nodeId],
    );
    return rows[0].n;
  }

  /** The run's items by the node whose claim of each chunk came last (the one that finished it). */
  async itemsByFinisher(runId: string): Promise<Map<string, number>> {
    const { rows } = await this.client.query<{ holder: string; items: number }>(
      `SELECT holder, sum(end_item - first_item)::integer AS items
         FROM (SELECT DISTINCT ON (chunk_index) chunk_index, holder, first_item, end_item
                 FROM demo_claims WHERE run_id = $1 ORDER BY chunk_index, epoch DESC) last_claims
        GROUP BY holder`,
      [runId],
    );
    return new Map(rows.map((r) => [r.holder, r.items]));
  }

  /** The chunks of the run that `nodeId` claimed and another node claimed next, with who. */
  async takenOver(runId: string, nodeId: string): Promise<Array<{ chunkIndex: number; by: string }>> {
    const { rows } = await this.client.query<{ chunk_index: number; holder: string }>(
      `SELECT DISTINCT ON (lost.chunk_index, lost.epoch) later.chunk_index, later.holder
         FROM demo_claims lost JOIN demo_claims later
           ON later.run_id = lost.run_id AND later.chunk_index = lost.chunk_index AND later.epoch > lost.epoch
        WHERE lost.run_id = $1 AND lost.holder = $2 AND later.holder <> $2
        ORDER BY lost.chunk_index, lost.epoch, later.epoch`,
      [runId, nodeId],
    );
    return rows.map((r) => ({ chunkIndex: r.chunk_index, by: r.holder }));
  }

  close(): Promise<void> {
    return this.client.end();
  }
}

const CLAIM_LOG = `
  CREATE TABLE demo_claims (run_id text, chunk_index integer, epoch bigint, holder text, first_item integer, end_item integer);
  CREATE FUNCTION demo_log_claim() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO demo_claims VALUES (NEW.run_id, NEW.chunk_index, NEW.epoch, NEW.holder, NEW.first_item, NEW.end_item);
    RETURN NULL;
  END $$;
  CREATE TRIGGER demo_log_claim AFTER UPDATE ON chunks FOR EACH ROW
    WHEN (NEW.holder IS NOT NULL AND NEW.epoch <> OLD.epoch) EXECUTE FUNCTION demo_log_claim();
`;
