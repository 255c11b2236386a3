import { createExecutionContext, evictDurableObject, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import type { ChatRoom } from '../../src/chat/chat-room';
import type { Env } from '../../src/env';
import type { ChatSnapshot } from '../../src/protocol/messages';
import { rollBackTo } from '../chat-schema';
import { fakeRequests, uniqueTag, type FakeRecord } from '../fake-gemini';
import { joinedText, parseSse, type Frame } from '../sse';

/**
 * Thought summaries (`thinking.show`, `reasoning_effort`) on every protocol,
 * through the Worker against the fake Gemini, which sends `thought: true`
 * parts before the answer (two by default, `thoughts=N`) and signs a thinking
 * 3.x answer on its closing event (docs/fake-gemini.md).
 */

const worker = (path: string, init?: RequestInit) => exports.default.fetch(`http://worker${path}`, init);
const post = (path: string, body: unknown) =>
  worker(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** A prompt with a directive and a tag to find its call in the fake's record. */
function prompt(directive = '[fake:reply]'): { text: string; tag: string } {
  const tag = uniqueTag();
  return { text: `Think it through ${directive.replace(']', ` tag=${tag}]`)}`, tag };
}

const thoughtText = (frames: Frame[]) =>
  frames
    .filter((f) => f.event === 'thought')
    .map((f) => (f.data as { thought: string }).thought)
    .join('');

/** The fake's summaries: each a bold title, then a line naming its step (scenarios.mjs). */
function expectFakeSummaries(thoughts: string, count: number): void {
  for (let i = 1; i <= count; i++) expect(thoughts).toContain(`step ${i} of ${count}`);
  expect(thoughts.startsWith('**')).toBe(true);
}

describe('POST /api/chat/stream with thinking.show', () => {
  it('streams thought frames before the text frames, keeps them out of the text, and asks Gemini for includeThoughts', async () => {
    const { text, tag } = prompt('[fake:reply thoughts=3]');
    const response = await post('/api/chat/stream', { message: text, thinking: { show: true } });
    expect(response.status).toBe(200);
    const frames = parseSse(await response.text());
    const [record] = await fakeRequests(tag);
    expect(record!.body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { includeThoughts: true } });
    const kinds = frames.map((f) => f.event);
    expect(kinds.slice(0, 3)).toEqual(['thought', 'thought', 'thought']);
    expect(kinds.slice(3, -1).every((k) => k === 'text')).toBe(true);
    expect(kinds.at(-1)).toBe('done');
    expectFakeSummaries(thoughtText(frames), 3);
    // The answer is exactly what the fake sent as answer text: not a character of the summary in it.
    expect(joinedText(frames)).toBe(record!.sentText);
    expect(joinedText(frames)).not.toContain('step 1 of 3');
    // 3.8 Flash thinks at MEDIUM by default: the fake's 160 thought tokens.
    expect((frames.at(-1)!.data as { usage: { thoughtsTokenCount?: number } }).usage.thoughtsTokenCount).toBe(160);
  });

  it('sends no thought frames without show, and Gemini is not asked for them', async () => {
    const { text, tag } = prompt();
    const frames = parseSse(await (await post('/api/chat/stream', { message: text, thinking: { level: 'high' } })).text());
    expect(frames.some((f) => f.event === 'thought')).toBe(false);
    const [record] = await fakeRequests(tag);
    expect(record!.body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingLevel: 'HIGH' } });
    expect(record!.thoughtChunksSent).toBe(0);
  });

  it('sends no thought frames when the model did not think (budget 0), though they were asked for', async () => {
    const { text } = prompt();
    const frames = parseSse(await (await post('/api/chat/stream', { message: text, model: 'gemini-3.5-flash-lite', thinking: { budget: 0, show: true } })).text());
    expect(frames.map((f) => f.event)).not.toContain('thought');
    expect(frames.at(-1)!.event).toBe('done');
  });
});

