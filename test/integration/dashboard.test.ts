import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { newSession, SESSION_COOKIE } from '../../src/admin/admin-auth';
import { app } from '../../src/app';
import type { Env } from '../../src/env';
import type { Usage } from '../../src/protocol/events';
import type { ChatSnapshot } from '../../src/protocol/messages';
import type { StatsReport, Summary } from '../../src/stats/stats-report';
import { parseSse } from '../sse';

/**
 * The owner's dashboard: its numbers against a known sequence of requests (answers, refusals,
 * errors, stateless and stored), its key and session, and the ratings it lists.
 */

const KEY = 'owner-key-for-tests-0123456789';
/** The dashboard on, and a rate limit of one request a minute per client (each request its own client unless a test says). */
const ADMIN = { ...env, ADMIN_KEY: KEY, RATE_LIMIT_PER_MINUTE: '1' } as Env;

let clients = 0;
const newClient = () => `203.0.113.${++clients}`;

/** The Worker with `settings`; the response's body is read to its end (a stream's last frame is what ends its count). */
async function call(path: string, init: RequestInit = {}, { ip = newClient(), settings = ADMIN } = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await app.fetch(new Request(`http://worker${path}`, { ...init, headers: { 'cf-connecting-ip': ip, ...init.headers } }), settings, createExecutionContext());
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

const bearer = { authorization: `Bearer ${KEY}` };

async function stats(settings: Env = ADMIN): Promise<StatsReport> {
  const response = await call('/admin/api/stats', { headers: bearer }, { settings });
  expect(response.status).toBe(200);
  return JSON.parse(response.text) as StatsReport;
}

/** The numbers a test compares: a summary without its histogram's shape. */
function numbers(s: Summary | undefined) {
  return {
    requests: s?.requests ?? 0,
    answers: s?.answers ?? 0,
    tokens: s?.tokens ?? { prompt: 0, output: 0, thinking: 0, cached: 0 },
    errors: s?.errors ?? {},
    refusals: s?.refusals ?? {},
    ttftCount: s?.ttft.count ?? 0,
  };
}

/** Polls the report until `ready` holds (counts arrive after a batch's second), then once more a flush later, to catch a count that comes twice. */
async function settledStats(ready: (report: StatsReport) => boolean): Promise<StatsReport> {
  const deadline = Date.now() + 10_000;
  let report = await stats();
  while (!ready(report) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    report = await stats();
  }
  await new Promise((r) => setTimeout(r, 1500));
  return stats();
}

const usageOfStream = (text: string) => (parseSse(text).find((f) => f.event === 'done')?.data as { usage: Usage }).usage;
const errorOfStream = (text: string) => (parseSse(text).find((f) => f.event === 'error')?.data as { error: { code: string } }).error.code;

function addUsage(into: Summary['tokens'], usage: Usage): void {
  into.prompt += usage.promptTokenCount;
  into.output += usage.candidatesTokenCount;
  into.thinking += usage.thoughtsTokenCount ?? 0;
  into.cached += usage.cachedContentTokenCount ?? 0;
}

async function newChat(ip?: string): Promise<string> {
  const created = await call('/api/chats', { method: 'POST' }, { ip });
  expect(created.status).toBe(201);
  return (JSON.parse(created.text) as { id: string }).id;
}

describe('GET /admin/api/stats', () => {
  it('counts a known sequence of requests: answers, refusals (origin, limits, bad input) and errors, stateless and stored, per assistant', async () => {
    const before = await stats();
    const tokens = { prompt: 0, output: 0, thinking: 0, cached: 0 };
    const errors: Record<string, number> = {};

    // Answers: a stream, a JSON answer, a stored chat's turn.
    const streamed = await call('/api/chat/stream', json({ message: 'One [fake:reply chunks=3]' }));
    expect(streamed.status).toBe(200);
    addUsage(tokens, usageOfStream(streamed.text));
    const whole = await call('/api/chat', json({ message: 'Two [fake:reply chunks=2]' }));
    expect(whole.status).toBe(200);
    addUsage(tokens, (JSON.parse(whole.text) as { usage: Usage }).usage);
    const ip = newClient();
    const chat = await newChat(ip);
    const turn = await call(`/api/chats/${chat}/messages`, json({ message: 'Three [fake:reply chunks=2]' }), { ip });
    expect(turn.status).toBe(200);
    addUsage(tokens, usageOfStream(turn.text));

    // Refusals: a page on an origin not allowed, a client over its rate limit (its first request answered), a bad body.
    expect((await call('/api/chat/stream', json({ message: 'Hi' }, { origin: 'https://evil.example' }))).status).toBe(403);
    const limited = newClient();
    const first = await call('/api/chat', json({ message: 'Four [fake:reply chunks=1]' }), { ip: limited });
    addUsage(tokens, (JSON.parse(first.text) as { usage: Usage }).usage);
    expect((await call('/api/chat', json({ message: 'Five' }), { ip: limited })).status).toBe(429);
    expect((await call('/api/chat', json('{"message": "unfinished'))).status).toBe(400);

    // Errors: Gemini's 503 before the stream, an error inside it, and both again in stored chats.
    const unavailable = await call('/api/chat/stream', json({ message: 'Six [fake:http status=503]' }));
    expect(unavailable.status).toBe(503);
    const code503 = (JSON.parse(unavailable.text) as { error: { code: string } }).error.code;
    errors[code503] = (errors[code503] ?? 0) + 1;
    const broken = await call('/api/chat/stream', json({ message: 'Seven [fake:error code=500]' }));
    expect(broken.status).toBe(200);
    const midStream = errorOfStream(broken.text);
    errors[midStream] = (errors[midStream] ?? 0) + 1;
    const ip2 = newClient();
    const chat2 = await newChat(ip2);
    const quota = await call(`/api/chats/${chat2}/messages`, json({ message: 'Eight [fake:http status=429 retry=none]' }), { ip: ip2 });
    expect(quota.status).toBe(429);
    const code429 = (JSON.parse(quota.text) as { error: { code: string } }).error.code;
    expect(code429).toBe('upstream_quota');
    errors[code429] = (errors[code429] ?? 0) + 1;
    const ip3 = newClient();
    const chat3 = await newChat(ip3);
    const storedBroken = await call(`/api/chats/${chat3}/messages`, json({ message: 'Nine [fake:error code=500]' }), { ip: ip3 });
    errors[errorOfStream(storedBroken.text)] = (errors[errorOfStream(storedBroken.text)] ?? 0) + 1;

    // A site assistant's page: counted for it, at its model.
    const shop = await call('/api/chat/stream', json({ message: 'Ten [fake:reply chunks=2]' }, { origin: 'https://shop.example' }));
    expect(shop.status).toBe(200);
    const shopUsage = usageOfStream(shop.text);

    // Not counted: reading a chat, creating one (no Gemini call).
    expect((await call(`/api/chats/${chat}`)).status).toBe(200);

    const defaultRequests = 11;
    const report = await settledStats((r) => r.total.requests - before.total.requests >= defaultRequests + 1 && r.total.answers - before.total.answers >= 5);
    const delta = (after: Summary | undefined, was: Summary | undefined) => {
      const a = numbers(after);
      const b = numbers(was);
      const diff = (x: Record<string, number | undefined>, y: Record<string, number | undefined>) =>
        Object.fromEntries(Object.keys(x).map((k) => [k, (x[k] ?? 0) - (y[k] ?? 0)]).filter(([, n]) => n !== 0));
      return {
        requests: a.requests - b.requests,
        answers: a.answers - b.answers,
        tokens: diff(a.tokens, b.tokens),
        errors: diff(a.errors, b.errors),
        refusals: diff(a.refusals, b.refusals),
        ttftCount: a.ttftCount - b.ttftCount,
      };
    };
    const nonZero = (t: Summary['tokens']) => Object.fromEntries(Object.entries(t).filter(([, n]) => n !== 0));
    expect(delta(report.byAssistant.default, before.byAssistant.default)).toEqual({
      requests: defaultRequests,
      answers: 4,
      tokens: nonZero(tokens),
      errors,
      refusals: { origin: 1, limits: 1, input: 1 },
      // Every request whose answer began: the four answers, and the two errors after their first text.
      ttftCount: 6,
    });
    const shopTokens = { prompt: 0, output: 0, thinking: 0, cached: 0 };
    addUsage(shopTokens, shopUsage);
    expect(delta(report.byAssistant.shop, before.byAssistant.shop)).toEqual({ requests: 1, answers: 1, tokens: nonZero(shopTokens), errors: {}, refusals: {}, ttftCount: 1 });

    // Per day: today's column holds them all; the spend is the catalogue's list price of the model that answered.
    const today = report.days.at(-1)!;
    expect(report.days).toHaveLength(30);
    expect(report.byDay.at(-1)!.day).toBe(today);
    expect(report.byDay.at(-1)!.total.requests - (before.byDay.at(-1)!.day === today ? before.byDay.at(-1)!.total.requests : 0)).toBe(defaultRequests + 1);
    // The list prices in USD per million tokens, written out (src/gemini/models.ts's table; not read from it):
    // 3.5 Flash-Lite 0.30 in, 2.50 out; 3.8 Flash 0.75 in, 3.75 out, doubled from 2027-01-01. Thought tokens are billed as output;
    // the report rounds a spend to the micro-dollar.
    expect(shopTokens.prompt).toBeGreaterThan(0);
    expect(shopTokens.output).toBeGreaterThan(0);
    const shopSpend = (shopTokens.prompt * 0.3 + (shopTokens.output + shopTokens.thinking) * 2.5) / 1_000_000;
    expect(report.byAssistant.shop!.spendUsd - (before.byAssistant.shop?.spendUsd ?? 0)).toBeCloseTo(shopSpend, 6);
    const [flashIn, flashOut] = today < '2027-01-01' ? [0.75, 3.75] : [1.5, 7.5];
    const defaultSpend = (tokens.prompt * flashIn + (tokens.output + tokens.thinking) * flashOut) / 1_000_000;
    expect(report.byAssistant.default!.spendUsd - (before.byAssistant.default?.spendUsd ?? 0)).toBeCloseTo(defaultSpend, 6);
    expect(report.total.ttft.p50Ms).not.toBeNull();
    expect(report.total.ttft.p95Ms).not.toBeNull();
  });
});

describe('/admin without ADMIN_KEY', () => {
  it('is a 404 on every path, as a path the Worker does not serve', async () => {
    for (const [path, init] of [
      ['/admin', {}],
      ['/admin/api/stats', { headers: bearer }],
      ['/admin/dashboard.css', {}],
      ['/admin/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `key=${KEY}` }],
      ['/admin/nothing', {}],
    ] as const) {
      const response = await call(path, init, { settings: env as Env });
      expect(response.status, path).toBe(404);
      expect(JSON.parse(response.text).error.code).toBe('not_found');
    }
  });
});

describe('/admin with ADMIN_KEY', () => {
  afterEach(() => vi.restoreAllMocks());

  it('gives no numbers without the key or a session: 401, never cached', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-key-at-all-0000' }, { cookie: `${SESSION_COOKIE}=1999999999.${'A'.repeat(43)}` }] as Record<string, string>[]) {
      const api = await call('/admin/api/stats', { headers });
      expect(api.status).toBe(401);
      expect(api.text).not.toMatch(/requests|answers|tokens/);
      expect(api.headers.get('cache-control')).toBe('no-store');
      const page = await call('/admin', { headers });
      expect(page.status).toBe(401);
      expect(page.text).toContain('<form method="post" action="/admin/login">');
      expect(page.text).not.toContain('Requests per day');
      expect(page.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('lets a client give a wrong key ten times a minute, by form or bearer, then refuses even the right one', async () => {
    const ip = '198.18.7.7';
    // The right key never counts: the owner's script may read the stats as often as it likes.
    for (let i = 0; i < 12; i++) expect((await call('/admin/api/stats', { headers: { authorization: `Bearer ${KEY}` } }, { ip })).status).toBe(200);
    const form = (key: string) => call('/admin/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' }, body: `key=${encodeURIComponent(key)}` }, { ip });
    for (let i = 0; i < 5; i++) expect((await form(`guess-${i}`)).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await call('/admin/api/stats', { headers: { authorization: `Bearer guess-${i}` } }, { ip })).status).toBe(401);
    const refused = await form(KEY);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('set-cookie')).toBeNull();
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const bearer = await call('/admin/api/stats', { headers: { authorization: `Bearer ${KEY}` } }, { ip });
    expect(bearer.status).toBe(429);
    expect(bearer.text).not.toContain('requests');
    // Another client is not held back.
    const other = await call('/admin/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' }, body: `key=${encodeURIComponent(KEY)}` });
    expect(other.status).toBe(303);
  });

  it('counts wrong keys sent at once: at most ten are compared, the rest refused (regression: the check and the count were two calls, so a burst all passed the check)', async () => {
    const ip = '198.18.7.8';
    const form = (key: string) => call('/admin/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' }, body: `key=${encodeURIComponent(key)}` }, { ip });
    const guesses = await Promise.all(
      Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? form(`guess-${i}`) : call('/admin/api/stats', { headers: { authorization: `Bearer guess-${i}` } }, { ip }))),
    );
    const statuses = guesses.map((guess) => guess.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(6);
    expect((await form(KEY)).status).toBe(429);
  });

  it('does not count the right key, even a burst of it sent at once', async () => {
    const ip = '198.18.7.9';
    const right = () => call('/admin/api/stats', { headers: { authorization: `Bearer ${KEY}` } }, { ip });
    expect((await Promise.all(Array.from({ length: 12 }, right))).map((response) => response.status)).toEqual(Array(12).fill(200));
    for (let i = 0; i < 9; i++) expect((await call('/admin/api/stats', { headers: { authorization: `Bearer guess-${i}` } }, { ip })).status).toBe(401);
    // The tenth wrong key is still compared: none of the right ones took a slot.
    expect((await call('/admin/api/stats', { headers: { authorization: 'Bearer guess-9' } }, { ip })).status).toBe(401);
    expect((await right()).status).toBe(429);
  });

  it('signs in with the form: an HttpOnly, Secure, SameSite=Strict session cookie that does not hold the key', async () => {
    const wrong = await call('/admin/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'key=guess' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    // A login form far larger than a key is not read.
    const huge = await call('/admin/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `key=${encodeURIComponent(KEY)}&pad=${'x'.repeat(5000)}` });
    expect(huge.status).toBe(413);
    // Regression: it said "That is not the admin key." of a form it never read.
    expect(huge.text).toContain('That form is too large: send the admin key alone.');
    expect(huge.text).not.toContain('That is not the admin key.');
    expect(huge.headers.get('set-cookie')).toBeNull();
    const login = await call('/admin/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' }, body: `key=${encodeURIComponent(KEY)}` });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/admin');
    expect(login.headers.get('cache-control')).toBe('no-store');
    const cookie = login.headers.get('set-cookie')!;
    const attributes = cookie.split(';').map((a) => a.trim());
    expect(attributes[0]).toMatch(new RegExp(`^${SESSION_COOKIE}=\\d+\\.[\\w-]{43}$`));
    expect(attributes).toEqual(expect.arrayContaining(['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']));
    expect(cookie).not.toContain(KEY);
    const session = { cookie: attributes[0]! };
    const page = await call('/admin', { headers: session });
    expect(page.status).toBe(200);
    expect(page.text).toContain('Requests per day');
    expect(page.text).toContain('<svg class="chart"');
    expect(page.text).not.toMatch(/<script/i);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect((await call('/admin/api/stats', { headers: session })).status).toBe(200);
    const logout = await call('/admin/logout', { method: 'POST', headers: session });
    expect(logout.headers.get('set-cookie')).toContain('Max-Age=0');
  });

  it('refuses a login posted from another site, and a session that expired or that another key signed', async () => {
    const foreign = await call('/admin/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' }, body: `key=${KEY}` });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('set-cookie')).toBeNull();
    const expired = await newSession(KEY, Date.now() - 13 * 3600_000);
    const otherKey = await newSession('another-key-0123456789abcdef', Date.now());
    for (const value of [expired, otherKey]) expect((await call('/admin/api/stats', { headers: { cookie: `${SESSION_COOKIE}=${value}` } })).status).toBe(401);
  });

  it('compares the key and the session in constant time', async () => {
    const compare = vi.spyOn(crypto.subtle, 'timingSafeEqual');
    expect((await call('/admin/api/stats', { headers: { authorization: 'Bearer x' } })).status).toBe(401);
    expect(compare).toHaveBeenCalledTimes(1);
    // Digests of equal length, whatever the length presented.
    const [a, b] = compare.mock.calls[0]!;
    expect((a as ArrayBuffer).byteLength).toBe(32);
    expect((b as ArrayBuffer).byteLength).toBe(32);
    await call('/admin', { headers: { cookie: `${SESSION_COOKIE}=${await newSession(KEY, Date.now())}` } });
    expect(compare).toHaveBeenCalledTimes(2);
  });
});

