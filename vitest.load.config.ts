import { defineConfig } from 'vitest/config';

/**
 * The load suite (`npm run test:load`): many concurrent streams, chats and
 * clients against one Worker under real `wrangler dev` and the fake Gemini.
 * It checks correctness under load — complete answers, no cross-talk, exact
 * limits — never timings.
 */
export default defineConfig({
  test: {
    include: ['test/load/**/*.test.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.vitest/load.json' }]],
  },
});
