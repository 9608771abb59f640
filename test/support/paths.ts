import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root: tests run compiled JS and fixtures from here, never from outside the clone. */
export const ROOT = resolve(import.meta.dirname, '../..');

/** The built CLI (`npx tsc -p .` writes it). */
export const BIN = join(ROOT, 'dist/src/cli/bin.js');

/** A file under `test/fixtures/`. */
export function fixturePath(...segments: string[]): string {
  return join(ROOT, 'test/fixtures', ...segments);
}

/** The mock-plugin flows, their `stepflow-config.yml` and an input file, all written in Stepflow's formats. */
export const MOCK_FLOWS = fixturePath('flows/mock');

/**
 * Child processes in tests run compiled JS: fails clearly, naming the file, when `npx tsc -p .`
 * (or `npm test`) has not built it yet.
 */
export function requireBuilt(...files: string[]): void {
  for (const file of files) {
    if (!existsSync(join(ROOT, file))) throw new Error(`${file} is missing: run "npx tsc -p ." before these tests`);
  }
}
