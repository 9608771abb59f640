import { StatusSchema, type Status } from '../../../protocol/index.js';
import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION, printListing } from '../listing.js';
import type { Output } from '../output.js';
import { REMOTE_HELP, REMOTE_OPTIONS, withRemote } from '../remote.js';
import { integerFlag } from '../integer-flag.js';
import { runTable } from '../run-table.js';
import { UsageError } from '../usage-error.js';

const USAGE = `flowrun list [--status S,…] [--label L] [--meta K=V]… [--roots] [--order newest|oldest] [--limit N] [--cursor C] [--namespace NS] [--json]

Lists the runs of a served runtime, newest first: a table on a terminal, JSON
{runs, nextCursor?} otherwise (or with --json).

  --status S,…         only runs in these states: pending, running, success, failed, cancelled
  --label L            only runs submitted with this flowLabel
  --meta K=V           only runs whose metadata has K = V (repeatable: every pair must match);
                       V is a number for a number, true/false for a boolean, else a string
  --roots              only runs without a parent (no child runs)
  --order O            newest (default) or oldest first
  --limit N            at most N runs (1..1000, default 50)
  --cursor C           the next page: the nextCursor of the previous answer
  --namespace NS       the runs of namespace NS (an admin's token; others see only
                       their own namespace; default: the token's, an admin's every one)
  --json               JSON even on a terminal
${REMOTE_HELP}

examples:
  flowrun list
  flowrun list --status running,failed --json
  flowrun list --meta team=search --roots --order oldest
  flowrun list --namespace team-a`;

/** `flowrun list`: the runs of a served runtime (docs/cli.md). */
export async function listCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: OPTIONS, allowPositionals: true }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"\nusage: flowrun list [options] (see flowrun list --help)`);
  const status = values.status === undefined ? undefined : parseStatuses(values.status);
  const limit = integerFlag(values.limit, '--limit', 1, 1000);
  const metadata = values.meta === undefined ? undefined : parseMetaFlags(values.meta);
  const order = parseOrder(values.order);
  const filters = { status, limit, cursor: values.cursor, flowLabel: values.label, metadata, rootsOnly: values.roots || undefined, order };
  return withRemote(values, async (client) => {
    const page = await client.list({ ...filters, namespace: values.namespace });
    printListing(out, values.json, page, () => runTable(page.runs) + (page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : ''));
    return 0;
  });
}

/** `--meta k=v` pairs as a metadata filter: numbers and booleans by their text, anything else a string. */
export function parseMetaFlags(pairs: readonly string[]): Record<string, string | number | boolean> {
  const metadata: Record<string, string | number | boolean> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--meta: expected KEY=VALUE, got "${pair}"`);
    const text = pair.slice(eq + 1);
    metadata[pair.slice(0, eq)] = text === 'true' ? true : text === 'false' ? false : /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
  }
  return metadata;
}

function parseOrder(text: string | undefined): 'newest' | 'oldest' | undefined {
  if (text === undefined || text === 'newest' || text === 'oldest') return text;
  throw new UsageError(`--order: "${text}" is not one of newest, oldest`);
}

/** Parses `--status a,b`; an unknown state names itself and the choices. */
export function parseStatuses(text: string, flag = '--status'): Status[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const parsed = StatusSchema.safeParse(s);
      if (!parsed.success) throw new UsageError(`${flag}: "${s}" is not one of ${StatusSchema.options.join(', ')}`);
      return parsed.data;
    });
}

const OPTIONS = {
  ...REMOTE_OPTIONS,
  status: { type: 'string' },
  label: { type: 'string' },
  meta: { type: 'string', multiple: true },
  roots: { type: 'boolean' },
  order: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  namespace: { type: 'string' },
  ...JSON_OPTION,
  ...HELP_OPTION,
} as const;