describe('POST /api/chats/:id/messages/:messageId/feedback', () => {
  async function answeredChat(settings = ADMIN): Promise<{ chat: string; answer: number; question: number }> {
    const ip = newClient();
    const created = await call('/api/chats', { method: 'POST' }, { ip, settings });
    const chat = (JSON.parse(created.text) as { id: string }).id;
    await call(`/api/chats/${chat}/messages`, json({ message: 'What is green tea? [fake:reply chunks=2]' }), { ip, settings });
    const snapshot = JSON.parse((await call(`/api/chats/${chat}`, {}, { settings })).text) as ChatSnapshot;
    return { chat, question: snapshot.messages[0]!.id, answer: snapshot.messages[1]!.id };
  }
  const rate = (chat: string, message: number | string, rating: unknown, settings = ADMIN) =>
    call(`/api/chats/${chat}/messages/${message}/feedback`, json({ rating }), { settings });

  it('names the answer in an X-Message-Id header of the turn stream, which pages may read', async () => {
    const ip = newClient();
    const chat = await newChat(ip);
    const turn = await call(`/api/chats/${chat}/messages`, json({ message: 'Hi [fake:reply chunks=1]' }, { origin: 'https://allowed.example' }), { ip });
    const snapshot = JSON.parse((await call(`/api/chats/${chat}`)).text) as ChatSnapshot;
    expect(turn.headers.get('x-message-id')).toBe(String(snapshot.messages[1]!.id));
    expect(turn.headers.get('access-control-expose-headers')).toContain('x-message-id');
    // What only the Worker reads is not passed on.
    expect(turn.headers.get('x-chat-assistant')).toBeNull();
    expect(turn.headers.get('x-error-code')).toBeNull();
  });

  it('stores the rating with the answer, takes it back with null, and refuses what is not an answer', async () => {
    const { chat, answer, question } = await answeredChat();
    const up = await rate(chat, answer, 'up');
    expect(up.status).toBe(200);
    expect(JSON.parse(up.text)).toEqual({ messageId: answer, rating: 'up' });
    const rated = JSON.parse((await call(`/api/chats/${chat}`)).text) as ChatSnapshot;
    expect(rated.messages[1]!.rating).toBe('up');
    expect(rated.messages[0]!.rating).toBeUndefined();
    expect((await rate(chat, answer, null)).status).toBe(200);
    expect((JSON.parse((await call(`/api/chats/${chat}`)).text) as ChatSnapshot).messages[1]!.rating).toBeUndefined();
    expect((await rate(chat, question, 'down')).status).toBe(400);
    expect((await rate(chat, 999, 'down')).status).toBe(404);
    expect((await rate(chat, 'abc', 'down')).status).toBe(404);
    expect((await rate(chat, answer, 'meh')).status).toBe(400);
    expect((await rate('f'.repeat(64), answer, 'up')).status).toBe(404);
  });

  it('lists the latest rated answers on the dashboard, without their text unless ADMIN_SHOW_TRANSCRIPTS is on', async () => {
    const { chat, answer } = await answeredChat();
    expect((await rate(chat, answer, 'down')).status).toBe(200);
    const listed = await settledStats((r) => r.ratings.some((x) => x.chat === chat.slice(0, 8) && x.messageId === answer));
    const entry = listed.ratings.find((x) => x.chat === chat.slice(0, 8) && x.messageId === answer)!;
    expect(entry).toEqual({ at: expect.any(Number), rating: 'down', assistant: 'default', model: 'gemini-3.8-flash', chat: chat.slice(0, 8), messageId: answer });
    expect(listed.transcripts).toBe(false);

    const open = { ...ADMIN, ADMIN_SHOW_TRANSCRIPTS: 'true' } as Env;
    const shown = await answeredChat(open);
    expect((await rate(shown.chat, shown.answer, 'up', open)).status).toBe(200);
    const deadline = Date.now() + 5000;
    let report = await stats(open);
    while (!report.ratings.some((x) => x.chat === shown.chat.slice(0, 8)) && Date.now() < deadline) report = await stats(open);
    const withText = report.ratings.find((x) => x.chat === shown.chat.slice(0, 8))!;
    expect(withText.question).toBe('What is green tea? [fake:reply chunks=2]');
    expect(withText.answer!.length).toBeGreaterThan(0);
    expect(report.transcripts).toBe(true);
    // The page lists it too, with the question.
    const page = await call('/admin', { headers: { cookie: `${SESSION_COOKIE}=${await newSession(KEY, Date.now())}` } }, { settings: open });
    expect(page.text).toContain('What is green tea?');
    // Turned off again, the text is no longer shown.
    expect((await stats()).ratings.find((x) => x.chat === shown.chat.slice(0, 8))?.question).toBeUndefined();
  });

  it('rates a useChat answer by its UI message id', async () => {
    const id = `feedback${Date.now().toString(36)}abcdef`;
    const sent = await call('/api/ai-sdk/chat', json({ id, trigger: 'submit-message', messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Hi [fake:reply chunks=1]' }] }] }));
    expect(sent.status).toBe(200);
    const { messages } = JSON.parse((await call(`/api/ai-sdk/chat/${id}`)).text) as { messages: { id: string; role: string }[] };
    const answer = messages.find((m) => m.role === 'assistant')!.id;
    expect(answer).toMatch(/^m-\d+$/);
    expect((await call(`/api/ai-sdk/chat/${id}/messages/${answer}/feedback`, json({ rating: 'up' }))).status).toBe(200);
    expect((await call(`/api/ai-sdk/chat/${id}/messages/u-1/feedback`, json({ rating: 'up' }))).status).toBe(404);
    // A reloaded useChat app sees the rating in the answer's metadata.
    const after = JSON.parse((await call(`/api/ai-sdk/chat/${id}`)).text) as { messages: { id: string; metadata?: { rating?: string } }[] };
    expect(after.messages.find((m) => m.id === answer)?.metadata?.rating).toBe('up');
  });
});
