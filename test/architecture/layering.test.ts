import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT, requireBuilt } from '../support/paths.js';

const run = promisify(execFile);
const layers = createRequire(import.meta.url)(join(ROOT, 'architecture-layers.cjs')) as Record<string, string[]>;

interface Cruise {
  summary: { violations: Array<{ from: string; to: string; rule: { name: string }; cycle?: Array<{ name: string }> }>; totalCruised: number };
}

/** Runs dependency-cruiser with the project's config over the sources, the scripts and the compiled JavaScript. */
async function cruise(): Promise<Cruise> {
  requireBuilt('dist/src/index.js');
  const bin = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
  const args = [bin, '--config', '.dependency-cruiser.cjs', '--output-type', 'json', 'src', 'protocol', 'blobstore', 'scripts', 'dist/src', 'dist/protocol', 'dist/blobstore'];
  // Exit code 1 means violations: the JSON on stdout says which.
  const { stdout } = await run(process.execPath, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }).catch((err: { stdout?: string }) => {
    if (!err.stdout) throw err;
    return { stdout: err.stdout };
  });
  return JSON.parse(stdout) as Cruise;
}

/** `src/runs/` → `src/runs`; `errors.ts` in a may-import cell → `src/errors.ts`, `bench/lib/` → `bench/lib`. */
function layerName(cell: string, inImports: boolean): string {
  const name = cell.replace(/\/$/, '');
  if (!inImports || name === 'protocol' || name === 'blobstore' || name.startsWith('bench/')) return name;
  return `src/${name}`;
}

/** The folder table of ARCHITECTURE.md: each row's folder and the layers its last column names. */
function architectureTable(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  const text = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const folder = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!folder || cells.length < 5) continue;
    const imports = cells[cells.length - 2];
    const names = imports === 'everything' ? ['*'] : [...imports.matchAll(/`([^`]+)`/g)].map((m) => layerName(m[1], true));
    rows.set(layerName(folder, false), names);
  }
  return rows;
}

describe('layering', () => {
  it('holds: every import follows the table and no modules import each other in a circle', async () => {
    const result = await cruise();
    expect(result.summary.totalCruised).toBeGreaterThan(100);
    const broken = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (cycle ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`);
    expect(broken).toEqual([]);
  }, 120_000);

  it('is the table ARCHITECTURE.md shows', () => {
    const table = architectureTable();
    for (const [name, allowed] of Object.entries(layers)) {
      expect(table.get(name), `ARCHITECTURE.md has no row for ${name}`).toBeDefined();
      expect(new Set(table.get(name)), `the row of ${name}`).toEqual(new Set(allowed));
    }
  });
});
