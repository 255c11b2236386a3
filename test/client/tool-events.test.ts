import { describe, expect, it } from 'vitest';
import { openChat } from '../../src/client/open-chat';
import type { StreamEvent, ToolStreamEvent } from '../../src/client/types';

/**
 * A stored chat's tool frames (an assistant with tools, docs/protocol.md): `chat.send` yields the
 * answer as before — what the widget reads — and hands the tool steps, typed, to `onToolEvent`.
 */

const USAGE = { promptTokenCount: 1, candidatesTokenCount: 2, totalTokenCount: 3 };
const TURN =
  'id: 1\nevent: tool-call\ndata: {"toolCallId":"call_a","name":"lookup_order","args":{"order":"A-1"}}\n\n' +
  'id: 2\nevent: tool-result\ndata: {"toolCallId":"call_a","name":"lookup_order","result":{"status":"shipped"}}\n\n' +
  'id: 3\nevent: text\ndata: {"text":"Shipped."}\n\n' +
  `id: 4\nevent: done\ndata: ${JSON.stringify({ done: true, finishReason: 'STOP', usage: USAGE })}\n\n`;

describe('chat.send with tool frames', () => {
  it('yields the answer and gives the tool steps to onToolEvent, in order', async () => {
    const fetch = async (url: string) => {
      if (url.endsWith('/api/chats')) {
        return Response.json({ id: 'c1', model: 'gemini-3.8-flash', assistant: 'tools-site', messages: [], settledEventId: 0 }, { status: 201 });
      }
      return new Response(TURN, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'x-message-id': '2' } });
    };
    const chat = await openChat({ endpoint: 'https://worker.example', fetch });
    const tools: ToolStreamEvent[] = [];
    const events: StreamEvent[] = [];
    for await (const event of chat.send('Where is A-1?', { onToolEvent: (event) => tools.push(event) })) events.push(event);
    expect(tools).toEqual([
      { type: 'tool-call', toolCallId: 'call_a', name: 'lookup_order', args: { order: 'A-1' }, id: 1 },
      { type: 'tool-result', toolCallId: 'call_a', name: 'lookup_order', result: { status: 'shipped' }, id: 2 },
    ]);
    expect(events.map((e) => e.type)).toEqual(['text', 'done']);
    expect(events[0]).toEqual({ type: 'text', text: 'Shipped.', id: 3 });
  });
});

/**
 * Page-side tools (`runs: page`, docs/assistants.md "Tools that run in the page"): the chat runs
 * the handler `registerTool` gave for a `tool-call` with `"runsOn":"page"` and posts its outcome to
 * `POST /api/chats/:id/tool-results`. The fake Worker below holds the turn's stream open until
 * that post arrives, then streams the result and the answer, as the chat's Durable Object does.
 */
