import { createExecutionContext, listDurableObjectIds, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import type { Env } from '../../src/env';
import { clientKey } from '../../src/limits/client-key';
import { SAVE_TOKENS_AFTER_MS, type ClientLimiter } from '../../src/limits/client-limiter';
import { fakeRequests, uniqueTag } from '../fake-gemini';
import { parseSse } from '../sse';
import { exe, png } from '../files';

/**
 * Per-client limits, with the Worker's own settings turned on (the test
 * bindings turn them off for the other suites): each test is its own client,
 * by CF-Connecting-IP.
 */

let clients = 0;
/** A client address no other test uses. */
const newClient = () => `198.51.100.${++clients}`;

/** The Worker with these settings; one env object per set, since settings are parsed once per env. */
function worker(settings: Partial<Record<'RATE_LIMIT_PER_MINUTE' | 'CHAT_CREATE_PER_MINUTE' | 'DAILY_TOKEN_BUDGET' | 'DAILY_UPLOAD_BYTES', string>>) {
  const limited = { ...env, RATE_LIMIT_PER_MINUTE: '0', CHAT_CREATE_PER_MINUTE: '0', DAILY_TOKEN_BUDGET: '0', DAILY_UPLOAD_BYTES: '0', ...settings } as Env;
  return async (ip: string, path: string, init: RequestInit = {}, after?: (response: Response) => Promise<void>) => {
    const ctx = createExecutionContext();
    const response = await app.fetch(new Request(`http://worker${path}`, { ...init, headers: { 'cf-connecting-ip': ip, ...init.headers } }), limited, ctx);
    await after?.(response);
    await waitOnExecutionContext(ctx);
    return response;
  };
}

const ask = (message: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message }) });
const limiter = (ip: string) => env.CLIENT_LIMITS.get(env.CLIENT_LIMITS.idFromName(clientKey(ip)));
const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

