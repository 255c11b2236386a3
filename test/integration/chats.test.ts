import { listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import type { ChatRoom } from '../../src/chat/chat-room';
import type { ChatSnapshot } from '../../src/protocol/messages';
import { ChatStore } from '../../src/chat/chat-store';
import { Turn } from '../../src/chat/turn';
import { fakeRequests, uniqueTag, waitForRecord, type FakeRecord } from '../fake-gemini';
import { joinedText, parseSse, type Frame } from '../sse';

const worker = (path: string, init?: RequestInit) => exports.default.fetch(`http://worker${path}`, init);
const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

async function createChat(body?: unknown): Promise<string> {
  const response = await worker('/api/chats', body === undefined ? { method: 'POST' } : json(body));
  expect(response.status).toBe(201);
  const { id } = (await response.json()) as { id: string };
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  return id;
}

const send = (id: string, message: string) => worker(`/api/chats/${id}/messages`, json({ message }));

/** Sends a message, reads the whole answer, and returns it with the fake's record of the call. */
async function turn(id: string, directive = '[fake:reply]') {
  const tag = uniqueTag();
  const response = await send(id, `Question ${directive.replace(']', ` tag=${tag}]`)}`);
  expect(response.status).toBe(200);
  const frames = parseSse(await response.text());
  const [record] = await fakeRequests(tag);
  return { frames, record, tag };
}

