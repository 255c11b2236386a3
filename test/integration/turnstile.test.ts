import { createExecutionContext, listDurableObjectIds, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { app } from '../../src/app';
import type { Env } from '../../src/env';
import { clientKey } from '../../src/limits/client-key';
import { signSession } from '../../src/limits/turnstile';
import { FAKE_SECRET_KEY, FAKE_SITE_KEY, fakeToken, siteverifyRecords } from '../turnstile-tokens';
import { fakeRequests, uniqueTag } from '../fake-gemini';
import { joinedText, parseSse } from '../sse';

/**
 * Turnstile on the public routes, against a local fake of siteverify
 * (test/fake/fake-turnstile.ts, modelled on Cloudflare's documented answers):
 * tokens that pass, fail, expired, were used before or are missing; sessions
 * valid, altered, expired or carried elsewhere; a stored chat's own turns;
 * `/v1/*` and `/healthz` left alone; and no upstream call for a refusal.
 */

const fake = () => inject('fakeTurnstileUrl');
const SITE = 'https://allowed.example';
const SITE_HOST = 'allowed.example';
const OPENAI_KEY = 'sk-test-openai-compat-0001';

type Settings = Partial<Record<'TURNSTILE_SESSION_MINUTES' | 'TURNSTILE_VERIFY_URL', string>>;

/** The Worker with Turnstile on; one env object per set, since settings are parsed once per env. */
function worker(settings: Settings = {}) {
  const configured = {
    ...env,
    TURNSTILE_SITE_KEY: FAKE_SITE_KEY,
    TURNSTILE_SECRET_KEY: FAKE_SECRET_KEY,
    TURNSTILE_VERIFY_URL: `${fake()}/turnstile/v0/siteverify`,
    TURNSTILE_SCRIPT_URL: `${fake()}/turnstile/v0/api.js`,
    OPENAI_COMPAT_KEYS: OPENAI_KEY,
    ...settings,
  } as Env;
  return async (path: string, init: RequestInit & { ip?: string; origin?: string | null; token?: string; session?: string } = {}) => {
    const { ip = '203.0.113.7', origin = SITE, token, session, ...rest } = init;
    const headers = new Headers(rest.headers);
    headers.set('cf-connecting-ip', ip);
    if (origin !== null) headers.set('origin', origin);
    if (token !== undefined) headers.set('x-turnstile-token', token);
    if (session !== undefined) headers.set('x-turnstile-session', session);
    const ctx = createExecutionContext();
    const response = await app.fetch(new Request(`http://worker${path}`, { ...rest, headers }), configured, ctx);
    const body = await response.text();
    await waitOnExecutionContext(ctx);
    return { response, status: response.status, body, json: () => JSON.parse(body) as Record<string, any> };
  };
}

const call = worker();
const ask = (message: string, extra: RequestInit & { ip?: string; origin?: string | null; token?: string; session?: string } = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message }),
  ...extra,
});
const error = (json: Record<string, any>) => json.error as { code: string; message: string };

