import { evictDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ChatSnapshot } from '../../src/protocol/messages';
import { fakeRequests, fakeUrl, uniqueTag, type FakeRecord } from '../fake-gemini';
import { joinedText, parseSse, type Frame } from '../sse';

/**
 * Gemini's built-in tools, switched on per assistant (`geminiTools`, docs/assistants.md): the
 * fixture `builtin-site` (test/fixtures/assistants/builtin-site) switches on code execution, URL
 * context and Google Search; `combo-site` has a function on the owner's endpoint and code
 * execution; `shop` has none. The fake Gemini runs code for `[fake:code]` only when
 * `codeExecution` is declared, reports the prompt's URLs when `urlContext` is, and refuses code
 * parts sent back in the wrong shape (docs/fake-gemini.md, "Built-in tools").
 */

const BUILTIN = 'https://builtin.example';

const worker = (path: string, init: RequestInit = {}) => exports.default.fetch(`http://worker${path}`, init);
const post = (path: string, body: unknown, origin: string) =>
  worker(path, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify(body) });

async function createChat(origin: string, assistant: string): Promise<string> {
  const response = await post('/api/chats', {}, origin);
  expect(response.status).toBe(201);
  const chat = (await response.json()) as ChatSnapshot;
  expect(chat.assistant).toBe(assistant);
  return chat.id;
}

/** One turn: the message with the directive tagged, its frames and the fake's records of it. */
async function turn(id: string, origin: string, message: string, directive = '[fake:reply]'): Promise<{ frames: Frame[]; records: FakeRecord[] }> {
  const tag = uniqueTag();
  const response = await post(`/api/chats/${id}/messages`, { message: `${message} ${directive.replace(']', ` tag=${tag}]`)}` }, origin);
  expect(response.status).toBe(200);
  const frames = parseSse(await response.text());
  return { frames, records: await fakeRequests(tag) };
}

const kinds = (frames: Frame[]) => frames.filter((f) => f.event !== undefined).map((f) => f.event);
const dataOf = (frames: Frame[], event: string) => frames.filter((f) => f.event === event).map((f) => f.data as Record<string, unknown>);

