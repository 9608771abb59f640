import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './paths.js';

/** Every file below `dir` (relative to the repository root), skipping build output and dependencies. */
function filesBelow(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

// Built from pieces so this file does not match itself.
const OUTSIDE = [['..', 'shared'].join('/'), ['', 'work', ''].join('/')];
/** Temp files go through bench/lib/temp-dir.ts (re-exported by test/support/temp-dir.ts), which falls back to the OS temp dir where there is no /dev/shm. */
const SHM = ['', 'dev', 'shm', ''].join('/');

describe('the test suite, bench and scripts', () => {
  it('read nothing outside the clone: no sibling `shared` folder, no machine paths, /dev/shm only through temp-dir.ts', () => {
    const offenders: string[] = [];
    for (const file of ['test', 'bench', 'scripts'].flatMap(filesBelow)) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const shmAllowed = file === 'bench/lib/temp-dir.ts' || file.endsWith('.md');
      for (const needle of shmAllowed ? OUTSIDE : [...OUTSIDE, SHM]) if (text.includes(needle)) offenders.push(`${file}: ${needle}`);
    }
    expect(offenders).toEqual([]);
  });
});