describe('POST /api/chat with thinking.show', () => {
  it('answers the thought summary as `thoughts`, apart from the text', async () => {
    const { text, tag } = prompt();
    const answer = (await (await post('/api/chat', { message: text, thinking: { show: true } })).json()) as { text: string; thoughts?: string };
    const [record] = await fakeRequests(tag);
    expect(answer.text).toBe(record!.sentText);
    expectFakeSummaries(answer.thoughts!, 2);
  });
});

describe('the deployment\'s SHOW_THOUGHTS and THINKING_LEVEL', () => {
  const configured = { ...env, SHOW_THOUGHTS: 'true', THINKING_LEVEL: 'low' } as Env;
  async function call(body: unknown) {
    const ctx = createExecutionContext();
    const response = await app.fetch(
      new Request('http://worker/api/chat/stream', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      configured,
      ctx,
    );
    const frames = parseSse(await response.text());
    await waitOnExecutionContext(ctx);
    return frames;
  }

  it('shows thoughts and sets the level for a request that says nothing, and a request overrides both', async () => {
    const plain = prompt();
    const frames = await call({ message: plain.text });
    expect(frames.filter((f) => f.event === 'thought')).toHaveLength(2);
    expect((await fakeRequests(plain.tag))[0]!.body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingLevel: 'LOW', includeThoughts: true } });

    const own = prompt();
    const hidden = await call({ message: own.text, thinking: { show: false, level: 'high' } });
    expect(hidden.some((f) => f.event === 'thought')).toBe(false);
    expect((await fakeRequests(own.tag))[0]!.body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingLevel: 'HIGH' } });
  });
});

