import { evictDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { CHAT_PREFIX } from '../../src/observability/request-log';
import type { ChatSnapshot } from '../../src/protocol/messages';
import { fakeRequests, uniqueTag, type FakeRecord } from '../fake-gemini';
import { joinedText, parseSse, type Frame } from '../sse';

/**
 * An assistant's tools on its owner's endpoint (docs/assistants.md, "Tools"): the fixture
 * `tools-site` (test/fixtures/assistants/tools-site) declares tools whose endpoints are paths of a
 * local owner server (test/fake/tool-owner.ts); the chat's Durable Object runs the loop against
 * the fake Gemini, which calls the tools (`[fake:tools …]`, by default the first one) and answers
 * from their results (`[fake] <name> returned <json>`). TOOLS_TIMEOUT_MS 1500, TOOLS_MAX_ROUNDS 2
 * and TOOLS_SIGNING_SECRET come from vitest.config.ts.
 */

/** A call the owner endpoint received (test/fake/tool-owner.ts, which the Worker's types do not see). */
interface ReceivedCall {
  path: string;
  signature: string | null;
  contentType: string | null;
  body: string;
}

const SITE = 'https://tools.example';
const SECRET = 'tools-test-secret';

const worker = (path: string, init: RequestInit = {}) => exports.default.fetch(`http://worker${path}`, init);
const post = (path: string, body: unknown) =>
  worker(path, { method: 'POST', headers: { 'content-type': 'application/json', origin: SITE }, body: JSON.stringify(body) });

async function createChat(): Promise<string> {
  const response = await post('/api/chats', {});
  expect(response.status).toBe(201);
  const chat = (await response.json()) as ChatSnapshot;
  expect(chat.assistant).toBe('tools-site');
  return chat.id;
}

/** A message with a directive and a tag that finds every step's request in the fake's record. */
function prompt(directive = '[fake:tools]'): { text: string; tag: string } {
  const tag = uniqueTag();
  return { text: `Where is my order? ${directive.replace(']', ` tag=${tag}]`)}`, tag };
}

async function turn(id: string, directive?: string): Promise<{ frames: Frame[]; records: FakeRecord[]; tag: string }> {
  const { text, tag } = prompt(directive);
  const response = await post(`/api/chats/${id}/messages`, { message: text });
  expect(response.status).toBe(200);
  const frames = parseSse(await response.text());
  return { frames, records: await fakeRequests(tag), tag };
}

const kinds = (frames: Frame[]) => frames.filter((f) => f.event !== undefined).map((f) => f.event);
const toolFrames = (frames: Frame[], event: 'tool-call' | 'tool-result') =>
  frames.filter((f) => f.event === event).map((f) => f.data as { toolCallId: string; name: string; args?: Record<string, unknown>; result?: unknown; error?: string });

/** The calls the owner endpoint received for these call ids. */
async function received(callIds: string[]): Promise<ReceivedCall[]> {
  const all = (await (await fetch(`${inject('toolOwnerUrl')}/received`)).json()) as ReceivedCall[];
  return all.filter((call) => callIds.includes((JSON.parse(call.body) as { callId: string }).callId));
}

