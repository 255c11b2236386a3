import { createExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import type { Env } from '../../src/env';
import type { StoredUiMessage } from '../../src/routes/ai-sdk';
import type { StatsReport } from '../../src/stats/stats-report';
import { fakeRequests, uniqueTag } from '../fake-gemini';

/**
 * An assistant's tools on the AI SDK's chats (issue 22): the fixture `tools-site` (origin
 * https://tools.example) has endpoint tools (`lookup_order`, run by the chat's Durable Object) and
 * the page tool `show_section`. The stream shows them as `dynamic-tool` parts; at a page call it
 * ends, and useChat's follow-up (the assistant's message with the outputs) continues the turn.
 * The real useChat in Chromium: test/browser/use-chat-tools.test.ts. TOOLS_PAGE_TIMEOUT_MS 2000
 * and RESUME_GRACE_MS 500 come from vitest.config.ts.
 */

const SITE = 'https://tools.example';
const worker = (path: string, init?: RequestInit) => exports.default.fetch(`http://worker${path}`, init);

let ids = 0;
const newChatId = () => `t${Date.now().toString(36)}${(ids++).toString(36)}${Math.random().toString(36).slice(2)}`.slice(0, 20).padEnd(16, '0');

type Chunk = Record<string, unknown> & { type: string };
type UiMessage = { id: string; role: 'user' | 'assistant'; parts: Array<Record<string, unknown>> };

/** What DefaultChatTransport posts, from the tools site's page. */
function post(id: string, messages: UiMessage[], extra: Record<string, unknown> = {}): Promise<Response> {
  return worker('/api/ai-sdk/chat', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: SITE },
    body: JSON.stringify({ id, trigger: 'submit-message', assistant: 'tools-site', messages, ...extra }),
  });
}

function chunksOf(body: string): Chunk[] {
  const blocks = body.split('\n\n').filter((block) => block && !block.startsWith(':'));
  expect(blocks.at(-1)).toBe('data: [DONE]');
  return blocks.slice(0, -1).map((block) => JSON.parse(block.slice(6)) as Chunk);
}

const types = (chunks: Chunk[]) => chunks.map((c) => c.type);
const deltas = (chunks: Chunk[]) => chunks.filter((c) => c.type === 'text-delta').map((c) => c.delta).join('');

/** The first message of a chat, with the fake's directive tagged; the stream read to its end. */
async function ask(id: string, directive: string) {
  const tag = uniqueTag();
  const question: UiMessage = { id: 'u1', role: 'user', parts: [{ type: 'text', text: `Show me the prices. ${directive.replace(']', ` tag=${tag}]`)}` }] };
  const response = await post(id, [question]);
  expect(response.status).toBe(200);
  return { question, chunks: chunksOf(await response.text()), tag };
}

/** The assistant message as useChat holds it after the paused stream, with the page's outputs added (addToolOutput). */
function answered(chunks: Chunk[], outputs: (call: Chunk) => Record<string, unknown>): UiMessage {
  const parts = chunks
    .filter((c) => c.type === 'tool-input-available')
    .map((c) => ({ type: 'dynamic-tool', toolCallId: c.toolCallId, toolName: c.toolName, input: c.input, providerExecuted: c.providerExecuted, ...(c.providerExecuted ? { state: 'input-available' } : outputs(c)) }));
  return { id: chunks[0]!.messageId as string, role: 'assistant', parts };
}

