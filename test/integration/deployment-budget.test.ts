import { createExecutionContext, evictDurableObject, listDurableObjectIds, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { app } from '../../src/app';
import type { Env } from '../../src/env';
import { COORDINATOR_NAME, REPORT_AFTER_MS, type BudgetCoordinator } from '../../src/limits/deployment-budget';
import { DAY_MS } from '../../src/limits/utc-day';
import { fakeRequests, uniqueTag } from '../fake-gemini';
import { parseSse } from '../sse';

/**
 * The cap for the whole deployment (DEPLOYMENT_DAILY_TOKEN_BUDGET), with the
 * per-client limits off: every request is its own client (CF-Connecting-IP),
 * so only the deployment's cap can refuse. Its objects are emptied between
 * tests: the coordinator is one per deployment.
 */

let clients = 0;
const newClient = () => `203.0.113.${(++clients % 250) + 1}`;

type BudgetSettings = Partial<Record<'DEPLOYMENT_DAILY_TOKEN_BUDGET' | 'DEPLOYMENT_MONTHLY_TOKEN_BUDGET' | 'DEPLOYMENT_ANSWER_RESERVE' | 'DEPLOYMENT_BUDGET_SHARDS' | 'SPEND_ALERT_URL' | 'DAILY_TOKEN_BUDGET', string>>;

/** The Worker with these settings (one env object per set: settings are parsed once per env). */
function worker(settings: BudgetSettings) {
  const configured = { ...env, RATE_LIMIT_PER_MINUTE: '0', CHAT_CREATE_PER_MINUTE: '0', DAILY_TOKEN_BUDGET: '0', DAILY_UPLOAD_BYTES: '0', ...settings } as Env;
  return async (path: string, init: RequestInit = {}, ip = newClient()) => {
    const ctx = createExecutionContext();
    const response = await app.fetch(new Request(`http://worker${path}`, { ...init, headers: { 'cf-connecting-ip': ip, ...init.headers } }), configured, ctx);
    // The body first: a streamed answer is charged when it ends, after the response.
    const text = await response.text();
    await waitOnExecutionContext(ctx);
    return { status: response.status, headers: response.headers, text };
  };
}

const ask = (message: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message }) });
const tokensOf = (text: string) => (JSON.parse(text) as { usage: { totalTokenCount: number } }).usage.totalTokenCount;
const errorOf = (text: string) => (JSON.parse(text) as { error: { code: string; message: string } }).error;
const coordinator = () => env.BUDGET_COORDINATOR.get(env.BUDGET_COORDINATOR.idFromName(COORDINATOR_NAME));

/** Every shard's spending today, from their own storage: what the cap counts. */
async function spentToday(): Promise<number> {
  let total = 0;
  for (const id of await listDurableObjectIds(env.BUDGET_SHARDS)) total += (await env.BUDGET_SHARDS.get(id).usage()).spent;
  return total;
}

async function heldToday(): Promise<number> {
  let total = 0;
  for (const id of await listDurableObjectIds(env.BUDGET_SHARDS)) total += (await env.BUDGET_SHARDS.get(id).usage()).held;
  return total;
}

const namespaces = () => [env.BUDGET_SHARDS, env.BUDGET_COORDINATOR] as unknown as DurableObjectNamespace[];

/** Restarts every object of the cap that is running: what they remember is only what they stored. */
async function evictAll(): Promise<void> {
  for (const namespace of namespaces()) {
    for (const id of await listDurableObjectIds(namespace)) {
      // Throws for an object not running (nothing to evict).
      await evictDurableObject(namespace.get(id)).catch(() => {});
    }
  }
}

afterEach(async () => {
  // Restarted first, so no timer of the last test writes into the emptied storage.
  await evictAll();
  for (const namespace of namespaces()) {
    for (const id of await listDurableObjectIds(namespace)) {
      await runInDurableObject(namespace.get(id), (_: unknown, state: DurableObjectState) => state.storage.deleteAll());
    }
  }
  await evictAll();
});

/** One answer's tokens, as the fake Gemini counts them for this message (the same message every time). */
const MESSAGE = 'Count me [fake:reply chunks=2 tag=%s]';
let answerTokens = 0;
async function oneAnswer(): Promise<number> {
  if (answerTokens === 0) answerTokens = tokensOf((await worker({})('/api/chat', ask(MESSAGE.replace('%s', uniqueTag('size'))))).text);
  return answerTokens;
}

