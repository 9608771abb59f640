import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/log.js';
import { renderSchemaFiles } from './schemas.js';

/**
 * `npm run schemas`: regenerates `schemas/protocol.json` and `schemas/flow.json` from protocol/.
 * The output directory may be given as the first argument; by default it is `schemas/` of the
 * project this script belongs to (found from its own location, so it works from `dist/` too).
 */
function main(): void {
  const outDir = process.argv[2] ?? join(projectRoot(dirname(fileURLToPath(import.meta.url))), 'schemas');
  mkdirSync(outDir, { recursive: true });
  const log = createLogger('write-schemas');
  for (const [file, text] of renderSchemaFiles()) {
    const path = join(outDir, file);
    writeFileSync(path, text);
    log.info({ path, bytes: Buffer.byteLength(text) }, 'wrote schema');
  }
}

/** The nearest directory at or above `start` holding a package.json. */
function projectRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json found above ${start}`);
  }
}

main();
