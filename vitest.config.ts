import { existsSync, readdirSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

/** PostgreSQL server binaries from Debian's package, which the PostgreSQL tests start clusters with. */
function postgresInstalled(): boolean {
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((v) => existsSync(`${root}/${v}/bin/initdb`));
}

// A newcomer's machine may lack PostgreSQL: skip those suites with a notice rather than fail.
// CI sets FLOWRUN_REQUIRE_POSTGRES=1 (after installing it), so there they always run.
const postgres = Boolean(process.env.FLOWRUN_TEST_PG_URL) || postgresInstalled() || process.env.FLOWRUN_REQUIRE_POSTGRES === '1';
if (!postgres) {
  process.stderr.write('notice: PostgreSQL not found (apt-get install postgresql, or set FLOWRUN_TEST_PG_URL): skipping the PostgreSQL suites\n');
}

// Integration tests spawn real processes; the machine has 2 noisy cores, so bounds are generous.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...(postgres ? [] : ['test/store/postgres.test.ts', 'test/support/postgres.test.ts'])],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