/** What the owner computes to check a call: HMAC-SHA256 of the raw body under the shared secret, hex. */
async function expectedSignature(body: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(body)));
  return `sha256=${[...mac].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

describe('an assistant tool on its owner endpoint', () => {
  it('calls the endpoint, signed, sends the result back, and streams tool-call, tool-result, text, done in order', async () => {
    const id = await createChat();
    const { frames, records } = await turn(id, '[fake:tools args={"order":"A-1001"}]');
    expect(kinds(frames)).toEqual(['tool-call', 'tool-result', ...Array(kinds(frames).length - 3).fill('text'), 'done']);
    const [call] = toolFrames(frames, 'tool-call');
    expect(call).toEqual({ toolCallId: expect.stringMatching(/^call_/), name: 'lookup_order', args: { order: 'A-1001' } });
    const [result] = toolFrames(frames, 'tool-result');
    expect(result).toEqual({ toolCallId: call!.toolCallId, name: 'lookup_order', result: { status: 'shipped', order: 'A-1001' } });
    // The ids count up across the turn's frames, tool frames included.
    const ids = frames.map((f) => Number(f.id));
    expect(ids).toEqual(ids.map((_, i) => ids[0]! + i));

    // The owner's endpoint got the signed request.
    const [got] = await received([call!.toolCallId]);
    expect(got!.path).toBe('/ok');
    expect(got!.contentType).toBe('application/json');
    const body = JSON.parse(got!.body) as Record<string, unknown>;
    expect(body).toEqual({ name: 'lookup_order', arguments: { order: 'A-1001' }, chat: id.slice(0, CHAT_PREFIX), callId: call!.toolCallId });
    expect(got!.signature).toBe(await expectedSignature(got!.body));
    expect(got!.signature).not.toBe(await expectedSignature(got!.body.replace('A-1001', 'A-1002')));

    // Two steps: the call (tools declared as JSON Schema), then the answer from the result.
    expect(records).toHaveLength(2);
    const [first, second] = records as [FakeRecord, FakeRecord];
    expect(first.tools).toEqual([
      {
        functionDeclarations: expect.arrayContaining([
          {
            name: 'lookup_order',
            description: 'Looks up an order of the shop by its number.',
            parametersJsonSchema: { type: 'object', properties: { order: { type: 'string', description: 'The order number, like A-1001.' } }, required: ['order'] },
          },
        ]),
      },
    ]);
    // Gemini 3 gives each call an id of its own, which goes back on the call and on its response.
    expect(first.functionCalls).toEqual([{ id: expect.stringMatching(/^[\w-]+$/), name: 'lookup_order', args: { order: 'A-1001' }, thoughtSignature: expect.any(String) }]);
    // The second step sends the call back with its signature exactly as received, then the result.
    const sent = second.body.contents.slice(-2);
    expect(sent[0]!.role).toBe('model');
    const geminiId = first.functionCalls[0]!.id;
    expect(sent[0]!.parts.find((p) => p.functionCall)).toEqual({ functionCall: { id: geminiId, name: 'lookup_order', args: { order: 'A-1001' } }, thoughtSignature: first.functionCalls[0]!.thoughtSignature });
    expect(sent[1]).toEqual({ role: 'user', parts: [{ functionResponse: { id: geminiId, name: 'lookup_order', response: { output: { status: 'shipped', order: 'A-1001' } } } }] });
    const text = joinedText(frames);
    expect(text.startsWith('[fake] lookup_order returned {"output":{"status":"shipped","order":"A-1001"}}\n')).toBe(true);
    expect(text).toBe(second.sentText);

    // Stored as parts of the answer; the snapshot shows its text and its tool steps (no signature).
    const snapshot = (await (await worker(`/api/chats/${id}`)).json()) as ChatSnapshot;
    expect(snapshot.messages.at(-1)).toMatchObject({ role: 'model', status: 'complete', text });
    expect(snapshot.messages.at(-1)!.tools).toEqual([{ toolCallId: call!.toolCallId, name: 'lookup_order', args: { order: 'A-1001' }, result: { status: 'shipped', order: 'A-1001' } }]);
  });

  it('runs a step\'s parallel calls together, and answers each', async () => {
    const id = await createChat();
    const started = Date.now();
    const { frames, records } = await turn(id, '[fake:tools call=delayed_lookup parallel=3]');
    // Three 400 ms calls took about 400 ms, not 1200: they ran together.
    expect(Date.now() - started).toBeLessThan(1100);
    expect(kinds(frames).slice(0, 6)).toEqual(['tool-call', 'tool-call', 'tool-call', 'tool-result', 'tool-result', 'tool-result']);
    const calls = toolFrames(frames, 'tool-call');
    const results = toolFrames(frames, 'tool-result');
    expect(results.map((r) => r.toolCallId)).toEqual(calls.map((c) => c.toolCallId));
    expect(results.map((r) => r.result)).toEqual([1, 2, 3].map((i) => ({ status: 'packed', order: `order ${i}` })));
    const got = await received(calls.map((c) => c.toolCallId));
    expect(got).toHaveLength(3);
    const [, second] = records as [FakeRecord, FakeRecord];
    expect(second.body.contents.at(-1)!.parts).toHaveLength(3);
    expect(joinedText(frames).split('\n').filter((l) => l.startsWith('[fake] delayed_lookup returned'))).toHaveLength(3);
    expect(kinds(frames).at(-1)).toBe('done');
  });

  it('sends an earlier turn\'s calls and results back on the next turn, the signature included', async () => {
    const id = await createChat();
    const first = await turn(id, '[fake:tools args={"order":"A-7"}]');
    const signature = first.records[0]!.functionCalls[0]!.thoughtSignature;
    expect(signature).toEqual(expect.any(String));
    const second = await turn(id, '[fake:tools args={"order":"A-8"}]');
    expect(kinds(second.frames).at(-1)).toBe('done');
    const history = second.records[0]!.body.contents;
    // user, model (the call), user (the result), model (the answer), user (the new message).
    expect(history.map((c) => c.role)).toEqual(['user', 'model', 'user', 'model', 'user']);
    const geminiId = first.records[0]!.functionCalls[0]!.id;
    expect(history[1]!.parts.find((p) => p.functionCall)).toEqual({ functionCall: { id: geminiId, name: 'lookup_order', args: { order: 'A-7' } }, thoughtSignature: signature });
    expect(history[2]!.parts).toEqual([{ functionResponse: { id: geminiId, name: 'lookup_order', response: { output: { status: 'shipped', order: 'A-7' } } } }]);
    expect(history[3]!.parts.map((p) => p.text ?? '').join('')).toBe(joinedText(first.frames));
    expect(second.records[0]!.signaturesReturned).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['slow_lookup', /did not answer within 1500 ms/],
    ['big_lookup', /more than 65536 bytes/],
    ['garbled_lookup', /not JSON/],
    ['broken_lookup', /HTTP 503/],
    ['moved_lookup', /redirected \(HTTP 302\)/],
  ])('makes a failing endpoint (%s) an error result the model answers from, and the turn ends with done', async (name, message) => {
    const id = await createChat();
    const { frames, records } = await turn(id, `[fake:tools call=${name}]`);
    const [result] = toolFrames(frames, 'tool-result');
    expect(result!.name).toBe(name);
    expect(result!.result).toBeUndefined();
    expect(result!.error).toMatch(message);
    expect(kinds(frames).at(-1)).toBe('done');
    // The model got the error as the call's result.
    expect(records.at(-1)!.body.contents.at(-1)!.parts[0]).toEqual({ functionResponse: { id: records[0]!.functionCalls[0]!.id, name, response: { error: result!.error } } });
    expect(joinedText(frames)).toContain(`[fake] ${name} returned {"error":`);
  });

  it('ends a turn whose model could not make its call (MALFORMED_FUNCTION_CALL) with the error tool_call_failed, stored as failed', async () => {
    const id = await createChat();
    const { frames } = await turn(id, '[fake:tools finish=MALFORMED_FUNCTION_CALL]');
    expect(kinds(frames)).toEqual(['error']);
    expect(frames[0]!.data).toEqual({ error: { code: 'tool_call_failed', message: expect.stringContaining('MALFORMED_FUNCTION_CALL') } });
    const snapshot = (await (await worker(`/api/chats/${id}`)).json()) as ChatSnapshot;
    expect(snapshot.messages.at(-1)).toMatchObject({ role: 'model', status: 'failed', error: { code: 'tool_call_failed' } });
  });

  it('past TOOLS_MAX_ROUNDS asks the model once more with its tools off, and it answers', async () => {
    const id = await createChat();
    const { frames, records } = await turn(id, '[fake:tools rounds=9]');
    expect(toolFrames(frames, 'tool-call')).toHaveLength(2);
    expect(toolFrames(frames, 'tool-result')).toHaveLength(2);
    expect(records).toHaveLength(3);
    expect(records.map((r) => (r.toolConfig as { functionCallingConfig: { mode: string } }).functionCallingConfig.mode)).toEqual(['AUTO', 'AUTO', 'NONE']);
    expect(records[2]!.functionCalls).toEqual([]);
    expect(kinds(frames).at(-1)).toBe('done');
    expect(joinedText(frames)).toContain('[fake] lookup_order returned');
    // The usage of all three steps.
    const usage = (frames.at(-1)!.data as { usage: { promptTokenCount: number } }).usage;
    expect(usage.promptTokenCount).toBeGreaterThan(0);
  });

  it('replays the tool frames to a client that resumes mid-loop, and from the stored frames after the turn', async () => {
    const id = await createChat();
    const { text } = prompt('[fake:tools call=delayed_lookup]');
    const live = await post(`/api/chats/${id}/messages`, { message: text });
    const reader = live.body!.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    while (!seen.includes('event: tool-call')) seen += decoder.decode((await reader.read()).value, { stream: true });
    // The endpoint takes 400 ms: the loop is waiting for it. A second client resumes from the start.
    const resumed = await worker(`/api/chats/${id}/stream`, { headers: { 'last-event-id': '0' } });
    expect(resumed.status).toBe(200);
    const replayed = parseSse(await resumed.text());
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
    }
    const frames = parseSse(seen);
    expect(replayed).toEqual(frames);
    expect(kinds(frames).slice(0, 2)).toEqual(['tool-call', 'tool-result']);
    // After the turn: from the tool call's id, the rest; and the same from storage once the object restarts.
    const after = await worker(`/api/chats/${id}/stream`, { headers: { 'last-event-id': frames[0]!.id! } });
    expect(parseSse(await after.text())).toEqual(frames.slice(1));
    await evictDurableObject(env.CHAT_ROOMS.get(env.CHAT_ROOMS.idFromString(id)));
    const stored = await worker(`/api/chats/${id}/stream`, { headers: { 'last-event-id': '0' } });
    expect(parseSse(await stored.text())).toEqual(frames);
  });
});