async function snapshot(id: string): Promise<ChatSnapshot> {
  const response = await worker(`/api/chats/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as ChatSnapshot;
}

const resume = (id: string, lastEventId?: number | string) =>
  worker(`/api/chats/${id}/stream`, lastEventId === undefined ? {} : { headers: { 'last-event-id': String(lastEventId) } });

/** Reads frames from a live SSE body until `count` complete frames arrived. */
async function readFrames(reader: ReadableStreamDefaultReader<Uint8Array>, count: number): Promise<{ frames: Frame[]; rest: string }> {
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const complete = text.split('\n\n').length - 1;
    if (complete >= count) break;
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  const end = nthIndex(text, '\n\n', count);
  return { frames: parseSse(text.slice(0, end + 2)), rest: text.slice(end + 2) };
}

function nthIndex(text: string, needle: string, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) return text.length - 2;
  }
  return at;
}

function ids(frames: Frame[]): number[] {
  return frames.map((f) => Number(f.id));
}

function roomOf(id: string): DurableObjectStub<ChatRoom> {
  return env.CHAT_ROOMS.get(env.CHAT_ROOMS.idFromString(id));
}

/** The stored rows, read inside the object. */
function storedMessages(id: string) {
  return runInDurableObject(roomOf(id), (_, state) =>
    state.storage.sql.exec<{ role: string; text: string; status: string }>('SELECT role, text, status FROM messages ORDER BY id').toArray(),
  );
}

function alternates(record: FakeRecord): boolean {
  const roles = record.body.contents.map((c) => c.role);
  return roles.every((role, i) => role === (i % 2 === 0 ? 'user' : 'model')) && roles.at(-1) === 'user';
}

describe('POST /api/chats', () => {
  it('creates a chat with an unguessable id and no messages', async () => {
    const id = await createChat();
    expect(await snapshot(id)).toEqual({ id, model: 'gemini-3.8-flash', assistant: 'default', messages: [], settledEventId: 0 });
  });

  it('answers with the new chat as GET would show it', async () => {
    const response = await worker('/api/chats', json({ system: 'Be brief.', model: 'gemini-3.1-pro-preview' }));
    expect(response.status).toBe(201);
    const created = (await response.json()) as ChatSnapshot;
    expect(created).toEqual({ id: created.id, model: 'gemini-3.1-pro-preview', assistant: 'default', system: 'Be brief.', messages: [], settledEventId: 0 });
    expect(await snapshot(created.id)).toEqual(created);
  });

  it('accepts an empty body, as fetch() sends it with Content-Length: 0', async () => {
    const response = await worker('/api/chats', { method: 'POST', body: '', headers: { 'content-length': '0' } });
    expect(response.status).toBe(201);
  });

  it('keeps the system instruction and model for every turn of the chat', async () => {
    const id = await createChat({ system: 'Be brief.', model: 'gemini-3.1-pro-preview' });
    const { record } = await turn(id);
    expect(record.model).toBe('gemini-3.1-pro-preview');
    expect(record.body.systemInstruction?.parts).toEqual([{ text: 'Be brief.' }]);
    expect((await snapshot(id)).system).toBe('Be brief.');
  });

  it.each([
    [{ model: 'gpt-4' }, 400, 'model_not_allowed'],
    [{ colour: 'blue' }, 400, 'invalid_request'],
    [{ system: 42 }, 400, 'invalid_request'],
  ])('refuses %j with %i %s and creates nothing', async (body, status, code) => {
    const before = (await listDurableObjectIds(env.CHAT_ROOMS)).length;
    const response = await worker('/api/chats', json(body));
    expect(response.status).toBe(status);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    expect((await listDurableObjectIds(env.CHAT_ROOMS)).length).toBe(before);
  });
});

describe('POST /api/chats/:id/messages', () => {
  it('streams the answer with increasing ids and stores both messages', async () => {
    const id = await createChat();
    const { frames, record } = await turn(id, '[fake:reply chunks=4]');
    expect(frames.map((f) => f.event)).toEqual(['text', 'text', 'text', 'text', 'done']);
    expect(ids(frames)).toEqual([1, 2, 3, 4, 5]);
    expect(joinedText(frames)).toBe(record.sentText);
    const done = frames.at(-1)!.data as { usage: unknown; finishReason: string };

    const { messages } = await snapshot(id);
    expect(messages).toMatchObject([
      { role: 'user', text: expect.stringContaining('Question'), status: 'complete' },
      { role: 'model', text: record.sentText, status: 'complete', finishReason: 'STOP', usage: done.usage },
    ]);
    expect(messages[0].id).toBeLessThan(messages[1].id);
    expect(Date.parse(messages[0].createdAt)).not.toBeNaN();
    expect(await storedMessages(id)).toEqual([
      { role: 'user', text: messages[0].text, status: 'complete' },
      { role: 'model', text: record.sentText, status: 'complete' },
    ]);
  });

  it('continues the ids across turns and sends the history upstream, alternating', async () => {
    const id = await createChat();
    const first = await turn(id);
    const second = await turn(id);
    expect(Number(second.frames[0].id)).toBe(Number(first.frames.at(-1)!.id) + 1);
    expect(second.record.body.contents.map((c) => [c.role, c.parts[0].text])).toEqual([
      ['user', first.record.body.contents[0].parts[0].text],
      ['model', first.record.sentText],
      ['user', expect.stringContaining(second.tag)],
    ]);
  });

  it('answers 409 turn_in_progress while a turn streams, storing nothing and calling nobody', async () => {
    const id = await createChat();
    const slow = await send(id, '[fake:reply chunks=20 delay=50]');
    const reader = slow.body!.getReader();
    await readFrames(reader, 1);
    const tag = uniqueTag();
    const second = await send(id, `again [fake:reply tag=${tag}]`);
    expect(second.status).toBe(409);
    expect(await second.json()).toEqual({
      error: { code: 'turn_in_progress', message: 'a turn is still streaming; wait for it, cancel it or resume it' },
    });
    expect(await fakeRequests(tag)).toEqual([]);
    expect((await storedMessages(id)).length).toBe(2);
    await reader.cancel();
    await worker(`/api/chats/${id}/cancel`, { method: 'POST' });
  });

  it('stores a failed turn when Gemini refuses before streaming, and the next turn still works', async () => {
    const id = await createChat();
    const response = await send(id, '[fake:http status=429 retry=3s]');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_quota');
    const { record } = await turn(id);
    // The failed pair is left out: the contents still alternate and end with the new message.
    expect(record.body.contents).toHaveLength(1);
    const { messages } = await snapshot(id);
    expect(messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['model', 'failed'],
      ['user', 'complete'],
      ['model', 'complete'],
    ]);
    expect(messages[1].error?.code).toBe('upstream_quota');
  });

  it('answers Gemini’s quota running out with 429 upstream_quota and Retry-After from Gemini’s message, and stores the turn as failed', async () => {
    const id = await createChat();
    const response = await send(id, '[fake:http status=429 retryinfo=none retry=12.04s]');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('13');
    expect(await response.json()).toEqual({
      error: { code: 'upstream_quota', message: "Gemini's quota for this key is used up (429 Too Many Requests); try again in 13 s" },
    });
    const { messages } = await snapshot(id);
    expect(messages[1]).toMatchObject({ role: 'model', status: 'failed', error: { code: 'upstream_quota' } });
  });

  it('ends a turn whose quota runs out mid-answer with an upstream_quota error frame, kept for replay', async () => {
    const id = await createChat();
    const { frames } = await turn(id, '[fake:error code=429]');
    expect(frames.at(-1)).toMatchObject({ event: 'error', data: { error: { code: 'upstream_quota' } } });
    expect(parseSse(await (await resume(id)).text()).at(-1)).toEqual(frames.at(-1));
  });

  it('stores the model Gemini reports as answering with the message, and replays it in done', async () => {
    // A rerouted name: Gemini answers gemini-flash-latest with gemini-3.8-flash.
    const id = await createChat({ model: 'gemini-flash-latest' });
    const { frames } = await turn(id, '[fake:reply]');
    const done = frames.at(-1)!;
    expect(done).toMatchObject({ event: 'done', data: { model: 'gemini-3.8-flash' } });
    const { model, messages } = await snapshot(id);
    expect(model).toBe('gemini-flash-latest');
    expect(messages[1].model).toBe('gemini-3.8-flash');
    expect(messages[0]).not.toHaveProperty('model');
    expect(parseSse(await (await resume(id)).text()).at(-1)).toEqual(done);
  });

  it('stores the partial text of a turn that breaks off mid-answer as failed', async () => {
    const id = await createChat();
    const { frames, record } = await turn(id, '[fake:drop]');
    expect(frames.at(-1)).toMatchObject({ event: 'error', data: { error: { code: 'upstream_disconnected' } } });
    const { messages } = await snapshot(id);
    expect(messages[1]).toMatchObject({ text: record.sentText, status: 'failed', error: { code: 'upstream_disconnected' } });
  });

  it.each([
    ['a failed', '[fake:error]'],
    ['a blocked', '[fake:blocked]'],
    ['a timed-out', '[fake:stall]'],
    ['an empty', '[fake:empty]'],
  ])('keeps the history alternating after %s turn', async (_, directive) => {
    const id = await createChat();
    await turn(id);
    const bad = await send(id, directive);
    await bad.text();
    const { record } = await turn(id);
    expect(alternates(record)).toBe(true);
    expect(record.body.contents).toHaveLength(3);
  });

  it('sends only the newest turns that fit MAX_CONTEXT_CHARS, and stores them all', async () => {
    const id = await createChat();
    for (let i = 0; i < 12; i++) await turn(id);
    const { record } = await turn(id);
    const chars = record.body.contents.reduce((sum, c) => sum + (c.parts[0].text ?? '').length, 0);
    expect(chars).toBeLessThanOrEqual(3000);
    expect(record.body.contents.length).toBeGreaterThan(1);
    expect(record.body.contents.length).toBeLessThan(25);
    expect(alternates(record)).toBe(true);
    expect((await snapshot(id)).messages).toHaveLength(26);
  });

  it('refuses bad input with nothing stored and no upstream call', async () => {
    const id = await createChat();
    const tag = uniqueTag();
    const cases: Array<[RequestInit, number, string]> = [
      [json({ message: '   ' }), 400, 'invalid_request'],
      [json({ message: `hi [fake:reply tag=${tag}]`, model: 'gemini-3.1-pro-preview' }), 400, 'invalid_request'],
      [json({ message: 'x'.repeat(2001) + `[fake:reply tag=${tag}]` }), 413, 'too_large'],
      [{ method: 'POST', body: JSON.stringify({ message: `hi [fake:reply tag=${tag}]` }) }, 415, 'unsupported_media_type'],
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"message": "[fake:reply tag=${tag}]"` }, 400, 'invalid_json'],
    ];
    for (const [init, status, code] of cases) {
      const response = await worker(`/api/chats/${id}/messages`, init);
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    expect(await fakeRequests(tag)).toEqual([]);
    expect((await snapshot(id)).messages).toEqual([]);
  });
});

