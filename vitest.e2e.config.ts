import { defineConfig } from 'vitest/config';

/**
 * Tests in Node: the browser client's own units, and end-to-end tests against
 * real `npm run dev` (wrangler dev + fake Gemini) over real sockets.
 */
export default defineConfig({
  test: {
    include: ['test/client/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 90_000,
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.vitest/e2e.json' }]],
  },
});
