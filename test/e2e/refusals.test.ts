import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from './dev-server';
import { fakeRecords, uniqueTag } from './fake-records';

/**
 * Every early refusal under real `wrangler dev`, whose proxy sits between
 * client and Worker (the vitest pool has none): the refusal gets its own
 * status every time, never "503 Your worker restarted mid-request", and the
 * next request on the same keep-alive connection works. A body the Worker
 * will not use is left unread, never cancelled (cloudflare/workers-sdk#5095).
 */

let dev: DevServer;
let chatId: string;

beforeAll(async () => {
  dev = await startDevServer(['--var', 'MAX_BODY_BYTES:1048576'], { ALLOWED_ORIGINS: 'https://allowed.example' });
  chatId = ((await (await fetch(`${dev.url}/api/chats`, { method: 'POST' })).json()) as { id: string }).id;
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

/** One request on `agent`; `chunked` sends the body in pieces without a Content-Length. */
function send(url: string, agent: Agent, method: string, headers: Record<string, string>, body: string | Buffer, chunked = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const req = request(url, { method, agent, headers: chunked || bytes.length === 0 ? headers : { ...headers, 'content-length': bytes.length } });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text, reusedSocket: req.reusedSocket, headers: res.headers }));
    });
    req.on('error', reject);
    if (chunked) {
      for (let i = 0; i < bytes.length; i += 65_536) req.write(bytes.subarray(i, i + 65_536));
      req.end();
    } else {
      req.end(bytes);
    }
  });
}

const JSON_TYPE = { 'content-type': 'application/json' };
const big = (tag: string) => JSON.stringify({ message: `${'x'.repeat(2_000_000)} [fake:reply tag=${tag}]` });

describe('early refusals under wrangler dev', () => {
  const cases: [name: string, method: string, path: string, headers: Record<string, string>, body: (tag: string) => string, status: number, chunked?: boolean][] = [
    ['413 for a 2 MB body with a declared length', 'POST', '/api/chat/stream', JSON_TYPE, big, 413],
    ['413 for a 2 MB chunked body', 'POST', '/api/chat/stream', JSON_TYPE, big, 413, true],
    ['413 for a 2 MB chunked stored-chat message', 'POST', '/api/chats/:chat/messages', JSON_TYPE, big, 413, true],
    ['415 for a text/plain body', 'POST', '/api/chat/stream', { 'content-type': 'text/plain' }, (tag) => JSON.stringify({ message: `hi [fake:reply tag=${tag}]` }), 415],
    ['400 for invalid JSON', 'POST', '/api/chat', JSON_TYPE, () => '{"message":', 400],
    ['403 for a refused origin with a 2 MB body', 'POST', '/api/chat/stream', { ...JSON_TYPE, origin: 'https://evil.example' }, big, 403],
    ['403 for a refused origin with a 2 MB chunked text/plain body', 'POST', '/api/chat/stream', { 'content-type': 'text/plain', origin: 'https://evil.example' }, big, 403, true],
    ['404 for a POST with a body to no route', 'POST', '/api/nope', JSON_TYPE, big, 404],
    ['405 for a PUT with a body', 'PUT', '/api/chat', JSON_TYPE, big, 405],
    ['404 for a message to a chat that does not exist', 'POST', `/api/chats/${'a'.repeat(64)}/messages`, JSON_TYPE, (tag) => JSON.stringify({ message: `hi [fake:reply tag=${tag}]` }), 404],
  ];

  it.each(cases)('%s, every time, and the connection stays usable', async (_, method, path, headers, body, status, chunked = false) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const tag = uniqueTag();
    const payload = body(tag);
    try {
      for (let i = 0; i < 8; i++) {
        const refused = await send(`${dev.url}${path.replace(':chat', chatId)}`, agent, method, headers, payload, chunked);
        expect(refused.status, refused.body).toBe(status);
        expect(JSON.parse(refused.body).error.code).toBeTypeOf('string');
        // A refused origin can read its refusal.
        if (headers.origin) expect(refused.headers['access-control-allow-origin']).toBe(headers.origin);
        const next = await send(`${dev.url}/api/chat/stream`, agent, 'POST', JSON_TYPE, JSON.stringify({ message: 'Hi [fake:reply chunks=2]' }));
        expect(next.status, next.body).toBe(200);
        expect(next.body).toMatch(/event: done\n/);
        // The same connection, kept alive.
        expect(next.reusedSocket).toBe(true);
      }
      expect(await fakeRecords(dev.fakeUrl!, tag)).toEqual([]);
    } finally {
      agent.destroy();
    }
  });
});
