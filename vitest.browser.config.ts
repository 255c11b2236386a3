import { defineConfig } from 'vitest/config';

/**
 * The browser suite (`npm run test:browser`): Debian's Chromium driven by
 * playwright-core, pages on their own origins, the Worker under real
 * `wrangler dev` with the fake Gemini, and the packed npm package.
 */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.vitest/browser.json' }]],
  },
});