describe('stored chats with thinking.show', () => {
  async function createChat(body: unknown): Promise<string> {
    const response = await post('/api/chats', body);
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: string }).id;
  }
  async function turn(id: string, directive = '[fake:reply]', fields: Record<string, unknown> = {}) {
    const { text, tag } = prompt(directive);
    const response = await post(`/api/chats/${id}/messages`, { message: text, ...fields });
    expect(response.status).toBe(200);
    const frames = parseSse(await response.text());
    const [record] = await fakeRequests(tag);
    return { frames, record: record! };
  }
  const snapshot = async (id: string) => (await (await worker(`/api/chats/${id}`)).json()) as ChatSnapshot;
  /** The signature the fake signed an answer with (server.mjs: base64 of its id and the response's). */
  const signatureOf = (record: FakeRecord) => btoa(`fake-gemini thought signature ${record.modelVersion} ${record.responseId}`);

  it('streams thought frames with ids like any frame, and stores the summary apart from the answer', async () => {
    const id = await createChat({ thinking: { show: true } });
    const { frames, record } = await turn(id);
    expect(frames.map((f) => f.event).slice(0, 3)).toEqual(['thought', 'thought', 'text']);
    const ids = frames.map((f) => Number(f.id));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    const { messages } = await snapshot(id);
    expect(messages[1]).toMatchObject({ role: 'model', status: 'complete', text: record.sentText, thoughts: thoughtText(frames) });
    expect(messages[1]!.text).not.toContain('step 1 of 2');
    expect(messages[0]).not.toHaveProperty('thoughts');
    // Signatures stay inside the chat: nothing of them in what a reader gets.
    expect(JSON.stringify(messages)).not.toContain(signatureOf(record));
  });

  it('sends the answer back with its thought summary and its signature on the part it came on, which Gemini accepts', async () => {
    const id = await createChat({ thinking: { show: true } });
    const first = await turn(id);
    const second = await turn(id);
    expect(second.record.httpStatus).toBe(200);
    expect(second.record.signaturesReturned).toBe(1);
    const modelTurn = second.record.body.contents[1]!;
    expect(modelTurn.role).toBe('model');
    expect(modelTurn.parts).toEqual([
      { text: thoughtText(first.frames), thought: true },
      { text: first.record.sentText },
      // The 3.x closing event: an empty text part with the signature, sent back as it came.
      { text: '', thoughtSignature: signatureOf(first.record) },
    ]);
  });

  it('keeps and sends back the signature of an answer whose thoughts were not shown', async () => {
    const id = await createChat({});
    const first = await turn(id);
    const second = await turn(id);
    expect(first.frames.some((f) => f.event === 'thought')).toBe(false);
    expect(second.record.body.contents[1]!.parts).toEqual([{ text: first.record.sentText }, { text: '', thoughtSignature: signatureOf(first.record) }]);
    expect(second.record.signaturesReturned).toBe(1);
    expect((await snapshot(id)).messages[1]).not.toHaveProperty('thoughts');
  });

  it('shows thoughts for one message when it asks, on a chat that does not', async () => {
    const id = await createChat({ thinking: { level: 'high' } });
    const { frames, record } = await turn(id, '[fake:reply]', { thinking: { show: true } });
    expect(frames.filter((f) => f.event === 'thought')).toHaveLength(2);
    // The chat's level stays; the message adds show.
    expect(record.body.generationConfig).toMatchObject({ thinkingConfig: { thinkingLevel: 'HIGH', includeThoughts: true } });
  });

  it('replays a turn cut mid-thought from Last-Event-ID, every frame once, thoughts included', async () => {
    const id = await createChat({ thinking: { show: true } });
    const { text } = prompt('[fake:reply thoughts=4 delay=40]');
    const response = await post(`/api/chats/${id}/messages`, { message: text });
    const reader = response.body!.getReader();
    let seen = '';
    while (!seen.includes('\n\n')) seen += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const [firstFrame] = parseSse(seen.slice(0, seen.indexOf('\n\n') + 2));
    expect(firstFrame!.event).toBe('thought');
    const resumed = parseSse(await (await worker(`/api/chats/${id}/stream`, { headers: { 'last-event-id': firstFrame!.id! } })).text());
    const all = [firstFrame!, ...resumed];
    expect(all.map((f) => Number(f.id))).toEqual(all.map((_, i) => i + 1));
    expect(all.filter((f) => f.event === 'thought')).toHaveLength(4);
    const { messages } = await snapshot(id);
    expect(messages[1]!.thoughts).toBe(thoughtText(all));
    expect(messages[1]!.text).toBe(joinedText(all));
  });

  it('stores thoughts on a chat created before parts existed, whose older answers go back as plain text', async () => {
    const id = await createChat({});
    const old = await turn(id);
    const stub = env.CHAT_ROOMS.get(env.CHAT_ROOMS.idFromString(id));
    // Back to the schema of migration 3, and an answer stored as the previous version stored it.
    await runInDurableObject(stub, (_: ChatRoom, state) => {
      rollBackTo(state.storage, 3);
    });
    await evictDurableObject(stub);
    const next = await turn(id, '[fake:reply]', { thinking: { show: true } });
    expect(next.record.body.contents[1]!.parts).toEqual([{ text: old.record.sentText }]);
    const third = await turn(id);
    expect(third.record.signaturesReturned).toBe(1);
    const { messages } = await snapshot(id);
    expect(messages.map((m) => m.thoughts === undefined)).toEqual([true, true, true, false, true, true]);
  });
});