describe('GET /api/assistant with Turnstile on', () => {
  it('stays open, and names the site key and the script a page loads', async () => {
    const { status, json } = await call('/api/assistant');
    expect(status).toBe(200);
    expect(json().turnstile).toEqual({ siteKey: FAKE_SITE_KEY, scriptUrl: `${fake()}/turnstile/v0/api.js` });
  });

  it('names none when Turnstile is off', async () => {
    const ctx = createExecutionContext();
    const response = await app.fetch(new Request('http://worker/api/assistant', { headers: { origin: SITE } }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(((await response.json()) as { turnstile?: unknown }).turnstile).toBeUndefined();
  });
});

describe('a Turnstile token', () => {
  it('that passes lets the request through, once verified with the secret, the client address and an idempotency key, and is answered with a session', async () => {
    const tag = uniqueTag();
    const token = fakeToken(SITE_HOST);
    const { status, body, response } = await call('/api/chat/stream', ask(`Hi [fake:reply tag=${tag}]`, { token }));
    expect(status).toBe(200);
    expect(joinedText(parseSse(body))).toBe((await fakeRequests(tag))[0].sentText);
    expect(response.headers.get('x-turnstile-session')).toMatch(/^v1\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(response.headers.get('access-control-expose-headers')).toContain('x-turnstile-session');
    const [record, ...more] = await siteverifyRecords(fake(), token);
    expect(more).toEqual([]);
    expect(record).toMatchObject({ secretOk: true, remoteip: '203.0.113.7', success: true });
    expect(record.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(await fakeRequests(tag)).toHaveLength(1);
  });

  it('that is missing is 403 challenge_failed, before the body is read, at no upstream cost', async () => {
    const tag = uniqueTag();
    let read = false;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          read = true;
          controller.enqueue(new TextEncoder().encode(JSON.stringify({ message: `Hi [fake:reply tag=${tag}]` })));
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    const { status, json, response } = await call('/api/chat/stream', { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    expect(status).toBe(403);
    expect(error(json())).toEqual({ code: 'challenge_failed', message: 'this endpoint needs a Turnstile token (X-Turnstile-Token) or session (X-Turnstile-Session)' });
    // The page can read why.
    expect(response.headers.get('access-control-allow-origin')).toBe(SITE);
    expect(read).toBe(false);
    expect(await fakeRequests(tag)).toHaveLength(0);
  });

  it('is needed without an Origin too (a script that never loaded the page)', async () => {
    const tag = uniqueTag();
    const { status, json } = await call('/api/chat', ask(`Hi [fake:reply tag=${tag}]`, { origin: null }));
    expect(status).toBe(403);
    expect(error(json()).code).toBe('challenge_failed');
    expect(await fakeRequests(tag)).toHaveLength(0);
  });

  it.each([
    ['bad', () => 'XXXX.DUMMY.TOKEN.XXXX', /^the Turnstile token is not valid \(invalid-input-response\); get a new one$/],
    ['expired', () => fakeToken(SITE_HOST, 'expired'), /^the Turnstile token is expired or already used \(timeout-or-duplicate\); get a new one$/],
    ['empty', () => '', /^the Turnstile token is empty or too long$/],
    ['too long', () => 'x'.repeat(2049), /^the Turnstile token is empty or too long$/],
  ])('that is %s is 403 challenge_failed at no upstream cost', async (_, token, message) => {
    const tag = uniqueTag();
    const { status, json, response } = await call('/api/chat/stream', ask(`Hi [fake:reply tag=${tag}]`, { token: token() }));
    expect(status).toBe(403);
    expect(error(json()).code).toBe('challenge_failed');
    expect(error(json()).message).toMatch(message);
    expect(response.headers.get('x-turnstile-session')).toBeNull();
    expect(await fakeRequests(tag)).toHaveLength(0);
  });

  it('is single-use: sent again, it is refused as used', async () => {
    const tag = uniqueTag();
    const token = fakeToken(SITE_HOST);
    expect((await call('/api/chat', ask(`Hi [fake:reply tag=${tag}]`, { token }))).status).toBe(200);
    const again = await call('/api/chat', ask(`Hi [fake:reply tag=${tag}]`, { token }));
    expect(again.status).toBe(403);
    expect(error(again.json()).message).toContain('expired or already used (timeout-or-duplicate)');
    expect(await fakeRequests(tag)).toHaveLength(1);
  });

  it('must have been solved on the page’s own site', async () => {
    const tag = uniqueTag();
    const elsewhere = await call('/api/chat', ask(`Hi [fake:reply tag=${tag}]`, { token: fakeToken('evil.example') }));
    expect(elsewhere.status).toBe(403);
    expect(error(elsewhere.json()).message).toBe('the Turnstile token was solved on another site (evil.example)');
    // Without an Origin (a server relaying its visitor's token): a site this Worker serves.
    const relayed = await call('/api/chat', ask(`Hi [fake:reply tag=${tag}]`, { origin: null, token: fakeToken(SITE_HOST) }));
    expect(relayed.status).toBe(200);
    const relayedElsewhere = await call('/api/chat', ask(`Hi [fake:reply tag=${tag}]`, { origin: null, token: fakeToken('evil.example') }));
    expect(relayedElsewhere.status).toBe(403);
    expect(await fakeRequests(tag)).toHaveLength(1);
  });

  it('is verified again, with the same idempotency key, when siteverify fails once', async () => {
    const token = fakeToken(SITE_HOST, 'flaky');
    const { status } = await call('/api/chat', ask('Hi', { token }));
    expect(status).toBe(200);
    const records = await siteverifyRecords(fake(), token);
    expect(records).toHaveLength(2);
    expect(records[1].idempotencyKey).toBe(records[0].idempotencyKey);
  });

  it('that siteverify cannot judge is 503 challenge_unavailable at no upstream cost', async () => {
    const tag = uniqueTag();
    const { status, json, response } = await call('/api/chat', ask(`Hi [fake:reply tag=${tag}]`, { token: fakeToken(SITE_HOST, 'down') }));
    expect(status).toBe(503);
    expect(error(json())).toEqual({ code: 'challenge_unavailable', message: 'Turnstile siteverify did not answer; try again' });
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await fakeRequests(tag)).toHaveLength(0);
  });

  it('with a wrong secret key configured is 503 challenge_unavailable, never the visitor’s fault', async () => {
    const configured = { ...env, TURNSTILE_SITE_KEY: FAKE_SITE_KEY, TURNSTILE_SECRET_KEY: 'not-the-secret', TURNSTILE_VERIFY_URL: `${fake()}/turnstile/v0/siteverify` } as Env;
    const ctx = createExecutionContext();
    const response = await app.fetch(new Request('http://worker/api/chat', { ...ask('Hi'), headers: { 'content-type': 'application/json', 'x-turnstile-token': fakeToken(SITE_HOST) } }), configured, ctx);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('challenge_unavailable');
  });
});

describe('a Turnstile session', () => {
  async function session(ip = '203.0.113.7', origin: string | null = SITE): Promise<string> {
    const { response, status } = await call('/api/chat', ask('Hi', { ip, origin, token: fakeToken(SITE_HOST) }));
    expect(status).toBe(200);
    return response.headers.get('x-turnstile-session')!;
  }

  it('lets later requests through with no token and no new verification', async () => {
    const tag = uniqueTag();
    const token = fakeToken(SITE_HOST);
    const first = await call('/api/chat/stream', ask(`Hi [fake:reply tag=${tag}]`, { token }));
    const issued = first.response.headers.get('x-turnstile-session')!;
    for (let i = 0; i < 3; i++) {
      const later = await call('/api/chat/stream', ask(`Again [fake:reply tag=${tag}]`, { session: issued }));
      expect(later.status).toBe(200);
      // Not issued again: a session is made only from a token.
      expect(later.response.headers.get('x-turnstile-session')).toBeNull();
    }
    expect(await siteverifyRecords(fake(), token)).toHaveLength(1);
    expect(await fakeRequests(tag)).toHaveLength(4);
  });

  it('that was altered, expired, or is carried to another client or site is 403 challenge_failed at no upstream cost', async () => {
    const tag = uniqueTag();
    const valid = await session();
    const [, expires, signature] = valid.split('.');
    const settings = { siteKey: FAKE_SITE_KEY, secretKey: FAKE_SECRET_KEY, verifyUrl: '', scriptUrl: '', sessionMinutes: 30 };
    const expired = await signSession(settings, `${clientKey('203.0.113.7')}\n${SITE}`, Date.now() - 31 * 60_000);
    const cases: [string, Parameters<typeof call>[1]][] = [
      ['a longer expiry', { session: `v1.${Number(expires) + 600}.${signature}` }],
      ['another signature', { session: `v1.${expires}.${signature.slice(0, -2)}AA` }],
      ['expired', { session: expired }],
      ['another client', { session: valid, ip: '198.51.100.99' }],
      ['another site', { session: valid, origin: 'http://localhost:5173' }],
      ['no site', { session: valid, origin: null }],
    ];
    for (const [name, init] of cases) {
      const { status, json } = await call('/api/chat', ask(`Hi [fake:reply tag=${tag}]`, init));
      expect(status, name).toBe(403);
      expect(error(json()), name).toEqual({
        code: 'challenge_failed',
        message: 'the Turnstile session is not valid here (expired, altered, or issued to another client or site); send a new token',
      });
    }
    expect(await fakeRequests(tag)).toHaveLength(0);
  });

  it('held by an IPv6 client stays valid across its /64', async () => {
    const issued = await session('2001:db8:1:2::10');
    expect((await call('/api/chat', ask('Hi', { ip: '2001:db8:1:2:aaaa::77', session: issued }))).status).toBe(200);
  });

  it('with a bad session and a good token is answered from the token, with a new session', async () => {
    const { status, response } = await call('/api/chat', ask('Hi', { session: 'v1.1.bad', token: fakeToken(SITE_HOST) }));
    expect(status).toBe(200);
    expect(response.headers.get('x-turnstile-session')).toMatch(/^v1\./);
  });
});

describe('stored chats with Turnstile on', () => {
  it('are created only past a challenge: refused, no chat object is made', async () => {
    const before = (await listDurableObjectIds(env.CHAT_ROOMS)).length;
    const { status, json } = await call('/api/chats', { method: 'POST' });
    expect(status).toBe(403);
    expect(error(json()).code).toBe('challenge_failed');
    expect((await listDurableObjectIds(env.CHAT_ROOMS)).length).toBe(before);
  });

  it('created with a valid token need no further token for their own turns, reads, files and cancel', async () => {
    const tag = uniqueTag();
    const created = await call('/api/chats', { method: 'POST', token: fakeToken(SITE_HOST) });
    expect(created.status).toBe(201);
    expect(created.response.headers.get('x-turnstile-session')).toMatch(/^v1\./);
    const { id } = created.json() as { id: string };
    // Later, from another network and with no session: the chat's id is what it takes.
    const elsewhere = { ip: '192.0.2.44' };
    for (const message of ['one', 'two']) {
      const turn = await call(`/api/chats/${id}/messages`, ask(`${message} [fake:reply tag=${tag}]`, elsewhere));
      expect(turn.status).toBe(200);
      expect(joinedText(parseSse(turn.body)).length).toBeGreaterThan(0);
    }
    const snapshot = await call(`/api/chats/${id}`, elsewhere);
    expect(snapshot.status).toBe(200);
    expect((snapshot.json().messages as unknown[]).length).toBe(4);
    expect((await call(`/api/chats/${id}/cancel`, { method: 'POST', ...elsewhere })).json()).toEqual({ cancelled: false });
    expect(await fakeRequests(tag)).toHaveLength(2);
  });

  it('an id this Worker did not make reaches no chat', async () => {
    const { status } = await call(`/api/chats/${'ab'.repeat(32)}/messages`, ask('Hi'));
    expect(status).toBe(404);
  });

  it('AI SDK chats (ids the client names) are challenged on every route', async () => {
    const tag = uniqueTag();
    const body = { id: `chat-${uniqueTag()}-xxxxxxxx`, messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: `Hi [fake:reply tag=${tag}]` }] }] };
    const refused = await call('/api/ai-sdk/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(refused.status).toBe(403);
    expect((await call(`/api/ai-sdk/chat/${body.id}`)).status).toBe(403);
    const passed = await call('/api/ai-sdk/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), token: fakeToken(SITE_HOST) });
    expect(passed.status).toBe(200);
    const session = passed.response.headers.get('x-turnstile-session')!;
    expect((await call(`/api/ai-sdk/chat/${body.id}`, { session })).status).toBe(200);
    expect(await fakeRequests(tag)).toHaveLength(1);
  });
});

describe('routes Turnstile leaves alone', () => {
  it('the OpenAI-compatible API, with its server keys', async () => {
    const tag = uniqueTag();
    const { status } = await call('/v1/chat/completions', {
      method: 'POST',
      origin: null,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${OPENAI_KEY}` },
      body: JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: `Hi [fake:reply tag=${tag}]` }] }),
    });
    expect(status).toBe(200);
    expect(await fakeRequests(tag)).toHaveLength(1);
  });

  it('/healthz', async () => {
    expect((await call('/healthz', { origin: null })).status).toBe(200);
  });

  it('preflights, which allow the token and session headers', async () => {
    const { status, response } = await call('/api/chat/stream', {
      method: 'OPTIONS',
      headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-turnstile-token, x-turnstile-session' },
    });
    expect(status).toBe(204);
    expect(response.headers.get('access-control-allow-headers')).toBe('content-type, last-event-id, x-turnstile-token, x-turnstile-session');
  });
});
