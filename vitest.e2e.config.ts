import { defineConfig } from 'vitest/config';

/** End-to-end tests in Node: real `npm run dev` (wrangler dev + fake Gemini) over real sockets. */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 90_000,
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.vitest/e2e.json' }]],
  },
});
