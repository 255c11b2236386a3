import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ChatRoom } from '../../src/chat/chat-room';
import type { ChatSnapshot } from '../../src/protocol/messages';
import { rollBackTo } from '../chat-schema';
import { joinedText, parseSse } from '../sse';

/**
 * Grounded answers (Google Search): the fake's grounding scenario has the
 * shape of the real recording — the metadata on a chunk of its own with
 * `content: {}` — and names its first source twice.
 */

const SOURCES = [
  { title: 'example.com', url: 'https://example.com/fake-source-1' },
  { title: 'example.org', url: 'https://example.org/fake-source-2' },
];

const worker = (path: string, init?: RequestInit) => exports.default.fetch(`http://worker${path}`, init);
const post = (path: string, body: unknown) => worker(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('a grounded answer', () => {
  it('ends the stream with a done frame that carries both sources, once each', async () => {
    const frames = parseSse(await (await post('/api/chat/stream', { message: 'Price? [fake:grounding chunks=4]' })).text());
    expect(joinedText(frames).length).toBeGreaterThan(0);
    expect(frames.at(-1)).toEqual({
      event: 'done',
      data: { done: true, finishReason: 'STOP', usage: expect.any(Object), sources: SOURCES, model: 'gemini-3.8-flash' },
    });
  });

  it('carries the sources in the JSON answer of POST /api/chat', async () => {
    const answer = (await (await post('/api/chat', { message: 'Price? [fake:grounding]' })).json()) as { sources?: unknown };
    expect(answer.sources).toEqual(SOURCES);
  });

  it('leaves the done frame of an answer that was not grounded without sources (model: the fake’s modelVersion)', async () => {
    const frames = parseSse(await (await post('/api/chat/stream', { message: 'Hi [fake:reply chunks=2]' })).text());
    expect(Object.keys(frames.at(-1)!.data as object)).toEqual(['done', 'finishReason', 'usage', 'model']);
  });

  it('is stored with the chat message, in the done frame of the turn and of its replay', async () => {
    const { id } = (await (await worker('/api/chats', { method: 'POST' })).json()) as { id: string };
    const turn = parseSse(await (await post(`/api/chats/${id}/messages`, { message: 'Price? [fake:grounding]' })).text());
    expect((turn.at(-1)!.data as { sources?: unknown }).sources).toEqual(SOURCES);

    const { messages } = (await (await worker(`/api/chats/${id}`)).json()) as ChatSnapshot;
    expect(messages[1]).toMatchObject({ role: 'model', status: 'complete', sources: SOURCES });
    const stored = await runInDurableObject(env.CHAT_ROOMS.get(env.CHAT_ROOMS.idFromString(id)), (_: ChatRoom, state) =>
      state.storage.sql.exec<{ sources: string | null }>('SELECT sources FROM messages ORDER BY id').toArray().map((r) => r.sources),
    );
    expect(stored).toEqual([null, JSON.stringify(SOURCES)]);

    const replay = parseSse(await (await worker(`/api/chats/${id}/stream`)).text());
    expect((replay.at(-1)!.data as { sources?: unknown }).sources).toEqual(SOURCES);
  });
});

describe('a chat stored before sources existed', () => {
  it('gains the sources and model columns when its object next starts, and keeps its messages', async () => {
    const { id } = (await (await worker('/api/chats', { method: 'POST' })).json()) as { id: string };
    await (await post(`/api/chats/${id}/messages`, { message: 'Hi [fake:reply chunks=2]' })).text();
    const stub = env.CHAT_ROOMS.get(env.CHAT_ROOMS.idFromString(id));
    // Back to the schema of migration 1, as a chat written by the previous version has it.
    await runInDurableObject(stub, (_: ChatRoom, state) => {
      rollBackTo(state.storage, 1);
    });
    await evictDurableObject(stub);
    const turn = parseSse(await (await post(`/api/chats/${id}/messages`, { message: 'Price? [fake:grounding]' })).text());
    expect((turn.at(-1)!.data as { sources?: unknown }).sources).toEqual(SOURCES);
    const { messages } = (await (await worker(`/api/chats/${id}`)).json()) as ChatSnapshot;
    expect(messages.map((m) => [m.role, m.status, m.sources, m.model])).toEqual([
      ['user', 'complete', undefined, undefined],
      ['model', 'complete', undefined, undefined],
      ['user', 'complete', undefined, undefined],
      ['model', 'complete', SOURCES, 'gemini-3.8-flash'],
    ]);
  });
});
