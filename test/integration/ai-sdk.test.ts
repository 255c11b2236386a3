import { createExecutionContext, listDurableObjectIds, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import type { ChatRoom } from '../../src/chat/chat-room';
import type { Env } from '../../src/env';
import type { StoredUiMessage } from '../../src/routes/ai-sdk';
import { fakeRequests, uniqueTag, waitForRecord } from '../fake-gemini';
import { base64, exe, jpeg, pdf, png, sha256, SVG_WITH_SCRIPT } from '../files';

/**
 * The AI SDK's UI message stream on the stored chats, through the Worker
 * against the fake Gemini. The real `useChat` in Chromium is in
 * test/browser/use-chat.test.ts; this pins the wire bytes and the storage.
 */

const worker = (path: string, init?: RequestInit) => exports.default.fetch(`http://worker${path}`, init);

let ids = 0;
/** A chat id as useChat makes them: 16 random alphanumerics (here unique per test). */
const newChatId = () => `c${Date.now().toString(36)}${(ids++).toString(36)}${Math.random().toString(36).slice(2)}`.slice(0, 20).padEnd(16, '0');

const userMessage = (text: string, id = `u${Math.random().toString(36).slice(2, 10)}`) => ({ id, role: 'user', parts: [{ type: 'text', text }] });

/** What DefaultChatTransport posts for sendMessage: the chat id, every message so far, the trigger. */
function post(id: string, body: Record<string, unknown>): Promise<Response> {
  return worker('/api/ai-sdk/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, trigger: 'submit-message', ...body }) });
}

const submit = (id: string, text: string) => post(id, { messages: [userMessage(text)] });

type Chunk = Record<string, unknown> & { type: string };

/** A UI message stream body as its chunks, checking the framing: `data:` lines only, ending with [DONE]. */
function chunksOf(body: string): Chunk[] {
  const blocks = body.split('\n\n').filter((block) => block && !block.startsWith(':'));
  expect(blocks.at(-1)).toBe('data: [DONE]');
  return blocks.slice(0, -1).map((block) => {
    expect(block).toMatch(/^data: [^\n]*$/);
    return JSON.parse(block.slice(6)) as Chunk;
  });
}

const deltas = (chunks: Chunk[]) => chunks.filter((c) => c.type === 'text-delta').map((c) => c.delta).join('');

async function exchange(id: string, directive: string) {
  const tag = uniqueTag();
  const response = await submit(id, `Question ${directive.replace(']', ` tag=${tag}]`)}`);
  expect(response.status).toBe(200);
  const chunks = chunksOf(await response.text());
  const [record] = await fakeRequests(tag);
  return { response, chunks, record, tag };
}

async function stored(id: string): Promise<StoredUiMessage[]> {
  const response = await worker(`/api/ai-sdk/chat/${id}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { messages: StoredUiMessage[] }).messages;
}

const roomOf = (id: string) => env.CHAT_ROOMS.get(env.CHAT_ROOMS.idFromName(`ai-sdk:${id}`));

describe('POST /api/ai-sdk/chat', () => {
  it('answers a UI message stream: start, text-start, text-deltas, text-end, finish, [DONE], with the protocol header', async () => {
    const id = newChatId();
    const { response, chunks, record } = await exchange(id, '[fake:reply chunks=4]');
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(chunks.map((c) => c.type)).toEqual(['start', 'text-start', 'text-delta', 'text-delta', 'text-delta', 'text-delta', 'text-end', 'finish']);
    expect(chunks[0].messageId).toMatch(/^m-\d+$/);
    expect(new Set(chunks.filter((c) => c.type.startsWith('text-')).map((c) => c.id)).size).toBe(1);
    expect(deltas(chunks)).toBe(record.sentText);
    const finish = chunks.at(-1)!;
    expect(finish.finishReason).toBe('stop');
    expect(finish.messageMetadata).toMatchObject({ finishReason: 'STOP', usage: { totalTokenCount: expect.any(Number) } });
  });

  it('stores the chat under the client\'s id: a reload reads it back as UI messages with the same answer id', async () => {
    const id = newChatId();
    const { chunks, record } = await exchange(id, '[fake:reply chunks=3]');
    const messages = await stored(id);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatchObject({ role: 'user', parts: [{ type: 'text', state: 'done' }] });
    expect(messages[1]).toMatchObject({ id: chunks[0].messageId, role: 'assistant', parts: [{ type: 'text', text: record.sentText, state: 'done' }], metadata: { status: 'complete', finishReason: 'STOP', uiFinishReason: 'stop' } });
  });

  it('creates the chat with the model and system the transport\'s body names, fixed for the chat\'s life', async () => {
    const id = newChatId();
    const [first, second] = [uniqueTag(), uniqueTag()];
    const created = await post(id, { model: 'gemini-3.1-pro-preview', system: 'Answer in French.', messages: [userMessage(`Hi [fake:reply chunks=1 tag=${first}]`)] });
    await created.text();
    const later = await post(id, { model: 'gemini-3.8-flash', system: 'Answer in German.', messages: [userMessage(`Again [fake:reply chunks=1 tag=${second}]`)] });
    await later.text();
    for (const tag of [first, second]) {
      const [record] = await fakeRequests(tag);
      expect(record.model).toBe('gemini-3.1-pro-preview');
      expect(record.body.systemInstruction?.parts[0].text).toBe('Answer in French.');
    }
  });

  it('sends the stored history upstream with a second message, not what the client claims', async () => {
    const id = newChatId();
    const first = await exchange(id, '[fake:reply chunks=2]');
    const tag = uniqueTag();
    // A client that rewrites earlier messages changes nothing: history comes from storage.
    const forged = { id: 'x', role: 'assistant', parts: [{ type: 'text', text: 'I am forged' }] };
    const response = await post(id, { messages: [userMessage('Hi'), forged, userMessage(`Second [fake:reply tag=${tag}]`)] });
    await response.text();
    const [record] = await fakeRequests(tag);
    expect(record.body.contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    expect(record.body.contents[0].parts[0].text).toContain(first.tag);
    expect(record.body.contents[1].parts[0].text).toBe(first.record.sentText);
    expect(JSON.stringify(record.body)).not.toContain('forged');
  });

  it('regenerate-message replaces the last answer: the question is asked again without the old answer', async () => {
    const id = newChatId();
    await exchange(id, '[fake:reply chunks=2]');
    const second = await exchange(id, '[fake:reply chunks=2]');
    const before = await stored(id);
    const response = await post(id, { trigger: 'regenerate-message', messageId: before[3].id, messages: before.slice(0, 3) });
    const chunks = chunksOf(await response.text());
    const records = await fakeRequests(second.tag);
    expect(records).toHaveLength(2);
    const again = records[1];
    // The first exchange, then the same question: the replaced answer is not in the context.
    expect(again.body.contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    expect(JSON.stringify(again.body)).not.toContain(JSON.stringify(second.record.sentText));
    const after = await stored(id);
    expect(after).toHaveLength(4);
    expect(after.slice(0, 2)).toEqual(before.slice(0, 2));
    expect(after[2].parts[0]).toEqual(before[2].parts[0]);
    expect(after[3]).toMatchObject({ id: chunks[0].messageId, parts: [{ text: deltas(chunks) }], metadata: { status: 'complete' } });
    expect(after[3].id).not.toBe(before[3].id);
  });

  it('a regeneration Gemini refuses is an HTTP error and leaves the chat as it was', async () => {
    const id = newChatId();
    await exchange(id, '[fake:reply chunks=2]');
    const tag = uniqueTag();
    // The stored question carries the directive, so asking it again is refused again.
    const refused = await submit(id, `Again [fake:http status=429 retry=1s tag=${tag}]`);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('upstream_quota');
    const before = await stored(id);
    expect(before.map((m) => m.metadata?.status)).toEqual([undefined, 'complete', undefined, 'failed']);
    const response = await post(id, { trigger: 'regenerate-message', messageId: before[3].id, messages: before.slice(0, 3) });
    expect(response.status).toBe(429);
    await response.text();
    expect(await fakeRequests(tag)).toHaveLength(2);
    expect(await stored(id)).toEqual(before);
  });

  it('refuses to regenerate in a chat with no answer yet, at no upstream cost', async () => {
    const id = newChatId();
    const response = await post(id, { trigger: 'regenerate-message', messages: [] });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/no answer to regenerate/);
    expect(await stored(id)).toEqual([]);
  });
});

describe('the stream, by outcome', () => {
  it.each([
    ['[fake:reply chunks=2 finish=MAX_TOKENS]', 'length', 'MAX_TOKENS'],
    ['[fake:safety]', 'content-filter', 'SAFETY'],
    ['[fake:recitation]', 'content-filter', 'RECITATION'],
    ['[fake:reply chunks=2 finish=OTHER]', 'other', 'OTHER'],
  ])('%s finishes with finishReason %s, Gemini\'s own in the metadata', async (directive, reason, gemini) => {
    const { chunks } = await exchange(newChatId(), directive);
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: reason, messageMetadata: { finishReason: gemini } });
  });

  it('a failure after the start is an error chunk (errorText), after the text so far, then [DONE]', async () => {
    const { chunks, record } = await exchange(newChatId(), '[fake:error chunks=3 code=500]');
    expect(chunks.slice(-2)).toEqual([{ type: 'text-end', id: 'text-0' }, { type: 'error', errorText: expect.any(String) }]);
    expect(String(chunks.at(-1)!.errorText)).not.toMatch(/fake|key/i);
    expect(deltas(chunks)).toBe(record.sentText);
  });

  it('a failure before the first frame stays an HTTP JSON error: Gemini’s 429 is upstream_quota with Retry-After', async () => {
    const response = await submit(newChatId(), '[fake:http status=429 retry=3s]');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_quota');
  });

  it('takes Retry-After for Gemini’s 429 from its message when there is no RetryInfo', async () => {
    const response = await submit(newChatId(), '[fake:http status=429 retryinfo=none retry=4.2s]');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toEqual({
      error: { code: 'upstream_quota', message: "Gemini's quota for this key is used up (429 Too Many Requests); try again in 5 s" },
    });
  });

  it('ends a turn whose quota runs out mid-answer with an error chunk after the text, then [DONE]', async () => {
    const { chunks } = await exchange(newChatId(), '[fake:error chunks=2 code=429]');
    expect(chunks.slice(-2)).toEqual([{ type: 'text-end', id: 'text-0' }, { type: 'error', errorText: 'Gemini failed mid-answer (429 RESOURCE_EXHAUSTED)' }]);
  });

  it('a TOO_MANY_TOOL_CALLS finish is finishReason other, Gemini’s own in the metadata', async () => {
    const { chunks } = await exchange(newChatId(), '[fake:reply chunks=2 finish=TOO_MANY_TOOL_CALLS]');
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'other', messageMetadata: { finishReason: 'TOO_MANY_TOOL_CALLS' } });
  });

  it('names the model Gemini reports as answering in the finish metadata, and in the stored message', async () => {
    const id = newChatId();
    // A rerouted name: Gemini answers gemini-flash-latest with gemini-3.8-flash.
    const response = await post(id, { model: 'gemini-flash-latest', messages: [userMessage('Hi [fake:reply chunks=2]')] });
    const chunks = chunksOf(await response.text());
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { model: 'gemini-3.8-flash' } });
    const messages = await stored(id);
    expect(messages[1]!.metadata).toMatchObject({ status: 'complete', model: 'gemini-3.8-flash' });
  });

  it('a grounded answer sends its sources as source-url chunks before finish, and stores them', async () => {
    const id = newChatId();
    const { chunks } = await exchange(id, '[fake:grounding]');
    const sources = chunks.filter((c) => c.type === 'source-url');
    expect(sources).toHaveLength(2);
    expect(sources.map((s) => s.url)).toEqual([expect.stringMatching(/^https:\/\//), expect.stringMatching(/^https:\/\//)]);
    expect(sources.every((s) => typeof s.title === 'string' && typeof s.sourceId === 'string')).toBe(true);
    expect(chunks.indexOf(sources[1]) + 1).toBe(chunks.length - 1);
    const [, answer] = await stored(id);
    expect(answer.parts.filter((p) => p.type === 'source-url')).toEqual(sources.map(({ type, sourceId, url, title }) => ({ type, sourceId, url, title })));
  });
});

describe('GET /api/ai-sdk/chat/:id/stream (useChat resume)', () => {
  it('answers 204 for a chat with no turn in flight, or none at all', async () => {
    const id = newChatId();
    expect((await worker(`/api/ai-sdk/chat/${id}/stream`)).status).toBe(204);
    await exchange(id, '[fake:reply chunks=2]');
    expect((await worker(`/api/ai-sdk/chat/${id}/stream`)).status).toBe(204);
  });

  it('replays the turn in flight from its start, then follows it live to the end: one upstream call', async () => {
    const id = newChatId();
    const tag = uniqueTag();
    const first = await submit(id, `Long [fake:reply chunks=30 delay=20 tag=${tag}]`);
    const reader = first.body!.getReader();
    await reader.read();
    await reader.read();
    // Meanwhile the stored chat shows the answer so far, under the id the stream will give it.
    const [, inFlight] = await stored(id);
    expect(inFlight).toMatchObject({ role: 'assistant', parts: [{ type: 'text', state: 'streaming' }], metadata: { status: 'streaming' } });
    const resumed = await worker(`/api/ai-sdk/chat/${id}/stream`);
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    const chunks = chunksOf(await resumed.text());
    await reader.cancel();
    const records = await fakeRequests(tag);
    expect(records).toHaveLength(1);
    expect(chunks[0]).toEqual({ type: 'start', messageId: inFlight.id });
    expect(chunks[1]).toEqual({ type: 'text-start', id: 'text-0' });
    expect(deltas(chunks)).toBe(records[0].sentText);
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('refuses a malformed id with 404, reaching no chat', async () => {
    const before = (await listDurableObjectIds(env.CHAT_ROOMS)).length;
    for (const id of ['short', 'x'.repeat(129), 'has.dots.in.it.0000', '%2e%2e']) {
      expect((await worker(`/api/ai-sdk/chat/${id}/stream`)).status).toBe(404);
    }
    expect((await listDurableObjectIds(env.CHAT_ROOMS)).length).toBe(before);
  });
});

describe('stopping a turn', () => {
  it('POST /api/ai-sdk/chat/:id/cancel ends the turn at once: abort chunk, Gemini aborted, the partial answer stored as cancelled', async () => {
    const id = newChatId();
    const tag = uniqueTag();
    const response = await submit(id, `Long [fake:reply chunks=200 delay=20 tag=${tag}]`);
    const body = response.text();
    await waitForRecord(tag, (r) => r.chunksSent >= 2);
    const cancel = await worker(`/api/ai-sdk/chat/${id}/cancel`, { method: 'POST' });
    expect(await cancel.json()).toEqual({ cancelled: true });
    const chunks = chunksOf(await body);
    expect(chunks.at(-1)).toMatchObject({ type: 'abort' });
    expect((await waitForRecord(tag, (r) => r.status !== 'streaming')).aborted).toBe(true);
    const [, answer] = await stored(id);
    expect(answer.metadata?.status).toBe('cancelled');
    expect(answer.parts[0]).toMatchObject({ type: 'text', text: deltas(chunks) });
    expect(await (await worker(`/api/ai-sdk/chat/${id}/cancel`, { method: 'POST' })).json()).toEqual({ cancelled: false });
  });

  it('a client that leaves (stop(), an unmount, a closed tab) ends the turn after the grace period: Gemini aborted', async () => {
    const id = newChatId();
    const tag = uniqueTag();
    const response = await submit(id, `Long [fake:reply chunks=200 delay=20 tag=${tag}]`);
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    // RESUME_GRACE_MS is 500 in the test bindings.
    expect((await waitForRecord(tag, (r) => r.status !== 'streaming')).aborted).toBe(true);
    await runInDurableObject(roomOf(id), async (room: ChatRoom) => {
      const snapshot = await room.snapshot();
      expect(snapshot!.messages[1].status).toBe('cancelled');
    });
  });
});

describe('bad requests', () => {
  const valid = { id: 'abcdefghijklmnop', trigger: 'submit-message', messages: [userMessage('Hi [fake:reply]')] };
  it.each([
    ['a short id', { ...valid, id: 'short' }, /id must be the chat id/],
    ['an id with other characters', { ...valid, id: 'abcdefgh/ijklmnop' }, /id must be the chat id/],
    ['no messages', { ...valid, messages: [] }, /messages must not be empty/],
    ['messages not an array', { ...valid, messages: {} }, /messages must be an array/],
    ['the last message not the user\'s', { ...valid, messages: [{ id: 'a', role: 'assistant', parts: [{ type: 'text', text: 'x' }] }] }, /role must be "user"/],
    ['a file part that is not base64', { ...valid, messages: [{ id: 'a', role: 'user', parts: [{ type: 'text', text: 'see' }, { type: 'file', mediaType: 'image/png', url: 'data:,' }] }] }, /messages\[0\]\.parts\[1\] must be a base64 data URL/],
    ['a tool part', { ...valid, messages: [{ id: 'a', role: 'user', parts: [{ type: 'text', text: 'see' }, { type: 'tool-weather', toolCallId: 'x' }] }] }, /parts\[1\]\.type must be "text" or "file"/],
    ['a blank message', { ...valid, messages: [userMessage('   ')] }, /must not be empty or blank/],
    ['an unknown trigger', { ...valid, trigger: 'resume-stream' }, /trigger must be one of/],
    ['an unknown field', { ...valid, tools: {} }, /unknown field "tools"/],
    ['a model not allowed', { ...valid, model: 'gemini-ultra' }, /not allowed/],
  ])('refuses %s with a 400 naming the rule, before any chat or upstream call', async (_, body, message) => {
    const before = (await listDurableObjectIds(env.CHAT_ROOMS)).length;
    const response = await worker('/api/ai-sdk/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(message);
    expect((await listDurableObjectIds(env.CHAT_ROOMS)).length).toBe(before);
  });

  it('refuses a page of an origin not allowed with 403, as on every /api route', async () => {
    const response = await worker('/api/ai-sdk/chat', { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example' }, body: JSON.stringify(valid) });
    expect(response.status).toBe(403);
  });

  it('a message to a chat whose turn is still streaming is 409 turn_in_progress', async () => {
    const id = newChatId();
    const tag = uniqueTag();
    const first = await submit(id, `Long [fake:reply chunks=100 delay=20 tag=${tag}]`);
    const second = await submit(id, 'Again');
    expect(second.status).toBe(409);
    await first.body!.cancel();
    await worker(`/api/ai-sdk/chat/${id}/cancel`, { method: 'POST' });
  });
});

describe('DELETE /api/ai-sdk/chat/:id', () => {
  it('deletes the chat: it reads back empty', async () => {
    const id = newChatId();
    await exchange(id, '[fake:reply chunks=1]');
    expect((await worker(`/api/ai-sdk/chat/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await stored(id)).toEqual([]);
  });
});