async function history(id: string): Promise<StoredUiMessage[]> {
  const response = await worker(`/api/ai-sdk/chat/${id}`, { headers: { origin: SITE } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { messages: StoredUiMessage[] }).messages;
}

describe('POST /api/ai-sdk/chat with an assistant\'s tools', () => {
  it('shows a call the Worker ran on the owner\'s endpoint as a provider-executed dynamic tool part, then the next step', async () => {
    const { chunks } = await ask(newChatId(), '[fake:tools call=lookup_order args={"order":"A-1"}]');
    const call = chunks.find((c) => c.type === 'tool-input-available')!;
    expect(call).toEqual({ type: 'tool-input-available', toolCallId: expect.stringMatching(/^call_/), toolName: 'lookup_order', input: { order: 'A-1' }, dynamic: true, providerExecuted: true });
    const result = chunks.find((c) => c.type === 'tool-output-available')!;
    expect(result).toEqual({ type: 'tool-output-available', toolCallId: call.toolCallId, output: { status: 'shipped', order: 'A-1' }, dynamic: true });
    // The answer after the results is a new step: useChat's "last step" then has no calls of the page's.
    const after = types(chunks).slice(types(chunks).indexOf('tool-output-available'));
    expect(after.slice(0, 4)).toEqual(['tool-output-available', 'finish-step', 'start-step', 'text-start']);
    expect(after.slice(-3)).toEqual(['text-end', 'finish-step', 'finish']);
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    expect(deltas(chunks)).toContain('lookup_order returned');
  });

  it('ends the stream at a page call, continues the same message from the follow-up that carries its output, and keeps it in the history', async () => {
    const id = newChatId();
    const { question, chunks, tag } = await ask(id, '[fake:tools call=show_section args={"section":"pricing"}]');
    const call = chunks.find((c) => c.type === 'tool-input-available')!;
    // Not provider-executed: useChat's onToolCall runs it.
    expect(call).toEqual({ type: 'tool-input-available', toolCallId: expect.stringMatching(/^call_/), toolName: 'show_section', input: { section: 'pricing' }, dynamic: true });
    expect(types(chunks).slice(-3)).toEqual(['tool-input-available', 'finish-step', 'finish']);
    expect(chunks.at(-1)).toEqual({ type: 'finish', finishReason: 'tool-calls' });
    expect(await fakeRequests(tag)).toHaveLength(1);

    const assistant = answered(chunks, () => ({ state: 'output-available', output: { shown: 'pricing' } }));
    const follow = await post(id, [question, assistant], { messageId: assistant.id });
    expect(follow.status).toBe(200);
    expect(follow.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    const more = chunksOf(await follow.text());
    expect(more[0]).toEqual({ type: 'start', messageId: assistant.id });
    expect(more[1]).toEqual({ type: 'tool-output-available', toolCallId: call.toolCallId, output: { shown: 'pricing' }, dynamic: true });
    expect(types(more).slice(2, 5)).toEqual(['finish-step', 'start-step', 'text-start']);
    expect(more.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop', messageMetadata: { finishReason: 'STOP' } });
    expect(deltas(more)).toContain('[fake] show_section returned {"output":{"shown":"pricing"}}');

    const records = await fakeRequests(tag);
    expect(records).toHaveLength(2);
    expect(records[1]!.body.contents.at(-1)).toEqual({ role: 'user', parts: [{ functionResponse: { id: records[0]!.functionCalls[0]!.id, name: 'show_section', response: { output: { shown: 'pricing' } } } }] });

    const [, stored] = await history(id);
    expect(stored).toMatchObject({ id: assistant.id, role: 'assistant', metadata: { status: 'complete' } });
    expect(stored!.parts).toEqual([
      { type: 'dynamic-tool', toolCallId: call.toolCallId, toolName: 'show_section', input: { section: 'pricing' }, state: 'output-available', output: { shown: 'pricing' } },
      { type: 'step-start' },
      { type: 'text', text: deltas(more), state: 'done' },
    ]);
  });

  it('pauses again at a second step\'s page call, and takes from each follow-up only its last step\'s outputs', async () => {
    const id = newChatId();
    const { question, chunks, tag } = await ask(id, '[fake:tools call=show_section rounds=2]');
    const first = answered(chunks, () => ({ state: 'output-available', output: 'one' }));
    const second = chunksOf(await (await post(id, [question, first])).text());
    // The first step's result, then a new step with the next call, and the stream ends there again.
    expect(types(second)).toEqual(['start', 'tool-output-available', 'finish-step', 'start-step', 'tool-input-available', 'finish-step', 'finish']);
    expect(second.at(-1)).toEqual({ type: 'finish', finishReason: 'tool-calls' });
    expect(await fakeRequests(tag)).toHaveLength(2);
    // As useChat holds it now: the first call answered, a step-start, the second call with its output.
    const next = second.find((c) => c.type === 'tool-input-available')!;
    const both: UiMessage = {
      ...first,
      parts: [...first.parts, { type: 'step-start' }, { type: 'dynamic-tool', toolCallId: next.toolCallId, toolName: next.toolName, input: next.input, state: 'output-available', output: 'two' }],
    };
    const third = chunksOf(await (await post(id, [question, both])).text());
    expect(third[1]).toMatchObject({ type: 'tool-output-available', toolCallId: next.toolCallId, output: 'two' });
    expect(third.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    const records = await fakeRequests(tag);
    expect(records).toHaveLength(3);
    expect(records[2]!.body.contents.slice(-3).map((c) => c.role)).toEqual(['user', 'model', 'user']);
    const [, stored] = await history(id);
    expect(stored!.parts.map((p) => p.type)).toEqual(['dynamic-tool', 'dynamic-tool', 'step-start', 'text']);
  });

  it('gives the model the page\'s errorText as the call\'s error', async () => {
    const id = newChatId();
    const { question, chunks, tag } = await ask(id, '[fake:tools call=show_section]');
    const assistant = answered(chunks, () => ({ state: 'output-error', errorText: 'no such section' }));
    const more = chunksOf(await (await post(id, [question, assistant])).text());
    expect(more[1]).toMatchObject({ type: 'tool-output-error', errorText: 'no such section' });
    expect(more.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    const [asked, answering] = await fakeRequests(tag);
    expect(answering!.body.contents.at(-1)!.parts[0]).toEqual({ functionResponse: { id: asked!.functionCalls[0]!.id, name: 'show_section', response: { error: 'no such section' } } });
  });

  it('pauses a page call and an endpoint call of one step together, and sends only the page\'s output from the follow-up', async () => {
    const id = newChatId();
    const { question, chunks, tag } = await ask(id, '[fake:tools call=show_section,lookup_order parallel=2 args={"section":"pricing","order":"A-1"}]');
    const calls = chunks.filter((c) => c.type === 'tool-input-available');
    expect(calls.map((c) => [c.toolName, c.providerExecuted])).toEqual([['show_section', undefined], ['lookup_order', true]]);
    // The endpoint's result waits with the page's: the step's results go out together.
    expect(types(chunks)).not.toContain('tool-output-available');
    const more = chunksOf(await (await post(id, [question, answered(chunks, () => ({ state: 'output-available', output: 'shown' }))])).text());
    expect(more.filter((c) => c.type === 'tool-output-available').map((c) => c.output)).toEqual(['shown', { status: 'shipped', order: 'A-1' }]);
    expect((await fakeRequests(tag))[1]!.body.contents.at(-1)!.parts.map((p) => p.functionResponse?.name)).toEqual(['show_section', 'lookup_order']);
  });

  it('refuses a follow-up for no waiting call with a 409, and a malformed one with a 400 or 413, without calling Gemini', async () => {
    const id = newChatId();
    const { question, chunks, tag } = await ask(id, '[fake:tools call=show_section]');
    const call = chunks.find((c) => c.type === 'tool-input-available')!;
    const withPart = (part: Record<string, unknown>) => post(id, [question, { id: chunks[0]!.messageId as string, role: 'assistant', parts: [part] }]);
    const base = { type: 'dynamic-tool', toolCallId: call.toolCallId, toolName: 'show_section', input: call.input };
    const refusals: Array<[Record<string, unknown>, number, RegExp]> = [
      [{ ...base, toolCallId: 'call_unknown', state: 'output-available', output: 1 }, 409, /call_unknown/],
      [{ ...base, state: 'output-error', errorText: 42 }, 400, /parts\[0\]\.errorText must be a string/],
      // (Here MAX_BODY_BYTES, 64 KiB, is met before TOOLS_MAX_RESPONSE_BYTES: test/unit/ui-chat-request.test.ts has that rule.)
      [{ ...base, state: 'output-available', output: 'x'.repeat(70_000) }, 413, /request body must be at most/],
      [{ ...base, state: 'input-available' }, 400, /role must be "user".*outputs of its pending tool calls/],
      // A call the Worker ran is not the page's to answer.
      [{ ...base, state: 'output-available', output: 1, providerExecuted: true }, 400, /outputs of its pending tool calls/],
    ];
    for (const [part, status, message] of refusals) {
      const response = await withPart(part);
      expect(response.status, JSON.stringify(part).slice(0, 80)).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(message);
    }
    expect(await fakeRequests(tag)).toHaveLength(1);

    // The right one still continues the turn; sent again, it is stale.
    const right = { ...base, state: 'output-available', output: 'shown' };
    const more = chunksOf(await (await withPart(right)).text());
    expect(more.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    const stale = await withPart(right);
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ error: { code: 'invalid_request', message: expect.stringMatching(/no tool call of this chat is waiting/) } });
    expect(await fakeRequests(tag)).toHaveLength(2);
  });

  it('cancels the turn when the page sends no output within TOOLS_PAGE_TIMEOUT_MS, and answers 409 to a late one', async () => {
    const id = newChatId();
    const { question, chunks, tag } = await ask(id, '[fake:tools call=show_section]');
    // TOOLS_PAGE_TIMEOUT_MS (2000) passes with nobody listening (useChat's stream ended at the call).
    for (let i = 0; i < 80; i++) {
      const [, answer] = await history(id);
      if (answer?.metadata?.status !== 'streaming') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [, answer] = await history(id);
    expect(answer).toMatchObject({ metadata: { status: 'cancelled' } });
    expect(answer!.parts[0]).toMatchObject({ type: 'dynamic-tool', state: 'output-error', errorText: 'the turn was cancelled before the page answered' });
    const late = await post(id, [question, answered(chunks, () => ({ state: 'output-available', output: 'shown' }))]);
    expect(late.status).toBe(409);
    expect(await fakeRequests(tag)).toHaveLength(1);
  });
});

describe('the follow-up that carries the outputs is part of its turn', () => {
  const KEY = 'owner-key-for-tests-0123456789';
  /** One request a minute per client, and the dashboard on. */
  const LIMITED = { ...env, RATE_LIMIT_PER_MINUTE: '1', ADMIN_KEY: KEY } as Env;
  const call = (path: string, init: RequestInit = {}) =>
    app.fetch(new Request(`http://worker${path}`, { ...init, headers: { 'cf-connecting-ip': '203.0.113.77', origin: SITE, ...init.headers } }), LIMITED, createExecutionContext());
  const send = (id: string, messages: UiMessage[]) =>
    call('/api/ai-sdk/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, trigger: 'submit-message', messages }) });
  const requests = async () => ((await (await call('/admin/api/stats', { headers: { authorization: `Bearer ${KEY}` } })).json()) as StatsReport).total.requests;

  it('is not admitted as a new message, nor counted as another request: the client\'s one request a minute covers the whole turn', async () => {
    const id = newChatId();
    const question: UiMessage = { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Show me the prices [fake:tools call=show_section]' }] };
    const paused = chunksOf(await (await send(id, [question])).text());
    expect(paused.at(-1)).toEqual({ type: 'finish', finishReason: 'tool-calls' });
    const follow = await send(id, [question, answered(paused, () => ({ state: 'output-available', output: 'shown' }))]);
    expect(follow.status).toBe(200);
    expect(chunksOf(await follow.text()).at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    // The limit is on: the client's next message waits for the next minute.
    const next = await send(id, [question, { id: 'u2', role: 'user', parts: [{ type: 'text', text: 'Thanks' }] }]);
    expect(next.status).toBe(429);
    await next.text();
    // The dashboard's batch is written within a second or so: one request (the message), and the refused one.
    let counted = 0;
    for (const deadline = Date.now() + 10_000; counted < 2 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      counted = await requests();
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await requests()).toBe(2);
  });
});

describe('GET /api/ai-sdk/chat/:id/stream while the turn waits for the page', () => {
  it('replays the turn up to the page call and ends there, as the first stream did', async () => {
    const id = newChatId();
    const { chunks } = await ask(id, '[fake:tools call=show_section]');
    const resumed = await worker(`/api/ai-sdk/chat/${id}/stream`, { headers: { origin: SITE } });
    expect(resumed.status).toBe(200);
    expect(chunksOf(await resumed.text())).toEqual(chunks);
  });

  it('replays a page call answered already as provider-executed, so a reloaded page runs only the call still waiting', async () => {
    const id = newChatId();
    const { question, chunks } = await ask(id, '[fake:tools call=show_section rounds=2]');
    const first = chunks.find((c) => c.type === 'tool-input-available')!;
    const second = chunksOf(await (await post(id, [question, answered(chunks, () => ({ state: 'output-available', output: 'one' }))])).text());
    const next = second.find((c) => c.type === 'tool-input-available')!;
    const resumed = chunksOf(await (await worker(`/api/ai-sdk/chat/${id}/stream`, { headers: { origin: SITE } })).text());
    expect(resumed.filter((c) => c.type === 'tool-input-available').map((c) => [c.toolCallId, c.providerExecuted])).toEqual([
      [first.toolCallId, true],
      [next.toolCallId, undefined],
    ]);
    expect(types(resumed)).toEqual(['start', 'tool-input-available', 'tool-output-available', 'finish-step', 'start-step', 'tool-input-available', 'finish-step', 'finish']);
  });
});