describe('GET /api/chats/:id/stream', () => {
  it('answers 204 when the chat has had no turn', async () => {
    const id = await createChat();
    expect((await resume(id)).status).toBe(204);
  });

  it('replays the latest turn from its start when no Last-Event-ID is given', async () => {
    const id = await createChat();
    await turn(id);
    const { frames, record } = await turn(id);
    const replay = await resume(id);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const replayed = parseSse(await replay.text());
    expect(replayed).toEqual(frames);
    expect(joinedText(replayed)).toBe(record.sentText);
  });

  it('resumes after a cut at every point of a finished turn without losing or repeating a character', async () => {
    const id = await createChat();
    const { frames, record } = await turn(id, '[fake:utf8 chunks=6]');
    for (let cut = 0; cut < frames.length; cut++) {
      const seen = frames.slice(0, cut);
      const lastId = cut === 0 ? 0 : Number(frames[cut - 1].id);
      const response = await resume(id, lastId);
      const rest = parseSse(await response.text());
      expect(ids(rest)).toEqual(ids(frames.slice(cut)));
      expect(joinedText([...seen, ...rest])).toBe(record.sentText);
    }
  });

  it('answers 204 to a reconnect after the terminal frame, so EventSource stops reconnecting', async () => {
    const id = await createChat();
    const { frames } = await turn(id);
    expect((await resume(id, frames.at(-1)!.id!)).status).toBe(204);
  });

  it('accepts the id as ?lastEventId= for clients that cannot set headers', async () => {
    const id = await createChat();
    const { frames } = await turn(id, '[fake:reply chunks=3]');
    const response = await worker(`/api/chats/${id}/stream?lastEventId=${frames[1].id}`);
    expect(ids(parseSse(await response.text()))).toEqual(ids(frames.slice(2)));
  });

  it('refuses a Last-Event-ID that is not a number', async () => {
    const id = await createChat();
    await turn(id);
    const response = await resume(id, 'abc');
    expect(response.status).toBe(400);
  });

  it('resumes a live turn cut mid-answer and follows it to the end, every character once', async () => {
    const id = await createChat();
    const tag = uniqueTag();
    const first = await send(id, `[fake:reply chunks=12 delay=40 tag=${tag}]`);
    const reader = first.body!.getReader();
    const { frames: before } = await readFrames(reader, 3);
    await reader.cancel();
    const response = await resume(id, before.at(-1)!.id!);
    const after = parseSse(await response.text());
    const record = await waitForRecord(tag, (r) => r.status === 'completed');
    expect(record.aborted).toBe(false);
    expect(ids([...before, ...after])).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(joinedText([...before, ...after])).toBe(record.sentText);
    expect(after.at(-1)!.event).toBe('done');
  });

  it('lets several listeners follow one turn and gives them the same frames', async () => {
    const id = await createChat();
    const first = await send(id, '[fake:reply chunks=8 delay=30]');
    const [a, b] = await Promise.all([resume(id), resume(id)]);
    const [own, fromA, fromB] = await Promise.all([first.text(), a.text(), b.text()]);
    expect(parseSse(fromA)).toEqual(parseSse(own));
    expect(parseSse(fromB)).toEqual(parseSse(own));
  });
});