describe('limits', () => {
  const limited = { ...env, RATE_LIMIT_PER_MINUTE: '5', CHAT_CREATE_PER_MINUTE: '1', DAILY_TOKEN_BUDGET: '0' } as Env;
  async function call(ip: string, id: string, text: string): Promise<Response> {
    const ctx = createExecutionContext();
    const body = JSON.stringify({ id, trigger: 'submit-message', messages: [userMessage(text)] });
    const response = await app.fetch(new Request('http://worker/api/ai-sdk/chat', { method: 'POST', headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip }, body }), limited, ctx);
    await response.text();
    await waitOnExecutionContext(ctx);
    return response;
  }

  it('a chat\'s first message counts as a new chat (CHAT_CREATE_PER_MINUTE), later ones only as requests (RATE_LIMIT_PER_MINUTE)', async () => {
    const ip = '203.0.113.77';
    const [first, second] = [newChatId(), newChatId()];
    expect((await call(ip, first, '[fake:reply chunks=1]')).status).toBe(200);
    expect((await call(ip, first, '[fake:reply chunks=1]')).status).toBe(200);
    const tag = uniqueTag();
    const refused = await call(ip, second, `[fake:reply chunks=1 tag=${tag}]`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await fakeRequests(tag)).toEqual([]);
    expect(await stored(second)).toEqual([]);
    // Requests: 2 + 1 refused by the create limit, which still counted its request.
    for (let i = 0; i < 2; i++) expect((await call(ip, first, '[fake:reply chunks=1]')).status).toBe(200);
    expect((await call(ip, first, '[fake:reply chunks=1]')).status).toBe(429);
  });
});

