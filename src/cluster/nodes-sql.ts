/**
 * Every statement on the `nodes` table (docs/cluster.md). Times are read from the database's
 * clock (`NOW_MS`), so nodes on machines whose clocks disagree still judge heartbeats alike.
 */
export const NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

/** Registers a node, or revives its row (the row vanished while the node lived). `$1..$3`: id, host, pid. */
export const REGISTER_NODE = `
  INSERT INTO nodes (node_id, host, pid, started_at, heartbeat_at)
  VALUES ($1, $2, $3, ${NOW_MS}, ${NOW_MS})
  ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at
  RETURNING started_at, heartbeat_at`;

/** The heartbeat: affects no row when the node's row is gone. `$1`: id. */
export const HEARTBEAT_NODE = `UPDATE nodes SET heartbeat_at = ${NOW_MS} WHERE node_id = $1 RETURNING heartbeat_at`;

/** Leaves the cluster on a graceful close. `$1`: id. */
export const REMOVE_NODE = `DELETE FROM nodes WHERE node_id = $1`;

/** Every node, oldest first; `alive` when its heartbeat is younger than `$1` ms. */
export const LIST_NODES = `
  SELECT node_id, host, pid, started_at, heartbeat_at, chunks_held, items_in_flight,
         heartbeat_at > ${NOW_MS} - $1::bigint AS alive
  FROM nodes ORDER BY started_at, node_id`;

/** A row of {@link LIST_NODES}. */
export type NodeRow = {
  node_id: string;
  host: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
  chunks_held: number;
  items_in_flight: number;
  alive: boolean;
};
