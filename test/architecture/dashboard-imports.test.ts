import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/paths.js';

/**
 * The dashboard's layering (ARCHITECTURE.md, `dashboard/`): its code imports its own modules and
 * Preact; from protocol/ (and zod, for the types of its schemas) only types, which vanish from
 * the bundle. dependency-cruiser's parser does not read TSX, so this test reads the imports.
 */
const DASHBOARD = join(ROOT, 'dashboard/src');
const PACKAGES = new Set(['preact', 'preact/hooks']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : /\.tsx?$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

/** Each `import … from '…'` / `import '…'` of a file: its specifier and whether it imports types only. */
function importsOf(text: string): Array<{ from: string; typeOnly: boolean }> {
  const found: Array<{ from: string; typeOnly: boolean }> = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
    found.push({ from: m[3]!, typeOnly: m[2] !== undefined });
  }
  return found;
}

describe('dashboard imports', () => {
  it('reach only its own modules and Preact, and only types of protocol/ and zod', () => {
    const files = sources(DASHBOARD);
    expect(files.length).toBeGreaterThan(5);
    const broken: string[] = [];
    for (const file of files) {
      const name = relative(ROOT, file);
      for (const { from, typeOnly } of importsOf(readFileSync(file, 'utf8'))) {
        if (from.startsWith('.')) {
          const target = relative(ROOT, resolve(dirname(file), from));
          if (target.startsWith('dashboard/')) continue;
          if (target.startsWith('protocol/') && typeOnly) continue;
          broken.push(`${name} → ${from}${typeOnly ? '' : ' (not type-only)'}`);
        } else if (!PACKAGES.has(from) && !(from === 'zod' && typeOnly)) {
          broken.push(`${name} → ${from}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
