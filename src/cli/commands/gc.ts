import type { RunsGcResultType } from '../../../protocol/index.js';
import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION, printListing } from '../listing.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, withRemote } from '../remote.js';
import { UsageError } from '../usage-error.js';

const USAGE = `flowrun gc [--dry-run] [--json]

Runs the retention sweep of a served runtime now, as its config's retention: says (finished runs
older than retention.runs, unused blobs older than retention.blobs), and prints what it deleted:
counts, items, bytes and the ids (JSON with --json or when stdout is not a terminal).

  --dry-run            delete nothing; print what would be deleted
  --json               JSON even on a terminal
${REMOTE_HELP}

example:
  flowrun gc --dry-run`;

/** `flowrun gc`: the retention sweep of a served runtime, now (docs/cli.md, docs/retention.md). */
export async function gcCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"\nusage: flowrun gc [--dry-run] (see flowrun gc --help)`);
  return withRemote(values, async (client) => {
    const report = await client.gc({ dryRun: values['dry-run'] ?? false });
    printListing(out, values.json, report, () => gcText(report));
    return 0;
  });
}

/** What a sweep deleted, for a person: a line for runs, one for blobs, then the ids. */
function gcText(report: RunsGcResultType): string {
  const verb = report.dryRun ? 'would delete' : 'deleted';
  const { runs, blobs } = report;
  const lines = [
    runs.completedBefore === undefined
      ? 'runs: kept (retention.runs is not set)'
      : `runs: ${verb} ${runs.count} run(s), ${runs.items} item(s), finished before ${runs.completedBefore}`,
    blobs.storedBefore === undefined
      ? 'blobs: kept (retention.blobs is not set)'
      : `blobs: ${verb} ${blobs.count} blob(s), ${blobs.bytes} byte(s), stored before ${blobs.storedBefore}`,
    ...runs.runIds.map((id) => `  run ${id}`),
    ...blobs.blobIds.map((id) => `  blob ${id}`),
  ];
  return lines.join('\n');
}

const OPTIONS = { ...REMOTE_OPTIONS, ...JSON_OPTION, ...HELP_OPTION, 'dry-run': { type: 'boolean' } } as const;