describe('when the listener goes away', () => {
  it('keeps the turn running through the grace period so a reconnect can finish it', async () => {
    const id = await createChat();
    const tag = uniqueTag();
    const controller = new AbortController();
    const first = await worker(`/api/chats/${id}/messages`, { ...json({ message: `[fake:reply chunks=10 delay=60 tag=${tag}]` }), signal: controller.signal });
    const reader = first.body!.getReader();
    const { frames: before } = await readFrames(reader, 2);
    controller.abort();
    await reader.cancel().catch(() => {});
    const after = parseSse(await (await resume(id, before.at(-1)!.id!)).text());
    expect(after.at(-1)!.event).toBe('done');
    const record = await waitForRecord(tag, (r) => r.status === 'completed');
    expect(joinedText([...before, ...after])).toBe(record.sentText);
  });

  it('aborts Gemini and stores the partial answer as cancelled when nobody comes back', async () => {
    const id = await createChat();
    const tag = uniqueTag();
    const controller = new AbortController();
    const first = await worker(`/api/chats/${id}/messages`, { ...json({ message: `[fake:reply chunks=200 delay=50 tag=${tag}]` }), signal: controller.signal });
    const reader = first.body!.getReader();
    await readFrames(reader, 1);
    controller.abort();
    await reader.cancel().catch(() => {});
    const record = await waitForRecord(tag, (r) => r.aborted);
    expect(record.chunksSent).toBeLessThan(200);
    let model = (await snapshot(id)).messages[1];
    for (let i = 0; i < 50 && model.status === 'streaming'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      model = (await snapshot(id)).messages[1];
    }
    expect(model.status).toBe('cancelled');
    expect(model.error).toEqual({ code: 'cancelled', message: 'Nobody was listening for 500 ms' });
    expect(record.sentText.startsWith(model.text)).toBe(true);
    expect(model.text.length).toBeGreaterThan(0);
  });
});

