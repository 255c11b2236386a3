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
