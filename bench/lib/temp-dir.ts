import { existsSync, mkdtempSync, realpathSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where tests and the bench put throw-away files: /dev/shm (memory) where the OS has it, else the OS temp dir
 * (macOS), resolved, since there it is a symlink and tests compare the paths they are given back.
 */
export const TEMP_ROOT = existsSync('/dev/shm') ? '/dev/shm' : realpathSync(tmpdir());

/** Creates a fresh directory `<TEMP_ROOT>/flowrun-<name>-XXXXXX`; the caller removes it. */
export function makeTempDir(name: string): Promise<string> {
  return mkdtemp(join(TEMP_ROOT, `flowrun-${name}-`));
}

/** {@link makeTempDir}, for synchronous setup. */
export function makeTempDirSync(name: string): string {
  return mkdtempSync(join(TEMP_ROOT, `flowrun-${name}-`));
}
