import { StatusSchema, type Status } from '../../../protocol/index.js';
import type { Output } from '../output.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, connectRemote } from '../remote.js';
import { UsageError } from '../usage-error.js';
import { parseCommandArgs } from '../args.js';

const USAGE = `flowrun list ${REMOTE_USAGE} [--status s,…] [--limit N] [--cursor C]

Lists runs, newest first, as JSON {runs, nextCursor?}. --status filters by pending, running,
success, failed, cancelled (comma-separated).`;

/** `flowrun list`: the runs of a served runtime (SPEC §9, §5.4). */
export async function listCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseOptions(argv);
  if (values.help) {
    out.error(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"\nusage: ${USAGE}`);
  const status = values.status === undefined ? undefined : parseStatuses(values.status);
  const limit = values.limit === undefined ? undefined : parseLimit(values.limit);
  const client = await connectRemote(values, USAGE);
  try {
    out.line(JSON.stringify(await client.list({ status, limit, cursor: values.cursor })));
    return 0;
  } finally {
    await client.close();
  }
}

function parseStatuses(text: string): Status[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const parsed = StatusSchema.safeParse(s);
      if (!parsed.success) throw new UsageError(`--status: "${s}" is not one of ${StatusSchema.options.join(', ')}`);
      return parsed.data;
    });
}

function parseLimit(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > 1000) throw new UsageError(`--limit: expected an integer in 1..1000, got "${text}"`);
  return n;
}

function parseOptions(argv: string[]) {
  return parseCommandArgs(
    {
      args: argv,
      options: {
        ...REMOTE_OPTIONS,
        status: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    },
    USAGE,
  );
}
