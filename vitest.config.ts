import { defineConfig } from 'vitest/config';

// Integration tests spawn real processes; the machine has 2 noisy cores, so bounds are generous.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
