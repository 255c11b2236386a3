import { evictDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ChatSnapshot } from '../../src/protocol/messages';
import { fakeRequests, uniqueTag } from '../fake-gemini';
import { joinedText, parseSse, type Frame } from '../sse';

/**
 * An assistant's page-side tools (`runs: page`, docs/assistants.md "Tools that run in the page"):
 * the fixture `tools-site` declares `show_section`; the chat's Durable Object streams its call
 * with `"runsOn":"page"`, waits for `POST /api/chats/:id/tool-results`, then asks the fake Gemini
 * again. TOOLS_PAGE_TIMEOUT_MS 2000 and RESUME_GRACE_MS 500 come from vitest.config.ts.
 */

const SITE = 'https://tools.example';
const worker = (path: string, init: RequestInit = {}) => exports.default.fetch(`http://worker${path}`, init);
const post = (path: string, body: unknown) =>
  worker(path, { method: 'POST', headers: { 'content-type': 'application/json', origin: SITE }, body: JSON.stringify(body) });

type ToolFrame = { toolCallId: string; name: string; args?: Record<string, unknown>; runsOn?: string; result?: unknown; error?: string };

async function createChat(): Promise<string> {
  const response = await post('/api/chats', {});
  expect(response.status).toBe(201);
  return ((await response.json()) as ChatSnapshot).id;
}

/** Reads a live SSE stream frame by frame: `until` waits for a frame, `rest` reads to the end. */
function sseReader(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let frames: Frame[] = [];
  const take = () => {
    const cut = buffer.lastIndexOf('\n\n');
    if (cut < 0) return;
    frames = frames.concat(parseSse(buffer.slice(0, cut + 2)));
    buffer = buffer.slice(cut + 2);
  };
  return {
    get frames() {
      return frames;
    },
    async until(check: (frame: Frame) => boolean): Promise<Frame> {
      for (;;) {
        const found = frames.find(check);
        if (found) return found;
        const { done, value } = await reader.read();
        if (done) throw new Error(`the stream ended first: ${JSON.stringify(frames)}`);
        buffer += decoder.decode(value, { stream: true });
        take();
      }
    },
    async rest(): Promise<Frame[]> {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
      }
      take();
      return frames;
    },
    cancel: () => reader.cancel(),
  };
}

async function startTurn(id: string, directive: string) {
  const tag = uniqueTag();
  const response = await post(`/api/chats/${id}/messages`, { message: `Show me the prices. ${directive.replace(']', ` tag=${tag}]`)}` });
  expect(response.status).toBe(200);
  return { stream: sseReader(response), tag };
}

const isPageCall = (frame: Frame) => frame.event === 'tool-call' && (frame.data as ToolFrame).runsOn === 'page';
const kinds = (frames: Frame[]) => frames.filter((f) => f.event !== undefined).map((f) => f.event);
const results = (id: string, body: unknown) => post(`/api/chats/${id}/tool-results`, body);

