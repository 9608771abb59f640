import { configDefaults, defineConfig } from 'vitest/config';
import { findPostgresBin, POSTGRES_NOT_FOUND } from './test/support/postgres-bin.js';

// A newcomer's machine may lack PostgreSQL: skip those suites with a notice rather than fail.
// CI sets FLOWRUN_REQUIRE_POSTGRES=1 (after installing it), so there they always run.
const postgres = Boolean(process.env.FLOWRUN_TEST_PG_URL) || findPostgresBin() !== undefined || process.env.FLOWRUN_REQUIRE_POSTGRES === '1';
if (!postgres) {
  process.stderr.write(`notice: ${POSTGRES_NOT_FOUND}: skipping the PostgreSQL suites\n`);
}

// Integration tests spawn real processes; the machine has 2 noisy cores, so bounds are generous.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...(postgres ? [] : ['test/statestore/postgres*.test.ts', 'test/support/postgres.test.ts', 'test/bench/peers.test.ts'])],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
