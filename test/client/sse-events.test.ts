import { describe, expect, it } from 'vitest';
import { parseEventStream } from '../../src/client/sse-events';
import type { StreamEvent, ToolStreamEvent } from '../../src/client/types';
import { seededRandom } from '../random';

const encoder = new TextEncoder();

/** The bytes cut at the given offsets, as a stream. */
function streamOfCuts(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const points = [0, ...cuts.sort((a, b) => a - b), bytes.byteLength];
  const pieces = points.slice(1).map((end, i) => bytes.slice(points[i], end));
  return new ReadableStream({
    pull(controller) {
      const next = pieces.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
  });
}

async function parse(body: ReadableStream<Uint8Array>, onActivity?: () => void): Promise<Array<StreamEvent | ToolStreamEvent>> {
  const events: Array<StreamEvent | ToolStreamEvent> = [];
  const reader = parseEventStream(body, onActivity).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return events;
    events.push(value);
  }
}

const parseText = (text: string) => parse(streamOfCuts(encoder.encode(text), []));

// A thought summary as Gemini writes it (a bold title, a paragraph, trailing blank lines), in multibyte text too.
const THOUGHTS = ['**Reading the greeting**\n\nA greeting from Zürich — step 1 of 2.\n\n\n', '**Answering in kind**\n\n挨拶を返す 🌍 step 2 of 2.\n\n\n'];
// Multibyte text (2-, 3- and 4-byte characters, a ZWJ sequence), as the Worker writes it.
const TEXTS = ['Grüße aus Zürich — ', '你好，世界！', ' 🌍🚀 👩‍👩‍👧', ' naïve café.'];
const USAGE = { promptTokenCount: 9, candidatesTokenCount: 8, totalTokenCount: 17, thoughtsTokenCount: 160 };
const WIRE =
  THOUGHTS.map((thought, i) => `id: ${i + 1}\nevent: thought\ndata: ${JSON.stringify({ thought })}\n\n`).join('') +
  TEXTS.map((text, i) => `id: ${i + 3}\nevent: text\ndata: ${JSON.stringify({ text })}\n\n`).join('') +
  ': ping\n\n' +
  `id: 7\nevent: done\ndata: ${JSON.stringify({ done: true, finishReason: 'STOP', usage: USAGE })}\n\n`;
const EXPECTED: StreamEvent[] = [
  ...THOUGHTS.map((text, i) => ({ type: 'thought' as const, text, id: i + 1 })),
  ...TEXTS.map((text, i) => ({ type: 'text' as const, text, id: i + 3 })),
  { type: 'done', finishReason: 'STOP', usage: USAGE, id: 7 },
];