describe('DEPLOYMENT_DAILY_TOKEN_BUDGET', () => {
  it('counts all clients together, refuses past the cap with 429 and Retry-After until midnight, at no upstream cost', async () => {
    const answer = await oneAnswer();
    // Room for three answers and a bit: each holds one answer's tokens while it runs.
    const call = worker({ DEPLOYMENT_DAILY_TOKEN_BUDGET: String(answer * 3 + 5), DEPLOYMENT_ANSWER_RESERVE: String(answer) });
    const tag = uniqueTag();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call('/api/chat', ask(MESSAGE.replace('%s', tag)))).status);
    expect(statuses).toEqual([200, 200, 200]);
    expect(await spentToday()).toBe(answer * 3);
    const refused = await call('/api/chat/stream', ask(MESSAGE.replace('%s', tag)));
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    const untilMidnight = Math.ceil((DAY_MS - (Date.now() % DAY_MS)) / 1000);
    expect(Math.abs(retryAfter - untilMidnight)).toBeLessThanOrEqual(2);
    const error = errorOf(refused.text);
    expect(error.code).toBe('deployment_budget_exhausted');
    expect(error.message).toContain('resting until tomorrow');
    // Nothing called upstream for the refused request: three answers only.
    expect(await fakeRequests(tag)).toHaveLength(3);
    expect(await heldToday()).toBe(0);
  });

  it('refuses on every route that calls Gemini: stored chats, the AI SDK, the OpenAI-compatible API', async () => {
    const answer = await oneAnswer();
    const settings = { DEPLOYMENT_DAILY_TOKEN_BUDGET: String(answer), DEPLOYMENT_ANSWER_RESERVE: String(answer) };
    const call = worker(settings);
    const tag = uniqueTag();
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', tag)))).status).toBe(200);
    const chat = (JSON.parse((await call('/api/chats', { method: 'POST' })).text) as { id: string }).id;
    const stored = await call(`/api/chats/${chat}/messages`, ask(MESSAGE.replace('%s', tag)));
    expect([stored.status, errorOf(stored.text).code]).toEqual([429, 'deployment_budget_exhausted']);
    const uiChat = await call('/api/ai-sdk/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'budgetuichat0001', trigger: 'submit-message', messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: MESSAGE.replace('%s', tag) }] }] }),
    });
    expect([uiChat.status, errorOf(uiChat.text).code]).toEqual([429, 'deployment_budget_exhausted']);
    const key = 'sk-test-deployment-budget-0001';
    const openai = await worker({ ...settings, OPENAI_COMPAT_KEYS: key } as BudgetSettings)('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: MESSAGE.replace('%s', tag) }] }),
    });
    expect(openai.status).toBe(429);
    expect(openai.headers.get('x-should-retry')).toBe('false');
    expect(JSON.parse(openai.text)).toMatchObject({ error: { type: 'insufficient_quota', code: 'insufficient_quota' } });
    expect(await fakeRequests(tag)).toHaveLength(1);
  });

  it('never refuses while more than one answer’s tokens remain, and charges stored chats and streams too', async () => {
    const answer = await oneAnswer();
    const reserve = answer + 10;
    // Exactly enough for 4 answers' reservations after 3 answers: the 4th must be admitted.
    const call = worker({ DEPLOYMENT_DAILY_TOKEN_BUDGET: String(answer * 3 + reserve), DEPLOYMENT_ANSWER_RESERVE: String(reserve) });
    const tag = uniqueTag();
    const chat = (JSON.parse((await call('/api/chats', { method: 'POST' })).text) as { id: string }).id;
    const stream = await call('/api/chat/stream', ask(MESSAGE.replace('%s', tag)));
    expect(parseSse(stream.text).at(-1)?.event).toBe('done');
    const turn = await call(`/api/chats/${chat}/messages`, ask(MESSAGE.replace('%s', tag)));
    expect(parseSse(turn.text).at(-1)?.event).toBe('done');
    // The chat's object charges its turn after it settles.
    await expect.poll(spentToday).toBeGreaterThanOrEqual(answer * 2);
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', tag)))).status).toBe(200);
    // Three answers spent: one reservation's worth is left, exactly, and it is lent.
    expect(await spentToday()).toBe(answer * 3);
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', tag)))).status).toBe(200);
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', tag)))).status).toBe(429);
  });

  it('gives back the reservation of a request that fails before its answer', async () => {
    const answer = await oneAnswer();
    const call = worker({ DEPLOYMENT_DAILY_TOKEN_BUDGET: String(answer * 2), DEPLOYMENT_ANSWER_RESERVE: String(answer) });
    // Gemini refuses the call (its 503): nothing spent, and the reservation comes back.
    for (let i = 0; i < 4; i++) expect((await call('/api/chat', ask('Fail [fake:http status=503]'))).status).toBeGreaterThanOrEqual(500);
    expect(await heldToday()).toBe(0);
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())))).status).toBe(200);
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())))).status).toBe(200);
  });

  it('overspends by at most one answer’s tokens under 50 concurrent requests against a nearly exhausted cap', async () => {
    const answer = await oneAnswer();
    const cap = answer * 20;
    const call = worker({ DEPLOYMENT_DAILY_TOKEN_BUDGET: String(cap), DEPLOYMENT_ANSWER_RESERVE: String(answer), DEPLOYMENT_BUDGET_SHARDS: '8' });
    // Nearly exhausted: 17 answers spent one after another, from as many clients.
    for (let i = 0; i < 17; i++) expect((await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())))).status).toBe(200);
    const tag = uniqueTag();
    const statuses = await Promise.all(Array.from({ length: 50 }, () => call('/api/chat', ask(MESSAGE.replace('%s', tag))).then((r) => r.status)));
    const admitted = statuses.filter((s) => s === 200).length;
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    // Three answers were left: all three go, never more.
    expect(admitted).toBe(3);
    expect(await fakeRequests(tag)).toHaveLength(admitted);
    expect(await spentToday()).toBe(cap);
    expect(await heldToday()).toBe(0);
  });

  it('keeps its count when its objects restart', async () => {
    const answer = await oneAnswer();
    const call = worker({ DEPLOYMENT_DAILY_TOKEN_BUDGET: String(answer * 2), DEPLOYMENT_ANSWER_RESERVE: String(answer) });
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())))).status).toBe(200);
    await evictAll();
    expect(await spentToday()).toBe(answer);
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())))).status).toBe(200);
    await evictAll();
    const tag = uniqueTag();
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', tag)))).status).toBe(429);
    expect(await fakeRequests(tag)).toHaveLength(0);
    expect(await spentToday()).toBe(answer * 2);
  });
});