describe('the AI SDK route with thinking.show', () => {
  let ids = 0;
  const newChatId = () => `rs${Date.now().toString(36)}${(ids++).toString(36)}${Math.random().toString(36).slice(2)}`.slice(0, 20).padEnd(16, '0');
  const chunksOf = (body: string) =>
    body
      .split('\n\n')
      .filter((b) => b.startsWith('data: ') && b !== 'data: [DONE]')
      .map((b) => JSON.parse(b.slice(6)) as { type: string; id?: string; delta?: string });

  function send(id: string, text: string, fields: Record<string, unknown> = {}) {
    return post('/api/ai-sdk/chat', { id, trigger: 'submit-message', messages: [{ id: `u${uniqueTag()}`, role: 'user', parts: [{ type: 'text', text }] }], ...fields });
  }

  it('streams reasoning-start, -delta, -end before the text, and the history has a reasoning part first', async () => {
    const id = newChatId();
    const { text } = prompt();
    const chunks = chunksOf(await (await send(id, text, { thinking: { show: true } })).text());
    const types = chunks.map((c) => c.type);
    expect(types.slice(0, 5)).toEqual(['start', 'reasoning-start', 'reasoning-delta', 'reasoning-delta', 'reasoning-end']);
    expect(types.indexOf('text-start')).toBe(5);
    const reasoning = chunks.filter((c) => c.type === 'reasoning-delta').map((c) => c.delta).join('');
    expectFakeSummaries(reasoning, 2);

    const history = (await (await worker(`/api/ai-sdk/chat/${id}`)).json()) as { messages: { parts: { type: string; text?: string }[] }[] };
    expect(history.messages[1]!.parts.map((p) => p.type)).toEqual(['reasoning', 'text']);
    expect(history.messages[1]!.parts[0]!.text).toBe(reasoning);
  });

  it('replays the reasoning chunks to a client that resumes the turn in flight', async () => {
    const id = newChatId();
    const { text } = prompt('[fake:reply thoughts=3 delay=40]');
    const first = send(id, text, { thinking: { show: true } });
    const response = await first;
    const resumed = await worker(`/api/ai-sdk/chat/${id}/stream`);
    expect(resumed.status).toBe(200);
    const [live, again] = await Promise.all([response.text(), resumed.text()]);
    const reasoning = (body: string) => chunksOf(body).filter((c) => c.type === 'reasoning-delta').map((c) => c.delta).join('');
    expect(reasoning(again)).toBe(reasoning(live));
    expect(chunksOf(again).filter((c) => c.type === 'reasoning-start')).toHaveLength(1);
  });
});

describe('POST /v1/chat/completions with reasoning_effort', () => {
  const KEY = 'sk-test-openai-compat-0001';
  const configured = { ...env, OPENAI_COMPAT_KEYS: KEY } as Env;
  async function completions(body: unknown) {
    const ctx = createExecutionContext();
    const response = await app.fetch(
      new Request('http://worker/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'cf-connecting-ip': '203.0.113.9' },
        body: JSON.stringify(body),
      }),
      configured,
      ctx,
    );
    const text = await response.text();
    await waitOnExecutionContext(ctx);
    return { status: response.status, text };
  }
  const request = (text: string, extra: object) => ({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: text }], ...extra });

  it('streams delta.reasoning_content before content, and counts reasoning_tokens', async () => {
    const { text, tag } = prompt();
    const answer = await completions(request(text, { stream: true, stream_options: { include_usage: true }, reasoning_effort: 'low' }));
    expect(answer.status).toBe(200);
    const chunks = answer.text
      .split('\n\n')
      .filter((b) => b.startsWith('data: {'))
      .map((b) => JSON.parse(b.slice(6)) as { choices: { delta: { reasoning_content?: string; content?: string } }[]; usage?: { completion_tokens_details?: { reasoning_tokens: number } } | null });
    const deltas = chunks.flatMap((c) => c.choices.map((choice) => choice.delta));
    const firstContent = deltas.findIndex((d) => d.content !== undefined);
    const reasoning = deltas.filter((d) => d.reasoning_content !== undefined);
    expect(reasoning).toHaveLength(2);
    expect(deltas.findIndex((d) => d.reasoning_content !== undefined)).toBeLessThan(firstContent);
    const [record] = await fakeRequests(tag);
    expect(deltas.map((d) => d.content ?? '').join('')).toBe(record!.sentText);
    expect(chunks.at(-1)!.usage!.completion_tokens_details).toEqual({ reasoning_tokens: 48 });
  });

  it('answers message.reasoning_content without stream, and none with reasoning_effort "none"', async () => {
    const shown = prompt();
    const completion = JSON.parse((await completions(request(shown.text, { reasoning_effort: 'medium' }))).text) as {
      choices: { message: { content: string; reasoning_content?: string } }[];
    };
    expectFakeSummaries(completion.choices[0]!.message.reasoning_content!, 2);
    expect(completion.choices[0]!.message.content).toBe((await fakeRequests(shown.tag))[0]!.sentText);

    const none = prompt();
    const plain = JSON.parse((await completions(request(none.text, { reasoning_effort: 'none' }))).text) as { choices: { message: object }[] };
    expect(plain.choices[0]!.message).not.toHaveProperty('reasoning_content');
    expect((await fakeRequests(none.tag))[0]!.body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingLevel: 'LOW' } });
  });
});