describe('parseEventStream', () => {
  it('reads thought events, then text events, then the done event, with their ids', async () => {
    expect(await parseText(WIRE)).toStrictEqual(EXPECTED);
  });

  it('reads a stored chat\'s tool-call and tool-result frames as typed events, and goes on to the answer', async () => {
    const events = await parseText(
      'id: 1\nevent: tool-call\ndata: {"toolCallId":"call_a","name":"lookup_order","args":{"order":"A1"}}\n\n' +
        'id: 2\nevent: tool-result\ndata: {"toolCallId":"call_a","name":"lookup_order","result":{"status":"shipped"}}\n\n' +
        'id: 3\nevent: tool-result\ndata: {"toolCallId":"call_b","name":"slow","error":"timed out"}\n\n' +
        'id: 4\nevent: text\ndata: {"text":"Shipped."}\n\n' +
        `id: 5\nevent: done\ndata: ${JSON.stringify({ done: true, finishReason: 'STOP', usage: USAGE })}\n\n`,
    );
    expect(events).toStrictEqual([
      { type: 'tool-call', toolCallId: 'call_a', name: 'lookup_order', args: { order: 'A1' }, id: 1 },
      { type: 'tool-result', toolCallId: 'call_a', name: 'lookup_order', result: { status: 'shipped' }, id: 2 },
      { type: 'tool-result', toolCallId: 'call_b', name: 'slow', error: 'timed out', id: 3 },
      { type: 'text', text: 'Shipped.', id: 4 },
      { type: 'done', finishReason: 'STOP', usage: USAGE, id: 5 },
    ]);
  });

  it('refuses a tool frame whose event name disagrees with its data', async () => {
    const events = await parseText('event: text\ndata: {"toolCallId":"call_a","name":"f","args":{}}\n\n');
    expect(events).toMatchObject([{ type: 'error', code: 'invalid_response' }]);
  });

  it('reads thought events between text events, and without event: lines by their data', async () => {
    const events = await parseText('event: text\ndata: {"text":"a"}\n\nevent: thought\ndata: {"thought":"t"}\n\ndata: {"thought":"u"}\n\nevent: text\ndata: {"text":"b"}\n\n');
    expect(events).toStrictEqual([
      { type: 'text', text: 'a' },
      { type: 'thought', text: 't' },
      { type: 'thought', text: 'u' },
      { type: 'text', text: 'b' },
    ]);
  });

  it('gives the same events however the bytes are cut, inside characters too (500 seeded splits)', async () => {
    const bytes = encoder.encode(WIRE);
    const next = seededRandom(20261125);
    for (let run = 0; run < 500; run++) {
      const count = 1 + Math.floor(next() * 12);
      const cuts = Array.from({ length: count }, () => 1 + Math.floor(next() * (bytes.byteLength - 1)));
      expect(await parse(streamOfCuts(bytes, cuts)), `cuts ${cuts.join(',')}`).toStrictEqual(EXPECTED);
    }
  });

  it('gives the same events when every byte arrives alone', async () => {
    const bytes = encoder.encode(WIRE);
    const cuts = Array.from({ length: bytes.byteLength - 1 }, (_, i) => i + 1);
    expect(await parse(streamOfCuts(bytes, cuts))).toStrictEqual(EXPECTED);
  });

  it('accepts CRLF line ends (a proxy may rewrite them)', async () => {
    expect(await parseText(WIRE.replaceAll('\n', '\r\n'))).toStrictEqual(EXPECTED);
  });

  it('reads frames without event: or id: lines by their data', async () => {
    const events = await parseText('data: {"text":"a"}\n\ndata: {"error":{"code":"upstream_timeout","message":"slow"}}\n\n');
    expect(events).toStrictEqual([
      { type: 'text', text: 'a' },
      { type: 'error', code: 'upstream_timeout', message: 'slow' },
    ]);
  });

  it('stops at the terminal event and ignores anything after it', async () => {
    const events = await parseText(`${WIRE}event: text\ndata: {"text":"late"}\n\n`);
    expect(events).toStrictEqual(EXPECTED);
  });

  it('passes through error codes it does not know (a newer Worker)', async () => {
    const [event] = await parseText('event: error\ndata: {"error":{"code":"brand_new","message":"m"}}\n\n');
    expect(event).toStrictEqual({ type: 'error', code: 'brand_new', message: 'm' });
  });

  it('drops a frame cut off by the end of the stream (no blank line yet)', async () => {
    expect(await parseText('event: text\ndata: {"text":"a"}\n\nevent: text\ndata: {"text":"b"}')).toStrictEqual([{ type: 'text', text: 'a' }]);
  });

  it.each([
    ['data that is not JSON', 'event: text\ndata: {"text":\n\n'],
    ['a text that is not a string', 'event: text\ndata: {"text":42}\n\n'],
    ['a thought that is not a string', 'event: thought\ndata: {"thought":42}\n\n'],
    ['a thought that is null', 'event: thought\ndata: {"thought":null}\n\n'],
    ['a thought frame that carries a text instead', 'event: thought\ndata: {"text":"a"}\n\n'],
    ['a text frame that carries a thought instead', 'event: text\ndata: {"thought":"a"}\n\n'],
    ['a done without usage', 'event: done\ndata: {"done":true,"finishReason":"STOP"}\n\n'],
    ['usage with a negative count', 'event: done\ndata: {"done":true,"finishReason":"STOP","usage":{"promptTokenCount":-1,"candidatesTokenCount":0,"totalTokenCount":0}}\n\n'],
    ['an error without a message', 'event: error\ndata: {"error":{"code":"x"}}\n\n'],
    ['sources that are not a list of {title, url}', 'event: done\ndata: {"done":true,"finishReason":"STOP","usage":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2},"sources":[{"title":"a"}]}\n\n'],
    ['a model that is not a string', 'event: done\ndata: {"done":true,"finishReason":"STOP","usage":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2},"model":42}\n\n'],
    ['a toolUsePromptTokenCount that is not a count', 'event: done\ndata: {"done":true,"finishReason":"STOP","usage":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2,"toolUsePromptTokenCount":"300"}}\n\n'],
    ['an event name that disagrees with the data', 'event: done\ndata: {"text":"a"}\n\n'],
    ['an unknown shape', 'data: {"hello":"world"}\n\n'],
  ])('ends with invalid_response on %s', async (_, wire) => {
    const events = await parseText(`event: text\ndata: {"text":"before"}\n\n${wire}event: text\ndata: {"text":"after"}\n\n`);
    expect(events).toStrictEqual([
      { type: 'text', text: 'before' },
      { type: 'error', code: 'invalid_response', message: 'The Worker sent a frame that is not a chat event' },
    ]);
  });

  it('reads the sources of a grounded answer from its done event', async () => {
    const sources = [{ title: 'example.com', url: 'https://example.com/a' }];
    const events = await parseText(`event: done\ndata: ${JSON.stringify({ done: true, finishReason: 'STOP', usage: USAGE, sources })}\n\n`);
    expect(events).toStrictEqual([{ type: 'done', finishReason: 'STOP', usage: USAGE, sources }]);
  });

  it('reads the answering model and toolUsePromptTokenCount from a done event', async () => {
    const usage = { ...USAGE, toolUsePromptTokenCount: 300 };
    const events = await parseText(`event: done\ndata: ${JSON.stringify({ done: true, finishReason: 'STOP', usage, model: 'gemini-3.5-flash-lite' })}\n\n`);
    expect(events).toStrictEqual([{ type: 'done', finishReason: 'STOP', usage, model: 'gemini-3.5-flash-lite' }]);
  });

  it('reads a done event without a model (an older Worker) as before', async () => {
    const events = await parseText(`event: done\ndata: ${JSON.stringify({ done: true, finishReason: 'STOP', usage: USAGE })}\n\n`);
    expect(events).toStrictEqual([{ type: 'done', finishReason: 'STOP', usage: USAGE }]);
    expect(Object.keys(events[0]!)).not.toContain('model');
  });

  it('ignores an id that is not a whole number', async () => {
    expect(await parseText('id: abc\nevent: text\ndata: {"text":"a"}\n\n')).toStrictEqual([{ type: 'text', text: 'a' }]);
  });

  it('reports activity for every chunk, comments included', async () => {
    let calls = 0;
    const bytes = encoder.encode(': ping\n\n: ping\n\nevent: text\ndata: {"text":"a"}\n\n');
    await parse(streamOfCuts(bytes, [8, 16]), () => calls++);
    expect(calls).toBe(3);
  });
});
