import { listDurableObjectIds } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import type { ChatSnapshot } from '../../src/protocol/messages';
import { fakeRequests, uniqueTag } from '../fake-gemini';
import { joinedText, parseSse } from '../sse';

// The test bindings (vitest.config.ts) allow these two origins.
const ALLOWED = 'https://allowed.example';
const ALLOWED_TOO = 'http://localhost:5173';
const REFUSED = 'https://evil.example';
const SELF = 'http://worker';

const worker = (path: string, init: RequestInit = {}) => exports.default.fetch(`${SELF}${path}`, init);
const from = (origin: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...init.headers, origin } });
const say = (tag: string) => `What is CORS? [fake:reply tag=${tag}]`;

async function createChat(): Promise<string> {
  const response = await worker('/api/chats', { method: 'POST' });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

function expectCors(response: Response, origin: string): void {
  expect(response.headers.get('access-control-allow-origin')).toBe(origin);
  expect(response.headers.get('access-control-expose-headers')).toBe(
    'x-request-id, retry-after, x-message-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, x-token-budget-limit, x-token-budget-remaining, x-token-budget-reset, x-turnstile-session',
  );
  expect(response.headers.get('vary')).toBe('Origin');
  expect(response.headers.get('access-control-allow-credentials')).toBeNull();
}

describe('CORS preflight', () => {
  const paths = ['/api/chat/stream', '/api/chat', '/api/chats', `/api/chats/${'a'.repeat(64)}`, `/api/chats/${'a'.repeat(64)}/messages`, `/api/chats/${'a'.repeat(64)}/stream`, `/api/chats/${'a'.repeat(64)}/cancel`];

  it.each(paths)('answers 204 with the CORS headers for an allowed origin on %s', async (path) => {
    const response = await worker(path, from(ALLOWED, { method: 'OPTIONS', headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } }));
    expect(response.status).toBe(204);
    expectCors(response, ALLOWED);
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, HEAD, POST, DELETE');
    expect(response.headers.get('access-control-allow-headers')).toBe('content-type, last-event-id, x-turnstile-token, x-turnstile-session');
    expect(response.headers.get('access-control-max-age')).toBe('7200');
    expect(await response.text()).toBe('');
  });

  it('answers a preflight from a refused origin too, so the page can read the 403 of the request itself', async () => {
    const response = await worker('/api/chat/stream', from(REFUSED, { method: 'OPTIONS', headers: { 'access-control-request-method': 'POST' } }));
    expect(response.status).toBe(204);
    expectCors(response, REFUSED);
  });

  it('treats OPTIONS without Access-Control-Request-Method as a plain request (405)', async () => {
    const response = await worker('/api/chat/stream', from(ALLOWED, { method: 'OPTIONS' }));
    expect(response.status).toBe(405);
    expectCors(response, ALLOWED);
  });
});

