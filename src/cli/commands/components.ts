import { loadConfig } from '../../config/index.js';
import { Runtime } from '../../runtime.js';
import { parseCommandArgs } from '../args.js';
import { HELP_OPTION, printHelp } from '../help.js';
import { JSON_OPTION } from '../listing.js';
import { createCliLogger } from '../logger.js';
import type { Output } from '../output.js';
import { renderTable } from '../table.js';

const USAGE = `flowrun components [--config FILE] [--json]

Lists every component the config routes to, with the plugin serving it: a table on a terminal,
one JSON line {component, plugin, description?} per component otherwise (or with --json).
Starts the configured component servers to ask them.

  --config FILE        config file (default: flowrun.yaml or stepflow-config.yml in the
                       working directory)
  --json               JSON lines even on a terminal

example:
  flowrun components --config examples/greeter/flowrun.yaml`;

/** `flowrun components`: every routed component (docs/cli.md). */
export async function componentsCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parseCommandArgs({ args: argv, options: { config: { type: 'string' }, ...JSON_OPTION, ...HELP_OPTION } }, USAGE);
  if (values.help) return printHelp(out, USAGE);
  const runtime = await Runtime.create({ config: await loadConfig({ configPath: values.config }), logger: createCliLogger() });
  try {
    const rows = (await runtime.listComponents()).map((c) => ({
      component: c.component,
      plugin: c.plugin,
      ...(c.info.description && { description: c.info.description }),
    }));
    if (values.json || !out.isTerminal) for (const row of rows) out.line(JSON.stringify(row));
    else
      out.line(
        renderTable(
          [
            { header: 'COMPONENT', cell: (r: (typeof rows)[number]) => r.component },
            { header: 'PLUGIN', cell: (r) => r.plugin },
            { header: 'DESCRIPTION', cell: (r) => r.description ?? '' },
          ],
          rows,
        ),
      );
    return 0;
  } finally {
    await runtime.close();
  }
}
