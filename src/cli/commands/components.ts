import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../log.js';
import { Runtime } from '../../runtime.js';
import { UsageError } from '../usage-error.js';
import type { Output } from '../output.js';

/** `flowrun components`: one JSON line per routed component `{component, plugin, description?}`. */
export async function componentsCommand(argv: string[], out: Output): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' } }, strict: true }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: flowrun components [--config C]`);
  }
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