describe('CORS on answers to an allowed origin', () => {
  it('marks a JSON success', async () => {
    const response = await worker('/api/chat', from(ALLOWED_TOO, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Hi' }) }));
    expect(response.status).toBe(200);
    expectCors(response, ALLOWED_TOO);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(((await response.json()) as { text: string }).text.length).toBeGreaterThan(0);
  });

  it('marks an SSE stream, which still streams', async () => {
    const response = await worker('/api/chat/stream', from(ALLOWED, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Hi' }) }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expectCors(response, ALLOWED);
    const frames = parseSse(await response.text());
    expect(joinedText(frames).length).toBeGreaterThan(0);
    expect(frames.at(-1)?.event).toBe('done');
  });

  it('marks a stored chat turn and its resume', async () => {
    const id = await createChat();
    const turn = await worker(`/api/chats/${id}/messages`, from(ALLOWED, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Hi' }) }));
    expectCors(turn, ALLOWED);
    await turn.text();
    const resume = await worker(`/api/chats/${id}/stream?lastEventId=1`, from(ALLOWED));
    expect(resume.status).toBe(200);
    expectCors(resume, ALLOWED);
    expect(parseSse(await resume.text()).at(-1)?.event).toBe('done');
  });

  it.each([
    ['a validation error', '/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":""}' }, 400],
    ['an upstream error', '/api/chat/stream', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: '[fake:http status=429 retry=7s]' }) }, 429],
    ['an unknown route', '/api/nope', {}, 404],
    ['a wrong method', '/api/chat', { method: 'GET' }, 405],
  ] as const)('marks %s, so the page can read its JSON', async (_, path, init, status) => {
    const response = await worker(path, from(ALLOWED, init as RequestInit));
    expect(response.status).toBe(status);
    expectCors(response, ALLOWED);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBeTruthy();
  });

  it("always allows the Worker's own origin (its pages call /api/*)", async () => {
    const response = await worker('/api/chat', from(SELF, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Hi' }) }));
    expect(response.status).toBe(200);
    expectCors(response, SELF);
  });

  it('adds nothing to a request without Origin (curl, servers)', async () => {
    const response = await worker('/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Hi' }) });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('vary')).toBeNull();
  });

  it('leaves routes outside /api alone', async () => {
    const response = await worker('/healthz', from(REFUSED));
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('a refused origin', () => {
  const id = 'b'.repeat(64);
  const routes: [method: string, path: string][] = [
    ['POST', '/api/chat/stream'],
    ['POST', '/api/chat'],
    ['POST', '/api/chats'],
    ['GET', `/api/chats/${id}`],
    ['POST', `/api/chats/${id}/messages`],
    ['GET', `/api/chats/${id}/stream`],
    ['POST', `/api/chats/${id}/cancel`],
    ['DELETE', `/api/chats/${id}`],
    ['GET', '/api/nope'],
  ];
  const kinds = {
    json: (tag: string): RequestInit => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: say(tag) }) }),
    // What a browser sends without a preflight ("simple" requests, mode: 'no-cors').
    'text/plain': (tag: string): RequestInit => ({ headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: JSON.stringify({ message: say(tag) }) }),
    'no body': (): RequestInit => ({}),
  };
  const cases = routes.flatMap(([method, path]) =>
    Object.entries(kinds)
      .filter(([kind]) => kind === 'no body' || (method !== 'GET' && method !== 'DELETE'))
      .map(([kind, init]) => [method, path, kind, init] as const),
  );

  it.each(cases)('gets 403 origin_not_allowed for %s %s (%s), with no upstream call and no Durable Object', async (method, path, _, init) => {
    const objectsBefore = (await listDurableObjectIds(env.CHAT_ROOMS)).length;
    const tag = uniqueTag();
    const response = await worker(path, from(REFUSED, { method, ...init(tag) }));
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    // Readable by the refused page, so it can say why instead of showing a network error.
    expectCors(response, REFUSED);
    expect(await response.json()).toStrictEqual({
      error: { code: 'origin_not_allowed', message: 'this endpoint does not serve pages on https://evil.example' },
    });
    expect(await fakeRequests(tag)).toStrictEqual([]);
    expect((await listDurableObjectIds(env.CHAT_ROOMS)).length).toBe(objectsBefore);
  });

  it('cannot read, write, cancel or delete an existing chat', async () => {
    const chat = await createChat();
    const tag = uniqueTag();
    for (const [method, suffix, body] of [
      ['GET', '', undefined],
      ['POST', '/messages', JSON.stringify({ message: say(tag) })],
      ['POST', '/cancel', undefined],
      ['DELETE', '', undefined],
    ] as const) {
      const response = await worker(`/api/chats/${chat}${suffix}`, from(REFUSED, { method, body, headers: body ? { 'content-type': 'text/plain' } : {} }));
      expect(response.status).toBe(403);
    }
    expect(await fakeRequests(tag)).toStrictEqual([]);
    const snapshot = (await (await worker(`/api/chats/${chat}`)).json()) as ChatSnapshot;
    expect(snapshot.messages).toStrictEqual([]);
  });

  it('is told apart from an allowed origin that differs only in port or scheme', async () => {
    for (const origin of ['https://allowed.example:8443', 'http://allowed.example', 'https://sub.allowed.example', 'null']) {
      const response = await worker('/api/chats', from(origin, { method: 'POST' }));
      expect(response.status, origin).toBe(403);
    }
  });
});

describe('ALLOWED_ORIGINS="*"', () => {
  const anyOrigin = { ...env, ALLOWED_ORIGINS: '*' };

  it('serves every origin, echoing it back', async () => {
    const response = await app.fetch(
      new Request(`${SELF}/api/chat`, from(REFUSED, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Hi' }) })),
      anyOrigin,
    );
    expect(response.status).toBe(200);
    expectCors(response, REFUSED);
  });
});

describe('a malformed ALLOWED_ORIGINS', () => {
  it('fails every request loudly, naming the setting', async () => {
    const response = await app.fetch(new Request(`${SELF}/api/chat`, from(ALLOWED, { method: 'POST' })), { ...env, ALLOWED_ORIGINS: 'https://example.com/' });
    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('config_invalid');
    expect(body.error.message).toContain('ALLOWED_ORIGINS');
  });
});