describe('POST /api/chats/:id/cancel', () => {
  it('stops the turn: Gemini is aborted, the stream ends with its terminal frame, the partial answer is stored', async () => {
    const id = await createChat();
    const tag = uniqueTag();
    const response = await send(id, `[fake:reply chunks=200 delay=30 tag=${tag}]`);
    const reader = response.body!.getReader();
    const { frames: before, rest } = await readFrames(reader, 2);
    const cancel = await worker(`/api/chats/${id}/cancel`, { method: 'POST' });
    expect(await cancel.json()).toEqual({ cancelled: true });
    let text = rest;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const frames = [...before, ...parseSse(text)];
    expect(frames.at(-1)).toEqual({
      id: String(frames.length),
      event: 'error',
      data: { error: { code: 'cancelled', message: 'The turn was cancelled' } },
    });
    const record = await waitForRecord(tag, (r) => r.aborted);
    expect(record.chunksSent).toBeLessThan(200);
    const model = (await snapshot(id)).messages[1];
    expect(model).toMatchObject({ status: 'cancelled', text: joinedText(frames) });
    // The next turn sends the cancelled partial answer as history.
    const next = await turn(id);
    expect(alternates(next.record)).toBe(true);
  });

  it('answers once the turn has ended and is stored: the next message is accepted at once', async () => {
    const id = await createChat();
    const response = await send(id, '[fake:reply chunks=200 delay=30]');
    const reader = response.body!.getReader();
    await readFrames(reader, 1);
    const statusAfterCancel = await runInDurableObject(roomOf(id), async (instance: ChatRoom, state) => {
      expect(await instance.cancel()).toBe(true);
      return state.storage.sql.exec<{ status: string }>('SELECT status FROM messages ORDER BY id DESC LIMIT 1').one().status;
    });
    expect(statusAfterCancel).toBe('cancelled');
    const next = await send(id, 'Next');
    expect(next.status).toBe(200);
    expect(parseSse(await next.text()).at(-1)!.event).toBe('done');
    await reader.cancel().catch(() => {});
  });

  it('answers {cancelled:false} when no turn is streaming', async () => {
    const id = await createChat();
    const response = await worker(`/api/chats/${id}/cancel`, { method: 'POST' });
    expect(await response.json()).toEqual({ cancelled: false });
  });
});

