import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const DEBIAN_ROOT = '/usr/lib/postgresql';

/**
 * The directory of PostgreSQL's server binaries (`initdb`, `postgres`): the newest of Debian's
 * `/usr/lib/postgresql/<major>/bin`, else the first directory on PATH that has them (Homebrew,
 * other distributions). Undefined when there is none.
 */
export function findPostgresBin(): string | undefined {
  const majors = existsSync(DEBIAN_ROOT) ? readdirSync(DEBIAN_ROOT).filter((name) => /^\d+$/.test(name)) : [];
  majors.sort((a, b) => Number(b) - Number(a));
  const candidates = [...majors.map((major) => join(DEBIAN_ROOT, major, 'bin')), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));
}

export const POSTGRES_NOT_FOUND = 'PostgreSQL not found (apt-get install postgresql, or put initdb on PATH, or set FLOWRUN_TEST_PG_URL)';
