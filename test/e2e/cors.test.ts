import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from './dev-server';
import { fakeRecords, uniqueTag } from './fake-records';

/**
 * Refused origins under real `wrangler dev`, whose proxy (unlike the vitest
 * pool) sits between client and Worker: a refusal that leaves a body unread
 * must neither become a 503 nor break the next request on the connection.
 */

const ALLOWED = 'https://allowed.example';
let dev: DevServer;

beforeAll(async () => {
  dev = await startDevServer([], { ALLOWED_ORIGINS: ALLOWED });
}, 90_000);

afterAll(async () => {
  await dev?.stop();
});

interface Answer {
  status: number;
  body: string;
  reusedSocket: boolean;
  headers: Record<string, string | string[] | undefined>;
}

/** One request on `agent`; `chunked` sends the body without a Content-Length. */
function post(agent: Agent, path: string, headers: Record<string, string>, body: string, chunked = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${dev.url}${path}`, { method: 'POST', agent, headers: chunked ? headers : { ...headers, 'content-length': Buffer.byteLength(body) } });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text, reusedSocket: req.reusedSocket, headers: res.headers }));
    });
    req.on('error', reject);
    if (chunked) {
      // Several writes: sent with Transfer-Encoding: chunked.
      for (let i = 0; i < body.length; i += 16_384) req.write(body.slice(i, i + 16_384));
      req.end();
    } else {
      req.end(body);
    }
  });
}

describe('a refused origin under wrangler dev', () => {
  it.each([false, true])('gets its 403 every time, and the next request on the connection works (chunked: %s)', async (chunked) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const tag = uniqueTag();
    const big = JSON.stringify({ message: `${'x'.repeat(200_000)} [fake:reply tag=${tag}]` });
    try {
      for (let i = 0; i < 10; i++) {
        const refused = await post(agent, '/api/chat/stream', { origin: 'https://evil.example', 'content-type': 'text/plain' }, big, chunked);
        expect(refused.status).toBe(403);
        expect(JSON.parse(refused.body).error.code).toBe('origin_not_allowed');
        expect(refused.headers['access-control-allow-origin']).toBe('https://evil.example');

        const next = await post(agent, '/api/chat/stream', { origin: ALLOWED, 'content-type': 'application/json' }, JSON.stringify({ message: 'Hi [fake:reply chunks=2]' }));
        expect(next.status).toBe(200);
        expect(next.body).toMatch(/event: done\n/);
        expect(next.headers['access-control-allow-origin']).toBe(ALLOWED);
        if (i > 0) expect(next.reusedSocket).toBe(true);
      }
      expect(await fakeRecords(dev.fakeUrl!, tag)).toEqual([]);
    } finally {
      agent.destroy();
    }
  });
});
