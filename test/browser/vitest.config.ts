import { defineConfig } from 'vitest/config';

// The browser tests drive headless Chromium, so they run only through `npm run test:browser`, never `npm test`.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
