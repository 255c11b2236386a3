import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGemini } from '../../fake-gemini/server.mjs';
import { startDevServer, type DevServer } from './dev-server';

/**
 * The key never leaves the Worker. `npm run dev` runs with a recognisable key
 * given the way a user gives one (the environment), against the fake Gemini;
 * a battery of requests walks every route, every refusal and every upstream
 * fault; then every response status line, header and body, and every line the
 * dev server and the Worker logged, is searched for the key. The logs show no
 * client address and no full chat id either.
 */

const CANARY = `AIzaSyCanary-${randomUUID()}`;
const root = fileURLToPath(new URL('../..', import.meta.url));
let fake: Awaited<ReturnType<typeof startFakeGemini>>;
let dev: DevServer;
const seen: string[] = [];
const chatIds: string[] = [];
const addresses: string[] = [];
let clients = 0;

beforeAll(async () => {
  fake = await startFakeGemini();
  dev = await startDevServer(
    [
      '--var', `GEMINI_BASE_URL:${fake.url}`,
      '--var', 'ALLOWED_MODELS:gemini-3.8-flash,gemini-retired',
      '--var', 'UPSTREAM_IDLE_TIMEOUT_MS:1000',
      '--var', 'RATE_LIMIT_PER_MINUTE:3',
      '--var', 'RESUME_GRACE_MS:500',
    ],
    { GEMINI_API_KEY: CANARY, ALLOWED_ORIGINS: 'https://ok.example' },
    { limits: true },
  );
}, 120_000);

afterAll(async () => {
  await dev?.stop();
  await fake?.close();
});

/** One request from a client of its own; its whole answer is kept for the search. */
async function call(path: string, init: RequestInit = {}, ip = `10.77.${Math.floor(clients / 200)}.${(clients++ % 200) + 1}`): Promise<Response> {
  addresses.push(ip);
  const response = await fetch(`${dev.url}${path}`, { ...init, headers: { 'cf-connecting-ip': ip, ...init.headers } });
  const body = await response.text();
  const headers: string[] = [];
  response.headers.forEach((value, name) => headers.push(`${name}: ${value}`));
  seen.push(`${response.status} ${response.statusText}\n${headers.join('\n')}\n\n${body}`);
  return new Response(response.status === 204 || response.status === 304 ? null : body, response);
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

const FAULTS = [
  'reply chunks=3',
  'http status=400 reason=API_KEY_INVALID',
  'http status=401',
  'http status=403',
  'http status=404',
  'http status=429 retry=3s',
  'http status=401 reason=ACCESS_TOKEN_TYPE_UNSUPPORTED',
  'http status=429 limit=0 retryinfo=none retry=7.967587226s',
  'http status=500',
  'http status=503',
  'blocked',
  'error code=500',
  'error code=403',
  'malformed',
  'drop',
  'stall',
  'nofinish',
  'empty',
  'safety',
];

describe('the API key', () => {
  it('is what the Worker calls Gemini with', async () => {
    const health = await call('/healthz');
    expect(await health.json()).toEqual({ ok: true, upstream: 'fake', model: 'gemini-3.8-flash' });
    await call('/api/chat', json({ message: 'Hi [fake:reply tag=secrets-probe]' }));
    const [record] = (await (await fetch(`${fake.url}/__fake/requests?tag=secrets-probe`)).json()) as { hasKey: boolean }[];
    expect(record.hasKey).toBe(true);
    expect(dev.output()).not.toContain('No GEMINI_API_KEY found');
  });

  it('appears in no response, header or log line, whatever happens', async () => {
    for (const path of ['/', '/client.js', '/embed.js', '/favicon.svg', '/nope', '/api/nope']) await call(path);
    for (const fault of FAULTS) {
      await call('/api/chat/stream', json({ message: `Hi [fake:${fault}]` }));
      await call('/api/chat', json({ message: `Hi [fake:${fault}]` }));
    }
    await call('/api/chat', json({ message: 'Hi', model: 'gemini-retired' }));
    await call('/api/chat', json({ message: 'Hi', model: 'gpt-4' }));

    // A stored chat through its whole life, faults included.
    const created = await call('/api/chats', json({ system: 'Be brief.' }));
    const { id } = (await created.json()) as { id: string };
    chatIds.push(id);
    for (const fault of ['reply chunks=3', 'http status=400 reason=API_KEY_INVALID', 'error code=500', 'drop']) {
      await call(`/api/chats/${id}/messages`, json({ message: `Hi [fake:${fault}]` }));
    }
    await call(`/api/chats/${id}`);
    await call(`/api/chats/${id}/stream?lastEventId=0`);
    await call(`/api/chats/${id}/cancel`, { method: 'POST' });
    await call(`/api/chats/${id}`, { method: 'DELETE' });
    await call(`/api/chats/${id}/messages`, json({ message: 'Gone?' }));

    // Refusals of every kind.
    await call('/api/chat', json({ message: 'Hi' }, { origin: 'https://evil.example' }));
    await call('/api/chat', { method: 'OPTIONS', headers: { origin: 'https://ok.example', 'access-control-request-method': 'POST' } });
    await call('/api/chat', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'Hi' });
    await call('/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    await call('/api/chat', json({ message: 'x'.repeat(40_000) }));
    await call('/api/chat', { method: 'PUT' });
    await call(`/api/chats/${'f'.repeat(64)}`);
    for (let i = 0; i < 4; i++) await call('/api/chat', json({ message: 'Again' }), '10.99.0.1');
    expect(seen.some((answer) => answer.startsWith('429'))).toBe(true);

    await new Promise((resolve) => setTimeout(resolve, 1500)); // the last log lines (turns, charges)
    expect(seen.length).toBeGreaterThan(60);
    const leaks = seen.filter((answer) => answer.includes(CANARY));
    expect(leaks).toEqual([]);
    expect(dev.output()).not.toContain(CANARY);
    expect(dev.output()).not.toContain(CANARY.slice(-12));
  });

  it('is in none of the static assets or the package build', () => {
    for (const name of readdirSync(`${root}public`)) expect(readFileSync(`${root}public/${name}`, 'utf8')).not.toContain(CANARY);
  });
});

describe('the logs', () => {
  it('show a chat by its id prefix only, and no client address', () => {
    // The Worker's lines and wrangler's own, less wrangler dev's local access log, which
    // prints each URL (deployed, wrangler.toml turns Cloudflare's invocation logs off).
    const output = dev
      .output()
      .split('\n')
      .filter((line) => !line.startsWith('[wrangler:info]'))
      .join('\n');
    expect(output).toMatch(/"route":"\/api\/chats\/:id\/messages"/);
    expect(chatIds).toHaveLength(1);
    for (const id of chatIds) {
      expect(output).not.toContain(id);
      expect(output).toContain(`"chat":"${id.slice(0, 8)}"`);
    }
    for (const ip of new Set(addresses)) expect(output).not.toContain(ip);
  });
});
