import type { Output } from '../output.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, connectRemote } from '../remote.js';
import { UsageError } from '../usage-error.js';
import { parseCommandArgs } from '../args.js';

const USAGE = `flowrun cancel RUN_ID ${REMOTE_USAGE}

Cancels a run (and its child runs) and prints its RunStatus as JSON. Finished results are kept;
cancelling a finished run changes nothing.`;

/** `flowrun cancel`: cancels a run on a served runtime (SPEC §9). */
export async function cancelCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseOptions(argv);
  if (values.help) {
    out.error(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one RUN_ID\nusage: ${USAGE}`);
  const client = await connectRemote(values, USAGE);
  try {
    out.line(JSON.stringify(await client.run(positionals[0]).cancel()));
    return 0;
  } finally {
    await client.close();
  }
}

function parseOptions(argv: string[]) {
  return parseCommandArgs(
    {
      args: argv,
      options: { ...REMOTE_OPTIONS, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    },
    USAGE,
  );
}