describe('an assistant tool that runs in the page', () => {
  it('streams the call marked runsOn page, waits for the page\'s result, and answers from it', async () => {
    const id = await createChat();
    const { stream, tag } = await startTurn(id, '[fake:tools call=show_section args={"section":"pricing"}]');
    const call = (await stream.until(isPageCall)).data as ToolFrame;
    expect(call).toEqual({ toolCallId: expect.stringMatching(/^call_/), name: 'show_section', args: { section: 'pricing' }, runsOn: 'page' });
    // Only the first step has reached Gemini: the turn waits.
    expect(await fakeRequests(tag)).toHaveLength(1);

    const delivered = await results(id, { results: [{ toolCallId: call.toolCallId, result: { shown: 'pricing' } }] });
    expect(delivered.status).toBe(200);
    expect(await delivered.json()).toEqual({ accepted: 1 });

    const frames = await stream.rest();
    expect(kinds(frames)).toEqual(['tool-call', 'tool-result', ...Array(kinds(frames).length - 3).fill('text'), 'done']);
    expect(frames[1]!.data).toEqual({ toolCallId: call.toolCallId, name: 'show_section', result: { shown: 'pricing' }, runsOn: 'page' });
    const records = await fakeRequests(tag);
    expect(records).toHaveLength(2);
    // With the id Gemini 3 gave the call.
    expect(records[1]!.body.contents.at(-1)).toEqual({ role: 'user', parts: [{ functionResponse: { id: records[0]!.functionCalls[0]!.id, name: 'show_section', response: { output: { shown: 'pricing' } } } }] });
    expect(records[1]!.functionResponseIds).toEqual([expect.stringMatching(/^[\w-]+$/)]);
    expect(joinedText(frames)).toContain('[fake] show_section returned {"output":{"shown":"pricing"}}');

    const snapshot = (await (await worker(`/api/chats/${id}`)).json()) as ChatSnapshot;
    expect(snapshot.messages.at(-1)).toMatchObject({ role: 'model', status: 'complete' });
    expect(snapshot.messages.at(-1)!.tools).toEqual([{ toolCallId: call.toolCallId, name: 'show_section', args: { section: 'pricing' }, runsOn: 'page', result: { shown: 'pricing' } }]);
  });

  it('takes a result the page sends while Gemini\'s step is still streaming after the call', async () => {
    const id = await createChat();
    // The closing event comes 600 ms after the call: the page answers before the step has ended.
    const { stream, tag } = await startTurn(id, '[fake:tools call=show_section delay=600]');
    const call = (await stream.until(isPageCall)).data as ToolFrame;
    const delivered = await results(id, { results: [{ toolCallId: call.toolCallId, result: { shown: 'early' } }] });
    expect(delivered.status).toBe(200);
    expect(await fakeRequests(tag)).toHaveLength(1);
    const frames = await stream.rest();
    expect(frames.find((f) => f.event === 'tool-result')!.data).toEqual({ toolCallId: call.toolCallId, name: 'show_section', result: { shown: 'early' }, runsOn: 'page' });
    const [asked, answered] = await fakeRequests(tag);
    expect(answered!.body.contents.at(-1)!.parts[0]).toEqual({ functionResponse: { id: asked!.functionCalls[0]!.id, name: 'show_section', response: { output: { shown: 'early' } } } });
    expect(kinds(frames).at(-1)).toBe('done');
  });

  it('gives the model the page\'s error as the call\'s result', async () => {
    const id = await createChat();
    const { stream, tag } = await startTurn(id, '[fake:tools call=show_section]');
    const call = (await stream.until(isPageCall)).data as ToolFrame;
    expect((await results(id, { results: [{ toolCallId: call.toolCallId, error: 'the page has no handler for "show_section"' }] })).status).toBe(200);
    const frames = await stream.rest();
    expect(frames.find((f) => f.event === 'tool-result')!.data).toEqual({ toolCallId: call.toolCallId, name: 'show_section', error: 'the page has no handler for "show_section"', runsOn: 'page' });
    const [asked, answered] = await fakeRequests(tag);
    expect(answered!.body.contents.at(-1)!.parts[0]).toEqual({ functionResponse: { id: asked!.functionCalls[0]!.id, name: 'show_section', response: { error: 'the page has no handler for "show_section"' } } });
    expect(kinds(frames).at(-1)).toBe('done');
  });

  it('refuses bad deliveries with a 4xx and changes nothing: the right one still works after them', async () => {
    const id = await createChat();
    // Nothing waits yet: no turn at all.
    const early = await results(id, { results: [{ toolCallId: 'call_x', result: 1 }] });
    expect(early.status).toBe(409);
    expect(((await early.json()) as { error: { code: string } }).error.code).toBe('invalid_request');

    const { stream, tag } = await startTurn(id, '[fake:tools call=show_section]');
    const call = (await stream.until(isPageCall)).data as ToolFrame;
    const refusals: Array<[unknown, number, RegExp]> = [
      [{}, 400, /results must be a list/],
      [{ results: [] }, 400, /results must be a list/],
      [{ results: [{ result: 1 }] }, 400, /toolCallId/],
      [{ results: [{ toolCallId: call.toolCallId }] }, 400, /needs a result/],
      [{ results: [{ toolCallId: call.toolCallId, result: 1, error: 'x' }] }, 400, /both result and error/],
      [{ results: [{ toolCallId: call.toolCallId, error: 42 }] }, 400, /error must be a string/],
      [{ results: [{ toolCallId: call.toolCallId, result: 'x'.repeat(70_000) }] }, 413, /TOOLS_MAX_RESPONSE_BYTES/],
      // One unknown id refuses the whole delivery, the known one with it.
      [{ results: [{ toolCallId: call.toolCallId, result: 1 }, { toolCallId: 'call_unknown', result: 2 }] }, 409, /call_unknown/],
      [{ results: [{ toolCallId: call.toolCallId, result: 1 }, { toolCallId: call.toolCallId, result: 2 }] }, 409, /answered already/],
    ];
    for (const [body, status, message] of refusals) {
      const response = await results(id, body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(message);
    }
    const notJson = await worker(`/api/chats/${id}/tool-results`, { method: 'POST', headers: { 'content-type': 'text/plain', origin: SITE }, body: 'x' });
    expect(notJson.status).toBe(415);
    // Still only the first step upstream: no refusal reached Gemini.
    expect(await fakeRequests(tag)).toHaveLength(1);

    expect((await results(id, { results: [{ toolCallId: call.toolCallId, result: { ok: true } }] })).status).toBe(200);
    // Answered: a second delivery of the same call is refused.
    const again = await results(id, { results: [{ toolCallId: call.toolCallId, result: { ok: true } }] });
    expect(again.status).toBe(409);
    const frames = await stream.rest();
    expect(frames.filter((f) => f.event === 'tool-result').map((f) => (f.data as ToolFrame).result)).toEqual([{ ok: true }]);
    expect(kinds(frames).at(-1)).toBe('done');
  });

  it('tells the model the page did not answer after TOOLS_PAGE_TIMEOUT_MS, while the page listens', async () => {
    const id = await createChat();
    const { stream } = await startTurn(id, '[fake:tools call=show_section]');
    const call = (await stream.until(isPageCall)).data as ToolFrame;
    const waiting = Date.now();
    const frames = await stream.rest();
    // Not before TOOLS_PAGE_TIMEOUT_MS (2000).
    expect(Date.now() - waiting).toBeGreaterThanOrEqual(1900);
    expect(frames.find((f) => f.event === 'tool-result')!.data).toEqual({ toolCallId: call.toolCallId, name: 'show_section', error: 'the page did not answer within 2000 ms', runsOn: 'page' });
    expect(kinds(frames).at(-1)).toBe('done');
    expect((await results(id, { results: [{ toolCallId: call.toolCallId, result: 1 }] })).status).toBe(409);
  });

  it('ends the turn cleanly as cancelled when the page closes while its call is pending, and calls Gemini no more', async () => {
    const id = await createChat();
    const { stream, tag } = await startTurn(id, '[fake:tools call=show_section]');
    const call = (await stream.until(isPageCall)).data as ToolFrame;
    await stream.cancel();
    // The grace period (500 ms) passes with nobody listening.
    let snapshot: ChatSnapshot;
    for (let i = 0; ; i++) {
      snapshot = (await (await worker(`/api/chats/${id}`)).json()) as ChatSnapshot;
      if (snapshot.messages.at(-1)!.status !== 'streaming' || i > 60) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(snapshot.messages.at(-1)).toMatchObject({ role: 'model', status: 'cancelled' });
    expect(snapshot.messages.at(-1)!.tools).toEqual([
      { toolCallId: call.toolCallId, name: 'show_section', args: expect.any(Object), runsOn: 'page', error: 'the turn was cancelled before the page answered' },
    ]);
    expect(await fakeRequests(tag)).toHaveLength(1);
    expect((await results(id, { results: [{ toolCallId: call.toolCallId, result: 1 }] })).status).toBe(409);
    // The chat takes its next message.
    const next = await post(`/api/chats/${id}/messages`, { message: 'hello' });
    expect(next.status).toBe(200);
    expect(kinds(parseSse(await next.text())).at(-1)).toBe('done');
  });

  it('lets a page that reconnects mid-wait resume after the call, deliver, and read the rest', async () => {
    const id = await createChat();
    const { stream } = await startTurn(id, '[fake:tools call=show_section]');
    const callFrame = await stream.until(isPageCall);
    await stream.cancel();
    // Back within the grace period, from the call's frame on.
    const resumed = await worker(`/api/chats/${id}/stream`, { headers: { 'last-event-id': callFrame.id!, origin: SITE } });
    expect(resumed.status).toBe(200);
    const call = callFrame.data as ToolFrame;
    expect((await results(id, { results: [{ toolCallId: call.toolCallId, result: 'shown' }] })).status).toBe(200);
    const frames = parseSse(await resumed.text());
    expect(kinds(frames)[0]).toBe('tool-result');
    expect(Number(frames[0]!.id)).toBe(Number(callFrame.id) + 1);
    expect(kinds(frames).at(-1)).toBe('done');
  });

  it('replays a page call answered already without runsOn, so no resuming page runs it again: from memory, and from storage after a restart', async () => {
    const id = await createChat();
    const { stream } = await startTurn(id, '[fake:tools call=show_section]');
    const call = (await stream.until(isPageCall)).data as ToolFrame;
    // A page that resumes while the call is open gets it as the page's to run.
    const openReader = sseReader(await worker(`/api/chats/${id}/stream`, { headers: { 'last-event-id': '0', origin: SITE } }));
    expect((await openReader.until((f) => f.event === 'tool-call')).data).toMatchObject({ runsOn: 'page' });
    // Read to its end: an unread body holds the object's request open, which eviction waits for.
    expect(await (await results(id, { results: [{ toolCallId: call.toolCallId, result: 'shown' }] })).json()).toEqual({ accepted: 1 });
    const live = await stream.rest();
    await openReader.rest();
    expect(live.find((f) => f.event === 'tool-call')!.data).toMatchObject({ runsOn: 'page' });
    const closed = { toolCallId: call.toolCallId, name: 'show_section', args: call.args };
    const replays = [parseSse(await (await worker(`/api/chats/${id}/stream`, { headers: { 'last-event-id': '0', origin: SITE } })).text())];
    await evictDurableObject(env.CHAT_ROOMS.get(env.CHAT_ROOMS.idFromString(id)));
    replays.push(parseSse(await (await worker(`/api/chats/${id}/stream`, { headers: { 'last-event-id': '0', origin: SITE } })).text()));
    for (const replay of replays) {
      expect(replay.find((f) => f.event === 'tool-call')!.data).toEqual(closed);
      expect(replay.find((f) => f.event === 'tool-result')!.data).toEqual({ toolCallId: call.toolCallId, name: 'show_section', result: 'shown', runsOn: 'page' });
      expect(replay.map((f) => f.id)).toEqual(live.map((f) => f.id));
    }
  });

  it('runs a page call and an endpoint call of one step together, and sends both results back', async () => {
    const id = await createChat();
    const { stream, tag } = await startTurn(id, '[fake:tools call=show_section,lookup_order parallel=2 args={"section":"pricing","order":"A-1"}]');
    const call = (await stream.until(isPageCall)).data as ToolFrame;
    // The endpoint's call has answered by now; its result waits with the page's.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stream.frames.some((f) => f.event === 'tool-result')).toBe(false);
    expect((await results(id, { results: [{ toolCallId: call.toolCallId, result: { shown: 'pricing' } }] })).status).toBe(200);
    const frames = await stream.rest();
    expect(kinds(frames).slice(0, 4)).toEqual(['tool-call', 'tool-call', 'tool-result', 'tool-result']);
    const [asked, answered] = await fakeRequests(tag);
    const [pageCall, endpointCall] = asked!.functionCalls;
    // Each result with its own call's id, as Gemini 3 asks (the two calls' ids differ).
    expect(pageCall!.id).not.toBe(endpointCall!.id);
    expect(answered!.body.contents.at(-1)!.parts).toEqual([
      { functionResponse: { id: pageCall!.id, name: 'show_section', response: { output: { shown: 'pricing' } } } },
      { functionResponse: { id: endpointCall!.id, name: 'lookup_order', response: { output: { status: 'shipped', order: 'A-1' } } } },
    ]);
  });
});
