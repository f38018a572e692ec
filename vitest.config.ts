import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Log lines go to a buffer, printed only for a failed test: a passing run's stderr carries nothing stray.
    setupFiles: ['test/setup/capture-logs.ts'],
    // Integration tests start real servers; keep them from competing for the 2 cores too hard.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