describe('chat.registerTool', () => {
  const CALL = 'id: 1\nevent: tool-call\ndata: {"toolCallId":"call_p","name":"show_section","args":{"section":"pricing"},"runsOn":"page"}\n\n';
  // The same call replayed once answered: the Worker sends it closed, without runsOn (Turn.replayed).
  const CLOSED_CALL = CALL.replace(',"runsOn":"page"', '');
  const frame = (id: number, event: string, data: unknown) => `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  const ending = (outcome: Record<string, unknown>, from = 2) =>
    frame(from, 'tool-result', { toolCallId: 'call_p', name: 'show_section', ...outcome }) +
    frame(from + 1, 'text', { text: 'Done.' }) +
    frame(from + 2, 'done', { done: true, finishReason: 'STOP', usage: USAGE });
  const sse = (body: BodyInit) => new Response(body, { headers: { 'content-type': 'text/event-stream; charset=utf-8' } });

  /** A Worker whose turn waits for the page's result; `statuses` answer the posts in turn (then 200). */
  function fakeWorker(statuses: number[] = []) {
    const posted: unknown[] = [];
    let deliver: (outcome: Record<string, unknown>) => void = () => {};
    const fetch = async (url: string, init?: RequestInit) => {
      if (url.endsWith('/api/chats')) {
        return Response.json({ id: 'c1', model: 'gemini-3.8-flash', assistant: 'tools-site', messages: [], settledEventId: 0 }, { status: 201 });
      }
      if (url.endsWith('/tool-results')) {
        const body = JSON.parse(String(init!.body)) as { results: Array<Record<string, unknown>> };
        posted.push(body);
        const status = statuses.shift() ?? 200;
        // Too late: the turn told the model the page did not answer, and went on.
        if (status === 409) deliver({ error: 'the page did not answer within 2000 ms' });
        if (status === 200) {
          const { toolCallId: _, ...outcome } = body.results[0]!;
          deliver(outcome);
          return Response.json({ accepted: 1 });
        }
        const message = status === 413 ? 'results[0].result is 70000 bytes as JSON; at most 65536 (TOOLS_MAX_RESPONSE_BYTES)' : 'no call waits for a result with id "call_p"';
        return Response.json({ error: { code: status === 413 ? 'too_large' : 'invalid_request', message } }, { status });
      }
      const encoder = new TextEncoder();
      return sse(
        new ReadableStream({
          start(controller) {
            controller.enqueue(encoder.encode(CALL));
            deliver = (outcome) => {
              controller.enqueue(encoder.encode(ending(outcome)));
              controller.close();
            };
          },
        }),
      );
    };
    return { fetch, posted };
  }

  async function turn(chat: Awaited<ReturnType<typeof openChat>>) {
    const tools: ToolStreamEvent[] = [];
    const events: StreamEvent[] = [];
    for await (const event of chat.send('Show me the prices', { onToolEvent: (event) => tools.push(event) })) events.push(event);
    return { tools, events };
  }

  it("runs the page's handler with the call's args, posts what it returned, and the turn goes on to its answer", async () => {
    const worker = fakeWorker();
    const chat = await openChat({ endpoint: 'https://worker.example', fetch: worker.fetch });
    const seen: unknown[] = [];
    chat.registerTool('show_section', async (args) => {
      seen.push(args);
      return { shown: args.section };
    });
    const { tools, events } = await turn(chat);
    expect(seen).toEqual([{ section: 'pricing' }]);
    expect(worker.posted).toEqual([{ results: [{ toolCallId: 'call_p', result: { shown: 'pricing' } }] }]);
    expect(tools.map((t) => t.type)).toEqual(['tool-call', 'tool-result']);
    expect(tools[0]).toMatchObject({ runsOn: 'page' });
    expect(events.map((e) => e.type)).toEqual(['text', 'done']);
  });

  it('posts what the handler threw as the call\'s error, and null for a handler that returns nothing', async () => {
    const worker = fakeWorker();
    const failing = await openChat({ endpoint: 'https://worker.example', fetch: worker.fetch });
    failing.registerTool('show_section', () => {
      throw new Error('no section called pricing');
    });
    await turn(failing);
    const silent = await openChat({ endpoint: 'https://worker.example', fetch: worker.fetch });
    silent.registerTool('show_section', () => undefined);
    await turn(silent);
    expect(worker.posted).toEqual([
      { results: [{ toolCallId: 'call_p', error: 'no section called pricing' }] },
      { results: [{ toolCallId: 'call_p', result: null }] },
    ]);
  });

  it('cuts an error longer than the Worker takes (2000 characters, tool-results-request.ts) to fit, rather than have it refused', async () => {
    const worker = fakeWorker();
    const chat = await openChat({ endpoint: 'https://worker.example', fetch: worker.fetch });
    const message = `${Array.from({ length: 300 }, (_, i) => `line ${String(i).padStart(4, '0')}`).join('\n')}.`;
    expect(message.length).toBe(3000);
    chat.registerTool('show_section', () => {
      throw new Error(message);
    });
    const { events } = await turn(chat);
    expect(worker.posted).toHaveLength(1);
    const [posted] = (worker.posted[0] as { results: { toolCallId: string; error: string }[] }).results;
    expect(Object.keys(posted!)).toEqual(['toolCallId', 'error']);
    expect(posted!.error.length).toBeLessThanOrEqual(2000);
    // What is kept is the error's beginning, most of it.
    expect(posted!.error.length).toBeGreaterThan(1000);
    expect(message.startsWith(posted!.error)).toBe(true);
    expect(events.at(-1)!.type).toBe('done');
  });

  it("posts a result that is not JSON (a BigInt) as the call's error", async () => {
    const worker = fakeWorker();
    const chat = await openChat({ endpoint: 'https://worker.example', fetch: worker.fetch });
    chat.registerTool('show_section', () => ({ visits: 12n }));
    const { events } = await turn(chat);
    expect(worker.posted).toEqual([{ results: [{ toolCallId: 'call_p', error: expect.stringContaining('BigInt') }] }]);
    expect(events.at(-1)!.type).toBe('done');
  });

  it('answers a call the page has no handler for with an error, so the turn ends instead of waiting', async () => {
    const worker = fakeWorker();
    const chat = await openChat({ endpoint: 'https://worker.example', fetch: worker.fetch });
    chat.registerTool('show_section', () => 'gone');
    chat.registerTool('show_section', null);
    const { events } = await turn(chat);
    expect(worker.posted).toEqual([{ results: [{ toolCallId: 'call_p', error: 'the page has no handler for "show_section"' }] }]);
    expect(events.at(-1)!.type).toBe('done');
  });

  it('finds a handler through toolHandler when registerTool gave none', async () => {
    const worker = fakeWorker();
    const registry = new Map([['show_section', () => ({ from: 'registry' })]]);
    const chat = await openChat({ endpoint: 'https://worker.example', fetch: worker.fetch, toolHandler: (name) => registry.get(name) });
    await turn(chat);
    expect(worker.posted).toEqual([{ results: [{ toolCallId: 'call_p', result: { from: 'registry' } }] }]);
  });

  it("sends the Worker's reason as the error when the result is refused as too large (413)", async () => {
    const worker = fakeWorker([413]);
    const chat = await openChat({ endpoint: 'https://worker.example', fetch: worker.fetch });
    chat.registerTool('show_section', () => 'x'.repeat(70_000));
    const { events } = await turn(chat);
    expect(worker.posted).toHaveLength(2);
    expect(worker.posted[1]).toEqual({ results: [{ toolCallId: 'call_p', error: 'results[0].result is 70000 bytes as JSON; at most 65536 (TOOLS_MAX_RESPONSE_BYTES)' }] });
    expect(events.at(-1)!.type).toBe('done');
  });

  it('takes a 409 (answered already, or past its time) quietly', async () => {
    const worker = fakeWorker([409]);
    const chat = await openChat({ endpoint: 'https://worker.example', fetch: worker.fetch });
    let runs = 0;
    chat.registerTool('show_section', () => ++runs);
    const { tools, events } = await turn(chat);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(runs).toBe(1);
    expect(worker.posted).toHaveLength(1);
    expect(tools.at(-1)).toMatchObject({ type: 'tool-result', error: 'the page did not answer within 2000 ms' });
    expect(events.at(-1)!.type).toBe('done');
  });

  it('never runs a call twice: not one a replay shows answered, nor one replayed again', async () => {
    let runs = 0;
    const posted: unknown[] = [];
    let replay = '';
    const fetch = async (url: string, init?: RequestInit) => {
      if (url.includes('/api/chats/c1?') || url.endsWith('/api/chats/c1')) {
        return Response.json({ id: 'c1', model: 'gemini-3.8-flash', assistant: 'tools-site', messages: [{ id: 2, role: 'model', status: 'streaming', text: '' }], settledEventId: 0 });
      }
      if (url.endsWith('/tool-results')) {
        posted.push(JSON.parse(String(init!.body)));
        return Response.json({ accepted: 1 });
      }
      return sse(replay);
    };
    const id = 'c'.repeat(64);
    const reopen = () => openChat({ endpoint: 'https://worker.example', id, fetch: (url, init) => fetch(url.replace(id, 'c1'), init) });

    // A reload after the page answered: the resume replays the call, closed, with its result.
    const answered = await reopen();
    answered.registerTool('show_section', () => ++runs);
    replay = CLOSED_CALL + ending({ result: { shown: 'pricing' } });
    for await (const _ of answered.resume());
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(runs).toBe(0);

    // A reload before it answered: the call runs once, however often it is replayed.
    const pending = await reopen();
    pending.registerTool('show_section', () => ++runs);
    replay = CALL + frame(2, 'error', { error: { code: 'interrupted', message: 'x' } });
    for await (const _ of pending.resume());
    for await (const _ of pending.resume());
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(runs).toBe(1);
    expect(posted).toEqual([{ results: [{ toolCallId: 'call_p', result: 1 }] }]);
  });
});
