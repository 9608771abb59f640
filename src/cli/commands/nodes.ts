import { NodesList, type NodeInfo } from '../../../protocol/index.js';
import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION, printListing } from '../listing.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, withRemote } from '../remote.js';
import { renderTable, type Column } from '../table.js';
import { UsageError } from '../usage-error.js';

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
export async function nodesCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"\nusage: flowrun nodes [options] (see flowrun nodes --help)`);
  return withRemote(values, async (client) => {
    const listing = await client.sendRequest(NodesList, {});
    printListing(out, values.json, listing, () => renderTable(COLUMNS, listing.nodes));
    return 0;
  });
}

const OPTIONS = {
  ...REMOTE_OPTIONS,
  ...JSON_OPTION,
  ...HELP_OPTION,
} as const;
