import { NodesList, type NodeInfo } from '../../../protocol/index.js';
import { REMOTE_HELP } from '../remote.js';
import { remoteListingCommand } from '../remote-listing.js';
import type { Column } from '../table.js';

const USAGE = `flowrun nodes [--json]

Lists the nodes of the cluster a served runtime belongs to (docs/cluster.md): every flowrun
serve on its PostgreSQL state store, oldest first; a table on a terminal, JSON {nodes}
otherwise (or with --json). A runtime on any other store lists just itself.

  --json               JSON even on a terminal
${REMOTE_HELP}

examples:
  flowrun nodes
  flowrun nodes --json --url ws://10.0.0.7:7837/`;

const COLUMNS: readonly Column<NodeInfo>[] = [
  { header: 'NODE', cell: (n) => n.nodeId },
  { header: 'HOST', cell: (n) => n.host },
  { header: 'PID', cell: (n) => String(n.pid), right: true },
  { header: 'STARTED', cell: (n) => n.startedAt },
  { header: 'HEARTBEAT', cell: (n) => n.heartbeatAt },
  { header: 'ALIVE', cell: (n) => (n.alive ? 'yes' : 'no') },
  { header: 'CHUNKS', cell: (n) => String(n.chunksHeld), right: true },
  { header: 'IN FLIGHT', cell: (n) => String(n.itemsInFlight), right: true },
];

/** `flowrun nodes`: the nodes of a served runtime's cluster (docs/cli.md). */
export const nodesCommand = remoteListingCommand({
  name: 'nodes',
  usage: USAGE,
  fetch: (client) => client.sendRequest(NodesList, {}),
  rows: (listing) => listing.nodes,
  columns: COLUMNS,
});
