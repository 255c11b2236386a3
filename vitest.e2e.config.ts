import { defineConfig } from 'vitest/config';

/**
 * Tests in Node: the browser client's own units, end-to-end tests against
 * real `npm run dev` (wrangler dev + fake Gemini) over real sockets, the fake
 * Gemini's own tests (test/fake), and the links between README.md and docs/.
 */
export default defineConfig({
  test: {
    include: ['test/client/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/fake/**/*.test.ts', 'test/docs/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 90_000,
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.vitest/e2e.json' }]],
  },
});