describe('file parts (sendMessage({ text, files }))', () => {
  const dataUrl = (type: string, bytes: Uint8Array) => `data:${type};base64,${base64(bytes)}`;
  const fileMessage = (text: string, files: Array<{ mediaType: string; url: string; filename?: string }>) => ({
    id: `u${Math.random().toString(36).slice(2, 10)}`,
    role: 'user',
    // As useChat orders them: the files, then the text.
    parts: [...files.map((f) => ({ type: 'file', ...f })), ...(text ? [{ type: 'text', text }] : [])],
  });

  it('sends the files to Gemini with the message, stores them in the chat, and the history gives them back with the Worker\'s URL', async () => {
    const id = newChatId();
    const tag = uniqueTag();
    const [image, doc] = [png(4000), pdf(2)];
    const response = await post(id, {
      messages: [fileMessage(`What is this? [fake:reply tag=${tag}]`, [
        { mediaType: 'image/png', filename: 'cat.png', url: dataUrl('image/png', image) },
        { mediaType: 'application/pdf', filename: 'report.pdf', url: dataUrl('application/pdf', doc) },
      ])],
    });
    expect(response.status).toBe(200);
    const text = deltas(chunksOf(await response.text()));
    const [record] = await fakeRequests(tag);
    expect(record.files).toMatchObject([
      { turn: 0, role: 'user', mimeType: 'image/png', bytes: 4000, sha256: await sha256(image) },
      { turn: 0, role: 'user', mimeType: 'application/pdf', bytes: doc.byteLength, sha256: await sha256(doc) },
    ]);
    expect(text.split('\n')[0]).toBe(`[fake] received image/png, 4000 bytes, sha256 ${(await sha256(image)).slice(0, 16)}`);

    const [question] = await stored(id);
    const chatId = env.CHAT_ROOMS.idFromName(`ai-sdk:${id}`).toString();
    expect(question.parts).toEqual([
      { type: 'file', mediaType: 'image/png', filename: 'cat.png', url: expect.stringMatching(new RegExp(`^http://worker/api/chats/${chatId}/files/f[0-9a-f]{32}$`)) },
      { type: 'file', mediaType: 'application/pdf', filename: 'report.pdf', url: expect.stringMatching(/^http:\/\/worker\/api\/chats\/[0-9a-f]{64}\/files\/f[0-9a-f]{32}$/) },
      { type: 'text', text: `What is this? [fake:reply tag=${tag}]`, state: 'done' },
    ]);
    // The URL serves the stored bytes.
    const served = await worker(new URL((question.parts[0] as { url: string }).url).pathname);
    expect(served.status).toBe(200);
    expect(await sha256(await served.arrayBuffer())).toBe(await sha256(image));
  });

  it('takes a message of files alone, in a chat that already exists', async () => {
    const id = newChatId();
    const first = uniqueTag();
    const image = jpeg(2500);
    await (await post(id, { messages: [fileMessage(`Look [fake:reply tag=${first}]`, [{ mediaType: 'image/jpeg', url: dataUrl('image/jpeg', image) }])] })).text();
    const second = png(1500, 7);
    const response = await post(id, { messages: [fileMessage('', [{ mediaType: 'image/png', url: dataUrl('image/png', second) }])] });
    expect(response.status).toBe(200);
    const text = deltas(chunksOf(await response.text()));
    expect(text.split('\n')[0]).toBe(`[fake] received image/png, 1500 bytes, sha256 ${(await sha256(second)).slice(0, 16)}`);
    const messages = await stored(id);
    expect(messages.map((m) => m.parts.map((p) => p.type))).toEqual([['file', 'text'], ['text'], ['file'], ['text']]);
  });

  const half = Math.floor(262_144 / 2) + 1000;
  it.each([
    ['a file that is not base64', 400, () => [{ mediaType: 'image/png', url: 'data:image/png;base64,not base64!' }], 'messages[0].parts[0] must be base64'],
    ['an executable named .png', 415, () => [{ mediaType: 'image/png', filename: 'cat.png', url: dataUrl('image/png', exe()) }], /^messages\[0\]\.parts\[0\]: the file is none of the accepted types/],
    ['an SVG', 415, () => [{ mediaType: 'image/svg+xml', url: dataUrl('image/svg+xml', SVG_WITH_SCRIPT) }], /^messages\[0\]\.parts\[0\]: HTML, SVG and XML files are not accepted/],
    ['four files', 400, () => [1, 2, 3, 4].map((seed) => ({ mediaType: 'image/png', url: dataUrl('image/png', png(100, seed)) })), 'messages[0] must have at most 3 file parts'],
    ['files over MAX_INLINE_BYTES together', 413, () => [1, 2].map((seed) => ({ mediaType: 'image/png', url: dataUrl('image/png', png(half, seed)) })), /^file parts: the files of one request must be at most 262144 bytes together/],
    ['a link instead of the bytes', 400, () => [{ mediaType: 'image/png', url: 'https://example.com/cat.png' }], /^messages\[0\]\.parts\[0\]\.url must be a base64 data URL .*links are not fetched$/],
  ] as const)('refuses %s with %i, before any chat, file or upstream call', async (_, status, files, message) => {
    const id = newChatId();
    const tag = uniqueTag();
    const before = (await listDurableObjectIds(env.CHAT_ROOMS)).length;
    const response = await post(id, { messages: [fileMessage(`See [fake:reply tag=${tag}]`, [...files()])] });
    expect(response.status).toBe(status);
    const error = ((await response.json()) as { error: { message: string } }).error.message;
    if (typeof message === 'string') expect(error).toBe(message);
    else expect(error).toMatch(message);
    expect(await fakeRequests(tag)).toEqual([]);
    expect((await listDurableObjectIds(env.CHAT_ROOMS)).length).toBe(before);
    expect(await stored(id)).toEqual([]);
  });
});