describe('DELETE /api/chats/:id', () => {
  it('deletes the chat and its storage; later calls get 404', async () => {
    const id = await createChat();
    await turn(id);
    expect((await worker(`/api/chats/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await worker(`/api/chats/${id}`)).status).toBe(404);
    expect((await send(id, 'hello')).status).toBe(404);
    expect((await resume(id)).status).toBe(404);
    expect((await worker(`/api/chats/${id}`, { method: 'DELETE' })).status).toBe(404);
    const tables = await runInDurableObject(roomOf(id), (_, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray(),
    );
    expect(tables).toEqual([]);
  });

  it('stops a streaming turn when its chat is deleted, and writes nothing after', async () => {
    const id = await createChat();
    const tag = uniqueTag();
    const response = await send(id, `[fake:reply chunks=200 delay=30 tag=${tag}]`);
    const reader = response.body!.getReader();
    await readFrames(reader, 2);
    expect((await worker(`/api/chats/${id}`, { method: 'DELETE' })).status).toBe(204);
    while (!(await reader.read()).done);
    const record = await waitForRecord(tag, (r) => r.aborted);
    expect(record.chunksSent).toBeLessThan(200);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // past a flush interval
    expect((await worker(`/api/chats/${id}`)).status).toBe(404);
    const tables = await runInDurableObject(roomOf(id), (_, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
    );
    expect(tables).toEqual([]);
  });
});

describe('chat ids', () => {
  it.each([
    ['too short', 'abc123'],
    ['not hex', 'z'.repeat(64)],
    ['forged (right shape, not made by this namespace)', 'a'.repeat(64)],
  ])('answers 404 for a %s id and creates no Durable Object', async (_, id) => {
    const before = (await listDurableObjectIds(env.CHAT_ROOMS)).length;
    for (const response of [await worker(`/api/chats/${id}`), await send(id, 'hello'), await resume(id)]) {
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: { code: 'not_found', message: 'no such chat' } });
    }
    expect((await listDurableObjectIds(env.CHAT_ROOMS)).length).toBe(before);
  });

  it('answers 404 for an id that was made but never used to create a chat', async () => {
    const id = env.CHAT_ROOMS.newUniqueId().toString();
    expect((await worker(`/api/chats/${id}`)).status).toBe(404);
    expect((await send(id, 'hello')).status).toBe(404);
  });
});

describe('Turn', () => {
  it('sends a ping comment to listeners while Gemini is silent, and stops when discarded', async () => {
    const id = await createChat();
    const pings = await runInDurableObject(roomOf(id), async (_, state) => {
      const turn = new Turn({
        store: new ChatStore(state.storage),
        sync: () => state.storage.sync(),
        messageId: 1,
        lastEventId: 0,
        graceMs: 60_000,
        heartbeatMs: 10,
      });
      const reader = turn.listen(0).getReader();
      const seen = [new TextDecoder().decode((await reader.read()).value)];
      turn.discard();
      // Whatever was queued before the discard, the stream then ends.
      for (let next = await reader.read(); !next.done; next = await reader.read()) seen.push(new TextDecoder().decode(next.value));
      return seen;
    });
    expect(pings.length).toBeGreaterThan(0);
    expect(new Set(pings)).toEqual(new Set([': ping\n\n']));
  });
});

describe('logging', () => {
  it('writes one line per turn with timings, rows written and outcome, but no text', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      const id = await createChat();
      const secret = `private words ${uniqueTag()}`;
      const response = await send(id, `${secret} [fake:reply chunks=3]`);
      await response.text();
      const entry = lines.map((l) => JSON.parse(l)).find((e) => e.event === 'turn');
      expect(entry).not.toHaveProperty('answeredBy');
      expect(entry).toMatchObject({
        level: 'info',
        model: 'gemini-3.8-flash',
        status: 'complete',
        finishReason: 'STOP',
        usage: { totalTokenCount: expect.any(Number) },
        rowsWritten: expect.any(Number),
        ttftMs: expect.any(Number),
        durationMs: expect.any(Number),
      });
      // The Worker's request id ties the turn to its request's log line.
      expect(entry.requestId).toBe(response.headers.get('x-request-id'));
      for (const line of lines) {
        expect(line).not.toContain(secret);
        expect(line).not.toContain(id);
      }
    } finally {
      spy.mockRestore();
    }
  });
});

describe('storage cost', () => {
  it('writes a few dozen rows for a 400-chunk answer, not one per chunk', async () => {
    // 3.5 Flash-Lite does not think by default: all 400 chunks fit the output budget.
    const id = await createChat({ model: 'gemini-3.5-flash-lite' });
    const { frames } = await turn(id, '[fake:long]');
    expect(frames).toHaveLength(401);
    const rows = await roomOf(id).lastTurnRowsWritten();
    console.log(`rows written for a 400-chunk turn: ${rows}`);
    expect(rows).toBeGreaterThan(2);
    expect(rows).toBeLessThanOrEqual(24);
  });

  it('writes a row per second of a paced answer, not per chunk', async () => {
    const id = await createChat();
    const { frames } = await turn(id, '[fake:reply chunks=80 delay=25]');
    expect(frames.length).toBeGreaterThan(70);
    const rows = await roomOf(id).lastTurnRowsWritten();
    console.log(`rows written for an 80-chunk turn paced 25 ms apart: ${rows}`);
    expect(rows).toBeLessThanOrEqual(12);
  });

  it('keeps the cost of a turn flat in a chat of 10,000 messages', async () => {
    const small = await createChat();
    await turn(small);
    const smallRows = await roomOf(small).lastTurnRowsWritten();

    const big = await createChat();
    await turn(big);
    await runInDurableObject(roomOf(big), (_, state) => {
      state.storage.transactionSync(() => {
        for (let i = 0; i < 5000; i++) {
          state.storage.sql.exec("INSERT INTO messages (role, text, status, created_at) VALUES ('user', ?, 'complete', 0)", `question ${i}`);
          state.storage.sql.exec("INSERT INTO messages (role, text, status, created_at) VALUES ('model', ?, 'complete', 0)", `answer ${i}`);
        }
      });
    });
    const { record } = await turn(big);
    expect(await roomOf(big).lastTurnRowsWritten()).toBe(smallRows);
    // Only the newest turns went upstream.
    expect(record.body.contents.at(-3)?.parts[0].text).toBe('question 4999');
    expect((await snapshot(big)).messages).toHaveLength(10_004);
  });
});

describe('GET /api/chats/:id settledEventId', () => {
  it('is the last frame id of the latest settled turn: resuming after it follows the turn in flight from its start, then answers 204', async () => {
    const id = await createChat();
    const first = await turn(id, '[fake:reply chunks=3]');
    const firstDone = Number(first.frames.at(-1)!.id);
    expect((await snapshot(id)).settledEventId).toBe(firstDone);

    const live = await send(id, 'Slowly [fake:reply chunks=12 delay=40]');
    const reader = live.body!.getReader();
    await readFrames(reader, 2);
    const during = await snapshot(id);
    expect(during.messages.at(-1)!.status).toBe('streaming');
    expect(during.settledEventId).toBe(firstDone);

    const replay = parseSse(await (await resume(id, during.settledEventId)).text());
    expect(ids(replay)[0]).toBe(firstDone + 1);
    expect(replay.at(-1)!.event).toBe('done');
    await reader.cancel();

    const after = await snapshot(id);
    expect(after.settledEventId).toBe(Number(replay.at(-1)!.id));
    expect((await resume(id, after.settledEventId)).status).toBe(204);
  });
});