/** A request straight to the fake Gemini, as the SDK sends it. */
async function askFake(body: unknown): Promise<{ status: number; message?: string }> {
  const response = await fetch(`${fakeUrl()}/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': 'test-key-not-secret' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, ...(response.ok ? {} : { message: (JSON.parse(text) as { error: { message: string } }).error.message }) };
}

describe("an assistant's built-in tools", () => {
  it('are declared to Gemini only for the assistant that switched them on', async () => {
    const builtin = await turn(await createChat(BUILTIN, 'builtin-site'), BUILTIN, 'Hello');
    expect(builtin.records).toHaveLength(1);
    expect(builtin.records[0]!.tools).toEqual([{ codeExecution: {} }, { urlContext: {} }, { googleSearch: {} }]);
    // Built-ins alone need no toolConfig: the flag is for mixing them with functions.
    expect(builtin.records[0]!.toolConfig).toBeNull();
    expect(builtin.records[0]!.builtins).toEqual(['codeExecution', 'urlContext', 'googleSearch']);

    const shop = await turn(await createChat('https://shop.example', 'shop'), 'https://shop.example', 'Hello');
    expect(shop.records[0]!.tools).toBeNull();
    expect(shop.records[0]!.toolConfig).toBeNull();
  });

  it("runs no code for an assistant without codeExecution, nor on the stateless route, which declares no built-in tools", async () => {
    const shop = await turn(await createChat('https://shop.example', 'shop'), 'https://shop.example', 'Sum 1 to 10', '[fake:code]');
    expect(kinds(shop.frames)).not.toContain('tool-call');
    expect(shop.records[0]!.builtinParts).toEqual([]);

    const tag = uniqueTag();
    const stateless = await post('/api/chat/stream', { message: `Sum 1 to 10 [fake:code tag=${tag}]` }, BUILTIN);
    expect(stateless.status).toBe(200);
    const frames = parseSse(await stateless.text());
    expect(kinds(frames).filter((k) => k !== 'text')).toEqual(['done']);
    const [record] = await fakeRequests(tag);
    expect(record!.tools).toBeNull();
    expect(record!.builtinParts).toEqual([]);
  });

  it('streams code execution as tool-call and tool-result frames run by Gemini, stores them, and runs nothing itself', async () => {
    const id = await createChat(BUILTIN, 'builtin-site');
    const { frames, records } = await turn(id, BUILTIN, 'What is the sum of 1 to 10?', '[fake:code]');
    // One request: Gemini ran the code within its answer; the Worker had nothing to run or ask again.
    expect(records).toHaveLength(1);
    const [code, result] = records[0]!.builtinParts as [{ executableCode: { language: string; code: string } }, { codeExecutionResult: { outcome: string; output: string } }];
    expect(kinds(frames)).toEqual(['tool-call', 'tool-result', ...Array(kinds(frames).length - 3).fill('text'), 'done']);
    const [call] = dataOf(frames, 'tool-call');
    expect(call).toEqual({ toolCallId: expect.stringMatching(/^call_/), name: 'code_execution', args: { language: 'PYTHON', code: code.executableCode.code }, runsOn: 'gemini' });
    expect(dataOf(frames, 'tool-result')).toEqual([
      { toolCallId: call!.toolCallId, name: 'code_execution', result: { outcome: 'OUTCOME_OK', output: result.codeExecutionResult.output }, runsOn: 'gemini' },
    ]);
    expect(joinedText(frames).startsWith(`[fake] the code printed ${JSON.stringify(result.codeExecutionResult.output)}\n`)).toBe(true);
    // The ids count up across the turn's frames, tool frames included.
    const ids = frames.map((f) => Number(f.id));
    expect(ids).toEqual(ids.map((_, i) => ids[0]! + i));

    const snapshot = (await (await worker(`/api/chats/${id}`)).json()) as ChatSnapshot;
    expect(snapshot.messages.at(-1)).toMatchObject({ role: 'model', status: 'complete', text: joinedText(frames) });
    expect(snapshot.messages.at(-1)!.tools).toEqual([
      { toolCallId: call!.toolCallId, name: 'code_execution', args: { language: 'PYTHON', code: code.executableCode.code }, result: { outcome: 'OUTCOME_OK', output: result.codeExecutionResult.output }, runsOn: 'gemini' },
    ]);

    // Resumable like any frame: from memory, and from storage once the object restarts.
    const replayed = await worker(`/api/chats/${id}/stream`, { headers: { 'last-event-id': String(Number(frames[0]!.id) - 1) } });
    expect(parseSse(await replayed.text())).toEqual(frames);
    await evictDurableObject(env.CHAT_ROOMS.get(env.CHAT_ROOMS.idFromString(id)));
    const stored = await worker(`/api/chats/${id}/stream`, { headers: { 'last-event-id': '0' } });
    expect(parseSse(await stored.text())).toEqual(frames);
  });

  it("sends a code step back on the next turn as the model's executableCode and codeExecutionResult parts, signature included", async () => {
    const id = await createChat(BUILTIN, 'builtin-site');
    const first = await turn(id, BUILTIN, 'What is the sum of 1 to 10?', '[fake:code]');
    const [code, result] = first.records[0]!.builtinParts;
    // Gemini 3 signs the code part (docs/fake-gemini.md): it must come back exactly as it came.
    expect(code).toEqual({ executableCode: expect.any(Object), thoughtSignature: expect.any(String) });

    const second = await turn(id, BUILTIN, 'And doubled?');
    expect(kinds(second.frames).at(-1)).toBe('done');
    const contents = second.records[0]!.body.contents;
    expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    const answer = contents[1]!.parts;
    expect(answer.slice(0, 2)).toEqual([code, result]);
    expect(answer.slice(2).every((p) => typeof p.text === 'string')).toBe(true);
    expect(JSON.stringify(contents)).not.toMatch(/functionCall|functionResponse/);
    expect(second.records[0]!.signaturesReturned).toBeGreaterThanOrEqual(1);
  });

  it('takes a code step back in the model\'s turn, and refuses a tool entry with a field Gemini\'s Tool lacks', async () => {
    const user = { role: 'user', parts: [{ text: 'Sum 1 to 10' }] };
    const code = { executableCode: { language: 'PYTHON', code: 'print(55)' } };
    const result = { codeExecutionResult: { outcome: 'OUTCOME_OK', output: '55\n' } };
    const again = { role: 'user', parts: [{ text: 'And doubled?' }] };
    expect((await askFake({ contents: [user, { role: 'model', parts: [code, result, { text: '55' }] }, again] })).status).toBe(200);
    // A tool entry with a field Gemini's Tool does not have.
    expect(await askFake({ contents: [user], tools: [{ code_interpreter: {} }] })).toEqual({ status: 400, message: "Invalid JSON payload received. Unknown name \"code_interpreter\" at 'tools[0]': Cannot find field." });
  });

  it("adds the pages URL context retrieved to done's sources, and leaves out the ones it could not", async () => {
    const id = await createChat(BUILTIN, 'builtin-site');
    const { frames, records } = await turn(id, BUILTIN, 'Summarise https://example.com/teas and https://example.org/unreachable-page.');
    expect(records[0]!.urlMetadata).toEqual([
      { retrievedUrl: 'https://example.com/teas', urlRetrievalStatus: 'URL_RETRIEVAL_STATUS_SUCCESS' },
      { retrievedUrl: 'https://example.org/unreachable-page', urlRetrievalStatus: 'URL_RETRIEVAL_STATUS_ERROR' },
    ]);
    const [done] = dataOf(frames, 'done');
    expect(done!.sources).toEqual([{ title: 'example.com', url: 'https://example.com/teas' }]);
    // What the pages cost is reported as tool-use prompt tokens.
    expect((done!.usage as { toolUsePromptTokenCount?: number }).toolUsePromptTokenCount).toBeGreaterThan(0);
    const snapshot = (await (await worker(`/api/chats/${id}`)).json()) as ChatSnapshot;
    expect(snapshot.messages.at(-1)!.sources).toEqual([{ title: 'example.com', url: 'https://example.com/teas' }]);
  });

  it("sets includeServerSideToolInvocations for an assistant with functions and built-in tools, and its function loop still runs", async () => {
    const origin = 'https://combo.example';
    const id = await createChat(origin, 'combo-site');
    const { frames, records } = await turn(id, origin, 'Where is order A-1?', '[fake:tools args={"order":"A-1"}]');
    expect(kinds(frames).slice(0, 2)).toEqual(['tool-call', 'tool-result']);
    expect(dataOf(frames, 'tool-call')[0]).not.toHaveProperty('runsOn');
    expect(kinds(frames).at(-1)).toBe('done');
    expect(records).toHaveLength(2);
    for (const record of records) {
      expect(record.tools).toEqual([{ functionDeclarations: [expect.objectContaining({ name: 'lookup_order' })] }, { codeExecution: {} }, { urlContext: {} }]);
    }
    // Auto: Gemini's default mode, as the tool-combination guide sends it.
    expect(records[0]!.toolConfig).toEqual({ includeServerSideToolInvocations: true });
    // Without the flag Gemini refuses the mix.
    const refused = await askFake({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }], tools: records[0]!.tools });
    expect(refused).toEqual({ status: 400, message: 'Please enable tool_config.include_server_side_tool_invocations to use Built-in tools with Function calling.' });
  });

  it("records the server-side toolCall and toolResponse Gemini shows with the flag as its own step, and sends them back with their id", async () => {
    const origin = 'https://combo.example';
    const id = await createChat(origin, 'combo-site');
    // rounds=0: the model calls no function this time, it reads the page.
    const first = await turn(id, origin, 'What does https://example.com/menu say?', '[fake:reply rounds=0]');
    expect(kinds(first.frames).slice(0, 2)).toEqual(['tool-call', 'tool-result']);
    // As Gemini 3 shows them: `toolType` and `id` only, each part signed (pydantic-ai-file-search-gemini3-stream.sse).
    const [toolCall, toolResponse] = first.records[0]!.builtinParts as [{ toolCall: { id: string }; thoughtSignature: string }, { toolResponse: { id: string }; thoughtSignature: string }];
    expect(toolCall).toEqual({ toolCall: { toolType: 'URL_CONTEXT', id: expect.any(String) }, thoughtSignature: expect.any(String) });
    expect(dataOf(first.frames, 'tool-call')).toEqual([{ toolCallId: toolCall.toolCall.id, name: 'url_context', args: {}, runsOn: 'gemini' }]);
    expect(dataOf(first.frames, 'tool-result')).toEqual([{ toolCallId: toolCall.toolCall.id, name: 'url_context', result: null, runsOn: 'gemini' }]);
    expect(dataOf(first.frames, 'done')[0]!.sources).toEqual([{ title: 'example.com', url: 'https://example.com/menu' }]);
    // Nothing for the owner's endpoint to run: one request, no function step.
    expect(first.records).toHaveLength(1);

    const second = await turn(id, origin, 'Thanks', '[fake:reply rounds=0]');
    const contents = second.records[0]!.body.contents;
    expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    // Sent back exactly as they came, signatures included.
    expect(contents[1]!.parts.slice(0, 2)).toEqual([toolCall, toolResponse]);
    expect(second.records[0]!.signaturesReturned).toBeGreaterThanOrEqual(2);
  });
});
