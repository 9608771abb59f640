import { WorkersList, type WorkerInfo } from '../../../protocol/index.js';
import { REMOTE_HELP } from '../remote.js';
import { remoteListingCommand } from '../remote-listing.js';
import type { Column } from '../table.js';

const USAGE = `flowrun workers [--json]

Lists the workers connected to a served runtime (docs/workers.md): component servers that dialled
in at /workers, oldest first; a table on a terminal, JSON {workers} otherwise (or with --json).

  --json               JSON even on a terminal
${REMOTE_HELP}

examples:
  flowrun workers
  flowrun workers --json --url ws://10.0.0.7:7837/`;

const COLUMNS: readonly Column<WorkerInfo>[] = [
  { header: 'WORKER', cell: (w) => w.workerId },
  { header: 'POOL', cell: (w) => w.pool },
  { header: 'NAME', cell: (w) => (w.draining ? `${w.name} (draining)` : w.name) },
  { header: 'COMPONENTS', cell: (w) => w.components.join(',') },
  { header: 'CAPACITY', cell: (w) => String(w.capacity), right: true },
  { header: 'IN FLIGHT', cell: (w) => String(w.inFlight), right: true },
  { header: 'DONE', cell: (w) => String(w.callsDone), right: true },
  { header: 'FAILED', cell: (w) => String(w.callsFailed), right: true },
  { header: 'CONNECTED', cell: (w) => w.connectedAt },
  { header: 'NODE', cell: (w) => w.node },
];

/** `flowrun workers`: the workers connected to a served runtime (docs/cli.md). */
export const workersCommand = remoteListingCommand({
  name: 'workers',
  usage: USAGE,
  fetch: (client) => client.sendRequest(WorkersList, {}),
  rows: (listing) => listing.workers,
  columns: COLUMNS,
});