describe('RATE_LIMIT_PER_MINUTE', () => {
  const call = worker({ RATE_LIMIT_PER_MINUTE: '3' });

  it('admits that many requests a minute, tells what is left, and refuses the next with 429 and Retry-After, at no upstream cost', async () => {
    const ip = newClient();
    const tag = uniqueTag();
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await call(ip, '/api/chat', ask(`Hi [fake:reply chunks=1 tag=${tag}]`));
      expect(response.status).toBe(200);
      expect(response.headers.get('x-ratelimit-limit')).toBe('3');
      remaining.push(response.headers.get('x-ratelimit-remaining'));
      expect(Number(response.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await call(ip, '/api/chat/stream', ask(`Hi [fake:reply tag=${tag}]`));
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(await errorOf(refused)).toEqual({ code: 'rate_limited', message: `at most 3 requests a minute; retry in ${retryAfter} s` });
    expect(await fakeRequests(tag)).toHaveLength(3);
  });

  it('counts every route that calls Gemini, stored chats included, in one window', async () => {
    const ip = newClient();
    const created = await worker({})(ip, '/api/chats', { method: 'POST' });
    const { id } = (await created.json()) as { id: string };
    expect((await call(ip, '/api/chat', ask('one'))).status).toBe(200);
    expect((await call(ip, '/api/chat/stream', ask('two'), (r) => r.text().then(() => {}))).status).toBe(200);
    expect((await call(ip, `/api/chats/${id}/messages`, ask('three'), (r) => r.text().then(() => {}))).status).toBe(200);
    const refused = await call(ip, `/api/chats/${id}/messages`, ask('four'));
    expect(refused.status).toBe(429);
    // Refused before the chat: nothing stored for it.
    const snapshot = (await (await call(ip, `/api/chats/${id}`)).json()) as { messages: unknown[] };
    expect(snapshot.messages).toHaveLength(2);
  });

  it('is exact under 50 concurrent requests from one client', async () => {
    const ip = newClient();
    const tag = uniqueTag();
    const exact = worker({ RATE_LIMIT_PER_MINUTE: '20' });
    const statuses = await Promise.all(Array.from({ length: 50 }, () => exact(ip, '/api/chat', ask(`Hi [fake:reply chunks=1 tag=${tag}]`)).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    expect(await fakeRequests(tag)).toHaveLength(20);
  });

  it('never counts a refused body', async () => {
    const ip = newClient();
    for (const body of ['{', '{"message":""}', '{"message":"hi","colour":"blue"}', '[]']) {
      const response = await call(ip, '/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(response.status).toBe(400);
    }
    expect((await call(ip, '/api/chat', { method: 'POST', body: 'hi' })).status).toBe(415);
    for (let i = 0; i < 3; i++) expect((await call(ip, '/api/chat', ask('valid'))).status).toBe(200);
  });

  it('costs no Durable Object for a refused origin, nor for an invalid body', async () => {
    const before = (await listDurableObjectIds(env.CLIENT_LIMITS)).length;
    const ip = newClient();
    expect((await call(ip, '/api/chat', { ...ask('hi'), headers: { 'content-type': 'application/json', origin: 'https://evil.example' } })).status).toBe(403);
    expect((await call(ip, '/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(400);
    expect((await listDurableObjectIds(env.CLIENT_LIMITS)).length).toBe(before);
  });

  it('counts the addresses of one IPv6 /64 as one client, and another /64 apart', async () => {
    expect((await call('2001:db8:7:1::1', '/api/chat', ask('a'))).status).toBe(200);
    expect((await call('2001:db8:7:1::2', '/api/chat', ask('b'))).status).toBe(200);
    expect((await call('2001:db8:7:1:ffff:ffff:ffff:ffff', '/api/chat', ask('c'))).status).toBe(200);
    expect((await call('2001:db8:7:1::3', '/api/chat', ask('d'))).status).toBe(429);
    expect((await call('2001:db8:7:2::1', '/api/chat', ask('e'))).status).toBe(200);
  });

  it('keeps its window in the client’s SQLite storage, one row per kind of request', async () => {
    const ip = newClient();
    await call(ip, '/api/chat', ask('a'));
    await call(ip, '/api/chat', ask('b'));
    const rows = await runInDurableObject(limiter(ip), (_: ClientLimiter, state) => state.storage.sql.exec<{ kind: string; hits: string }>('SELECT kind, hits FROM windows').toArray());
    expect(rows).toHaveLength(1);
    expect(rows[0].kind).toBe('message');
    expect(JSON.parse(rows[0].hits)).toHaveLength(2);
  });
});

describe('CHAT_CREATE_PER_MINUTE', () => {
  it('limits new chats on their own window', async () => {
    const call = worker({ RATE_LIMIT_PER_MINUTE: '5', CHAT_CREATE_PER_MINUTE: '2' });
    const ip = newClient();
    const before = (await listDurableObjectIds(env.CHAT_ROOMS)).length;
    expect((await call(ip, '/api/chats', { method: 'POST' })).status).toBe(201);
    expect((await call(ip, '/api/chats', { method: 'POST' })).status).toBe(201);
    const refused = await call(ip, '/api/chats', { method: 'POST' });
    expect(refused.status).toBe(429);
    expect((await errorOf(refused)).message).toMatch(/^at most 2 new chats a minute; retry in \d+ s$/);
    expect((await listDurableObjectIds(env.CHAT_ROOMS)).length).toBe(before + 2);
    expect((await call(ip, '/api/chat', ask('still fine'))).status).toBe(200);
  });
});

describe('with every limit at 0', () => {
  it('touches no limiter at all', async () => {
    const before = (await listDurableObjectIds(env.CLIENT_LIMITS)).length;
    const call = worker({});
    const ip = newClient();
    for (let i = 0; i < 5; i++) expect((await call(ip, '/api/chat', ask('hi'))).status).toBe(200);
    expect((await call(ip, '/api/chats', { method: 'POST' })).status).toBe(201);
    expect((await listDurableObjectIds(env.CLIENT_LIMITS)).length).toBe(before);
  });
});

describe('DAILY_TOKEN_BUDGET', () => {
  const call = worker({ DAILY_TOKEN_BUDGET: '100' });
  const untilMidnight = () => Math.ceil((86_400_000 - (Date.now() % 86_400_000)) / 1000);

  it('charges each answer’s tokens, shows what is left, and refuses past the budget until midnight UTC', async () => {
    const ip = newClient();
    const first = await call(ip, '/api/chat', ask('Hi [fake:reply chunks=10]'));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-token-budget-limit')).toBe('100');
    expect(first.headers.get('x-token-budget-remaining')).toBe('100');
    const { usage } = (await first.json()) as { usage: { totalTokenCount: number } };
    expect(usage.totalTokenCount).toBeGreaterThan(100);
    expect(await limiter(ip).spent()).toBe(usage.totalTokenCount);

    const tag = uniqueTag();
    const refused = await call(ip, '/api/chat/stream', ask(`Hi [fake:reply tag=${tag}]`));
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Math.abs(retryAfter - untilMidnight())).toBeLessThanOrEqual(2);
    expect((await errorOf(refused)).code).toBe('budget_exhausted');
    expect(refused.headers.get('x-token-budget-remaining')).toBe('0');
    expect(await fakeRequests(tag)).toEqual([]);
  });

  it.each([
    ['a streamed answer when it ends', 3],
    ['a one-chunk answer, sent whole', 1],
  ])('charges %s', async (_, chunks) => {
    const ip = newClient();
    let total = 0;
    await call(ip, '/api/chat/stream', ask(`Hi [fake:reply chunks=${chunks}]`), async (response) => {
      const done = parseSse(await response.text()).at(-1)!;
      total = (done.data as { usage: { totalTokenCount: number } }).usage.totalTokenCount;
    });
    expect(total).toBeGreaterThan(0);
    expect(await limiter(ip).spent()).toBe(total);
  });

  it('charges an answer cut short for what it got', async () => {
    const ip = newClient();
    await call(ip, '/api/chat/stream', ask('Hi [fake:reply chunks=50 delay=30]'), async (response) => {
      const reader = response.body!.getReader();
      await reader.read();
      await reader.read();
      await reader.cancel();
    });
    await expect.poll(() => limiter(ip).spent()).toBeGreaterThan(0);
  });

  it('charges stored chat turns', async () => {
    const ip = newClient();
    const { id } = (await (await call(ip, '/api/chats', { method: 'POST' })).json()) as { id: string };
    let total = 0;
    const response = await call(ip, `/api/chats/${id}/messages`, ask('Hi [fake:reply chunks=4]'), async (r) => {
      total = (parseSse(await r.text()).at(-1)!.data as { usage: { totalTokenCount: number } }).usage.totalTokenCount;
    });
    expect(response.headers.get('x-token-budget-remaining')).toBe('100');
    await expect.poll(() => limiter(ip).spent()).toBe(total);
  });
});

describe('ClientLimiter storage', () => {
  const storedSpent = (ip: string) =>
    runInDurableObject(limiter(ip), (_: ClientLimiter, state) => state.storage.sql.exec<{ tokens: number }>('SELECT tokens FROM spent').toArray().map((r) => r.tokens));
  const limits = { perMinute: 10, dailyTokens: 1000 };

  it('counts recorded tokens at once and writes them with the next admission, in its transaction', async () => {
    const ip = newClient();
    const stub = limiter(ip);
    expect(await stub.admit('message', limits)).toMatchObject({ ok: true, tokens: { remaining: 1000 } });
    await stub.record(300);
    await stub.record(200);
    expect(await storedSpent(ip)).toEqual([]);
    // Counted already, though not written yet: the budget stays exact.
    expect(await stub.spent()).toBe(500);
    expect(await stub.admit('message', limits)).toMatchObject({ ok: true, tokens: { remaining: 500 } });
    expect(await storedSpent(ip)).toEqual([500]);
    expect(await stub.spent()).toBe(500);
  });

  it(`writes recorded tokens within ${SAVE_TOKENS_AFTER_MS} ms when no admission comes`, async () => {
    const ip = newClient();
    await limiter(ip).record(42);
    expect(await storedSpent(ip)).toEqual([]);
    await expect.poll(() => storedSpent(ip), { timeout: SAVE_TOKENS_AFTER_MS + 3000, interval: 250 }).toEqual([42]);
    expect(await limiter(ip).spent()).toBe(42);
  });
});

describe('DAILY_UPLOAD_BYTES', () => {
  const call = worker({ DAILY_UPLOAD_BYTES: '10000' });
  const chat = async (ip: string) => ((await (await call(ip, '/api/chats', { method: 'POST' })).json()) as { id: string }).id;
  const upload = (ip: string, id: string, bytes: Uint8Array) => {
    const form = new FormData();
    form.append('file', new File([bytes], 'shot.png'));
    return call(ip, `/api/chats/${id}/files`, { method: 'POST', body: form });
  };
  const keys = async (id: string) => (await env.FILES.list({ prefix: `chats/${id}/` })).objects.length;

  it('counts the bytes a client stored today, and refuses a file that does not fit with 429 and Retry-After, storing nothing', async () => {
    const ip = newClient();
    const id = await chat(ip);
    expect((await upload(ip, id, png(6000))).status).toBe(201);
    const refused = await upload(ip, id, png(6000, 2));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const error = await errorOf(refused);
    expect(error.code).toBe('upload_budget_exhausted');
    expect(error.message).toMatch(/daily upload allowance of 10000 bytes has 4000 left/);
    expect(await keys(id)).toBe(1);
    // What is left still takes a file that fits.
    expect((await upload(ip, id, png(3000, 3))).status).toBe(201);
  });

  it('gives back the allowance of a refused file', async () => {
    const ip = newClient();
    const id = await chat(ip);
    expect((await upload(ip, id, exe(6000))).status).toBe(415);
    expect((await upload(ip, id, png(9000))).status).toBe(201);
  });

  it('never lets concurrent uploads store more than the allowance', async () => {
    const ip = newClient();
    const id = await chat(ip);
    const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(ip, id, png(3000, i + 1))));
    const accepted = responses.filter((r) => r.status === 201).length;
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(accepted * 3000).toBeLessThanOrEqual(10_000);
    expect(responses.every((r) => r.status === 201 || r.status === 429)).toBe(true);
    expect(await keys(id)).toBe(accepted);
  });
});
