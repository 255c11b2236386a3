import { evictDurableObject, listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ChatRoom } from '../../src/chat/chat-room';
import type { ChatSnapshot } from '../../src/protocol/messages';
import { rollBackTo } from '../chat-schema';
import { fakeRequests, uniqueTag } from '../fake-gemini';

/**
 * `thinking` on the native routes, through the Worker against the fake Gemini:
 * what reaches Gemini as `thinkingConfig`, and what the fake spends for it
 * (its fixed thought tokens per level: docs/fake-gemini.md, "Thinking and usage").
 */

const CHAT_ROUTES = ['/api/chat', '/api/chat/stream'] as const;

async function ask(path: string, fields: Record<string, unknown>) {
  const tag = uniqueTag();
  const response = await exports.default.fetch(`http://worker${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: `Think about it [fake:reply tag=${tag}]`, ...fields }),
  });
  const body = await response.text();
  return { tag, response, body, records: await fakeRequests(tag) };
}

describe.each(CHAT_ROUTES)('POST %s with thinking', (path) => {
  it('sends a level as Gemini\'s upper-case thinkingLevel, and the model thinks that much', async () => {
    const { response, records } = await ask(path, { model: 'gemini-3.8-flash', thinking: { level: 'low' } });
    expect(response.status).toBe(200);
    expect(records).toHaveLength(1);
    expect(records[0].body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingLevel: 'LOW' } });
    expect(records[0].thoughtsTokenCount).toBe(48);
  });

  it('sends a budget as thinkingBudget: 0 turns thinking off', async () => {
    const { response, records } = await ask(path, { model: 'gemini-3.5-flash-lite', thinking: { budget: 0 } });
    expect(response.status).toBe(200);
    expect(records[0].body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingBudget: 0 } });
    expect(records[0].thoughtsTokenCount).toBe(0);
  });

  it('sends no thinkingConfig without thinking: the model\'s default applies', async () => {
    const { records } = await ask(path, { model: 'gemini-3.8-flash' });
    expect(records[0].body.generationConfig).toEqual({ maxOutputTokens: 4096 });
    // 3.8 Flash's default level, MEDIUM.
    expect(records[0].thoughtsTokenCount).toBe(160);
  });

  it('refuses a level the model does not offer with a 400 naming the allowed ones, without calling Gemini', async () => {
    const { response, body, records } = await ask(path, { model: 'gemini-3.8-flash', thinking: { level: 'minimal' } });
    expect(response.status).toBe(400);
    expect(JSON.parse(body)).toEqual({
      error: { code: 'invalid_request', message: 'thinking.level "minimal" is not offered by gemini-3.8-flash; allowed: low, medium, high' },
    });
    expect(records).toEqual([]);
  });

  it('refuses a level and a budget together, without calling Gemini', async () => {
    const { response, body, records } = await ask(path, { thinking: { level: 'low', budget: 1024 } });
    expect(response.status).toBe(400);
    expect(JSON.parse(body).error.message).toBe('thinking must have "level" or "budget", not both');
    expect(records).toEqual([]);
  });
});

const worker = (path: string, init?: RequestInit) => exports.default.fetch(`http://worker${path}`, init);
const post = (path: string, body: unknown) =>
  worker(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function createChat(body: unknown): Promise<ChatSnapshot> {
  const response = await post('/api/chats', body);
  expect(response.status).toBe(201);
  return (await response.json()) as ChatSnapshot;
}

/** A turn of a stored chat, read to its end, with the fake's records of it. */
async function turn(id: string, fields: Record<string, unknown> = {}) {
  const tag = uniqueTag();
  const response = await post(`/api/chats/${id}/messages`, { message: `Think about it [fake:reply tag=${tag}]`, ...fields });
  const body = await response.text();
  return { response, body, records: await fakeRequests(tag) };
}

const thinkingSent = (records: Awaited<ReturnType<typeof fakeRequests>>) => records.map((r) => r.body.generationConfig?.thinkingConfig);

async function snapshot(id: string): Promise<ChatSnapshot> {
  return (await (await worker(`/api/chats/${id}`)).json()) as ChatSnapshot;
}

describe('POST /api/chats with thinking', () => {
  it('keeps the chat\'s thinking for every turn and shows it in GET', async () => {
    const created = await createChat({ model: 'gemini-3.8-flash', thinking: { level: 'low' } });
    expect(created.thinking).toEqual({ level: 'low' });
    for (let i = 0; i < 2; i++) {
      const { response, records } = await turn(created.id);
      expect(response.status).toBe(200);
      expect(thinkingSent(records)).toEqual([{ thinkingLevel: 'LOW' }]);
      expect(records[0].thoughtsTokenCount).toBe(48);
    }
    expect(await snapshot(created.id)).toMatchObject({ model: 'gemini-3.8-flash', thinking: { level: 'low' } });
  });

  it('shows no thinking for a chat created without one, and sends no thinkingConfig', async () => {
    const created = await createChat({ model: 'gemini-3.8-flash' });
    expect('thinking' in created).toBe(false);
    expect(thinkingSent((await turn(created.id)).records)).toEqual([undefined]);
    expect('thinking' in (await snapshot(created.id))).toBe(false);
  });

  it('refuses a level the model does not offer with a 400, and creates no chat', async () => {
    const before = (await listDurableObjectIds(env.CHAT_ROOMS)).length;
    const response = await post('/api/chats', { model: 'gemini-3.8-flash', thinking: { level: 'minimal' } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: 'invalid_request', message: 'thinking.level "minimal" is not offered by gemini-3.8-flash; allowed: low, medium, high' },
    });
    expect((await listDurableObjectIds(env.CHAT_ROOMS)).length).toBe(before);
  });
});

describe('POST /api/chats/:id/messages with thinking', () => {
  it('thinks as the message says for that turn only; the next turn is back to the chat\'s', async () => {
    const { id } = await createChat({ model: 'gemini-3.8-flash', thinking: { level: 'low' } });
    const high = await turn(id, { thinking: { level: 'high' } });
    expect(high.response.status).toBe(200);
    expect(thinkingSent(high.records)).toEqual([{ thinkingLevel: 'HIGH' }]);
    expect(high.records[0].thoughtsTokenCount).toBe(480);
    expect(thinkingSent((await turn(id)).records)).toEqual([{ thinkingLevel: 'LOW' }]);
    expect((await snapshot(id)).thinking).toEqual({ level: 'low' });
  });

  it('takes a budget in a chat created without thinking', async () => {
    const { id } = await createChat({ model: 'gemini-3.5-flash-lite' });
    const { records } = await turn(id, { thinking: { budget: 0 } });
    expect(thinkingSent(records)).toEqual([{ thinkingBudget: 0 }]);
  });

  it('refuses a level the chat\'s model does not offer with a 400, before calling Gemini or storing the message', async () => {
    const { id } = await createChat({ model: 'gemini-3.8-flash' });
    await turn(id);
    const { response, body, records } = await turn(id, { thinking: { level: 'minimal' } });
    expect(response.status).toBe(400);
    expect(JSON.parse(body)).toEqual({
      error: { code: 'invalid_request', message: 'thinking.level "minimal" is not offered by gemini-3.8-flash; allowed: low, medium, high' },
    });
    expect(records).toEqual([]);
    expect((await snapshot(id)).messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['model', 'complete'],
    ]);
  });

  it('refuses a thinking of the wrong shape in the Worker, naming the rule', async () => {
    const { id } = await createChat({});
    const { response, body, records } = await turn(id, { thinking: { level: 'low', budget: 1024 } });
    expect(response.status).toBe(400);
    expect(JSON.parse(body).error.message).toBe('thinking must have "level" or "budget", not both');
    expect(records).toEqual([]);
  });

  it('refuses an unknown field, listing message and thinking', async () => {
    const { id } = await createChat({});
    const response = await post(`/api/chats/${id}/messages`, { message: 'Hi', model: 'gemini-3.8-flash' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe('unknown field "model"; allowed: message, files, thinking');
  });
});

describe('a chat stored before thinking existed', () => {
  it('gains the thinking column when its object next starts, keeps its messages and takes thinking per message', async () => {
    const { id } = await createChat({ model: 'gemini-3.8-flash' });
    await turn(id);
    const stub = env.CHAT_ROOMS.get(env.CHAT_ROOMS.idFromString(id));
    // Back to the schema of migration 3, as a chat written by the previous version has it.
    await runInDurableObject(stub, (_: ChatRoom, state) => {
      rollBackTo(state.storage, 3);
    });
    await evictDurableObject(stub);
    const { response, records } = await turn(id, { thinking: { level: 'high' } });
    expect(response.status).toBe(200);
    expect(thinkingSent(records)).toEqual([{ thinkingLevel: 'HIGH' }]);
    expect(thinkingSent((await turn(id)).records)).toEqual([undefined]);
    const chat = await snapshot(id);
    expect('thinking' in chat).toBe(false);
    expect(chat.messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['model', 'complete'],
      ['user', 'complete'],
      ['model', 'complete'],
      ['user', 'complete'],
      ['model', 'complete'],
    ]);
    const columns = await runInDurableObject(stub, (_: ChatRoom, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('chat')").toArray().map((r) => r.name),
    );
    expect(columns).toContain('thinking');
  });
});

describe('POST /api/ai-sdk/chat with thinking', () => {
  let ids = 0;
  const newChatId = () => `th${Date.now().toString(36)}${(ids++).toString(36)}${Math.random().toString(36).slice(2)}`.slice(0, 20).padEnd(16, '0');

  /** What DefaultChatTransport posts, with `body: { model, thinking }` from the transport's options. */
  async function send(id: string, fields: Record<string, unknown>) {
    const tag = uniqueTag();
    const text = `Think about it [fake:reply tag=${tag}]`;
    const response = await post('/api/ai-sdk/chat', {
      id,
      trigger: 'submit-message',
      messages: [{ id: `u${tag}`, role: 'user', parts: [{ type: 'text', text }] }],
      ...fields,
    });
    const body = await response.text();
    return { response, body, records: await fakeRequests(tag) };
  }
  const roomOf = (id: string) => env.CHAT_ROOMS.get(env.CHAT_ROOMS.idFromName(`ai-sdk:${id}`));

  it('creates the chat with the first message\'s thinking, and a later message sets its own for that turn', async () => {
    const id = newChatId();
    const first = await send(id, { model: 'gemini-3.8-flash', thinking: { level: 'low' } });
    expect(first.response.status).toBe(200);
    expect(thinkingSent(first.records)).toEqual([{ thinkingLevel: 'LOW' }]);
    expect((await roomOf(id).snapshot())?.thinking).toEqual({ level: 'low' });

    expect(thinkingSent((await send(id, { model: 'gemini-3.8-flash', thinking: { level: 'high' } })).records)).toEqual([{ thinkingLevel: 'HIGH' }]);
    expect(thinkingSent((await send(id, { model: 'gemini-3.8-flash' })).records)).toEqual([{ thinkingLevel: 'LOW' }]);
    expect((await roomOf(id).snapshot())?.thinking).toEqual({ level: 'low' });
  });

  it('refuses a level the new chat\'s model does not offer with a 400, and creates no chat', async () => {
    const id = newChatId();
    const { response, body, records } = await send(id, { model: 'gemini-3.8-flash', thinking: { level: 'minimal' } });
    expect(response.status).toBe(400);
    expect(JSON.parse(body).error.message).toBe('thinking.level "minimal" is not offered by gemini-3.8-flash; allowed: low, medium, high');
    expect(records).toEqual([]);
    expect(await roomOf(id).snapshot()).toBeNull();
  });

  it('refuses a level the chat\'s model does not offer on a later message, storing nothing', async () => {
    const id = newChatId();
    await send(id, { model: 'gemini-3.8-flash' });
    const { response, records } = await send(id, { thinking: { level: 'minimal' } });
    expect(response.status).toBe(400);
    expect(records).toEqual([]);
    expect((await roomOf(id).snapshot())?.messages).toHaveLength(2);
  });
});
