// @ts-check
import { createServer } from 'node:net';

/**
 * A port nobody listens on right now, on 127.0.0.1: for a `wrangler dev` or a
 * fake Gemini started by `npm run doctor`, the tests and the benchmark.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
