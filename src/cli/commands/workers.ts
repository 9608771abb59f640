import { WorkersList, type WorkerInfo } from '../../../protocol/index.js';
import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION, printListing } from '../listing.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, withRemote } from '../remote.js';
import { renderTable, type Column } from '../table.js';
import { UsageError } from '../usage-error.js';

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
export async function workersCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"\nusage: flowrun workers [options] (see flowrun workers --help)`);
  return withRemote(values, async (client) => {
    const listing = await client.sendRequest(WorkersList, {});
    printListing(out, values.json, listing, () => renderTable(COLUMNS, listing.workers));
    return 0;
  });
}

const OPTIONS = {
  ...REMOTE_OPTIONS,
  ...JSON_OPTION,
  ...HELP_OPTION,
} as const;
