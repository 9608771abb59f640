import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../log.js';
import { Runtime } from '../../runtime.js';
import { parseCommandArgs } from '../args.js';
import type { Output } from '../output.js';

/** `flowrun components`: one JSON line per routed component `{component, plugin, description?}`. */
export async function componentsCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parseCommandArgs({ args: argv, options: { config: { type: 'string' } } }, 'flowrun components [--config C]');
  const runtime = await Runtime.create({ config: await loadConfig({ configPath: values.config }), logger: createLogger() });
  try {
    for (const c of await runtime.listComponents()) {
      out.line(JSON.stringify({ component: c.component, plugin: c.plugin, ...(c.info.description && { description: c.info.description }) }));
    }
    return 0;
  } finally {
    await runtime.close();
  }
}