describe('DEPLOYMENT_MONTHLY_TOKEN_BUDGET', () => {
  it('refuses past the month’s cap until the next month, spending of earlier days included', async () => {
    const answer = await oneAnswer();
    const call = worker({ DEPLOYMENT_MONTHLY_TOKEN_BUDGET: String(answer * 3), DEPLOYMENT_ANSWER_RESERVE: String(answer) });
    // An earlier day of this month spent two answers (the first of the month: today's spending then goes to the same month).
    const today = Math.floor(Date.now() / DAY_MS);
    const first = Math.floor(Date.parse(`${new Date().toISOString().slice(0, 7)}-01T00:00:00Z`) / DAY_MS);
    if (first < today) {
      await runInDurableObject(coordinator(), (_: BudgetCoordinator, state) => {
        state.storage.sql.exec('INSERT INTO days (day, spent, alerted) VALUES (?, ?, 0)', first, answer * 2);
      });
      expect((await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())))).status).toBe(200);
    } else {
      for (let i = 0; i < 3; i++) expect((await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())))).status).toBe(200);
    }
    const refused = await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())));
    expect([refused.status, errorOf(refused.text).code]).toEqual([429, 'deployment_budget_exhausted']);
    expect(errorOf(refused.text).message).toContain('next month');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(Math.ceil((DAY_MS - (Date.now() % DAY_MS)) / 1000) - 2);
  });
});

describe('SPEND_ALERT_URL', () => {
  it('is called once at 80 % and once at 100 % of the day’s cap, with the day, threshold, spent and budget', async () => {
    const answer = await oneAnswer();
    const hook = uniqueTag('alert');
    const receiver = inject('alertReceiverUrl');
    const cap = answer * 5;
    const call = worker({ DEPLOYMENT_DAILY_TOKEN_BUDGET: String(cap), DEPLOYMENT_ANSWER_RESERVE: String(answer), SPEND_ALERT_URL: `${receiver}/hook/${hook}` });
    const received = async () => (await (await fetch(`${receiver}/received/${hook}`)).json()) as { day: string; threshold: number; spent: number; budget: number }[];
    for (let i = 0; i < 3; i++) expect((await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())))).status).toBe(200);
    // 60 %: nothing yet (spending reaches the coordinator within REPORT_AFTER_MS).
    await new Promise((resolve) => setTimeout(resolve, REPORT_AFTER_MS + 300));
    expect(await received()).toEqual([]);
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())))).status).toBe(200);
    const day = new Date().toISOString().slice(0, 10);
    await expect.poll(received, { timeout: 5000 }).toEqual([{ day, threshold: 80, spent: answer * 4, budget: cap }]);
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())))).status).toBe(200);
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())))).status).toBe(429);
    expect((await call('/api/chat', ask(MESSAGE.replace('%s', uniqueTag())))).status).toBe(429);
    await expect.poll(async () => (await received()).length, { timeout: 5000 }).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, REPORT_AFTER_MS + 300));
    expect(await received()).toEqual([
      { day, threshold: 80, spent: answer * 4, budget: cap },
      { day, threshold: 100, spent: cap, budget: cap },
    ]);
    expect((await coordinator().standing()).alerted).toBe(3);
  });
});
