import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../src/protocol/events';
import { UiMessageFormat, uiFinishReason } from '../../src/stream/ui-message-format';

const usage = { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 };
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function wire(events: ChatEvent[]): string {
  const format = new UiMessageFormat('m-7');
  return events.map((event) => decode(format.encode(event))).join('') + decode(format.end());
}

describe('UiMessageFormat', () => {
  it('writes start and text-start once, a text-delta per text, then text-end, finish and [DONE]', () => {
    expect(wire([{ type: 'text', text: 'Hel' }, { type: 'text', text: 'lo\n"x"' }, { type: 'done', finishReason: 'STOP', usage }])).toBe(
      'data: {"type":"start","messageId":"m-7"}\n\n' +
        'data: {"type":"text-start","id":"text-0"}\n\n' +
        'data: {"type":"text-delta","id":"text-0","delta":"Hel"}\n\n' +
        'data: {"type":"text-delta","id":"text-0","delta":"lo\\n\\"x\\""}\n\n' +
        'data: {"type":"text-end","id":"text-0"}\n\n' +
        'data: {"type":"finish","finishReason":"stop","messageMetadata":{"usage":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5},"finishReason":"STOP"}}\n\n' +
        'data: [DONE]\n\n',
    );
  });

  it('writes a thought summary as a reasoning part before the text, and opens a new part each time the kind changes', () => {
    expect(
      wire([
        { type: 'thought', text: '**Plan**' },
        { type: 'thought', text: ' more', signature: 'never-on-the-wire' },
        { type: 'text', text: 'A' },
        { type: 'thought', text: 'again' },
        { type: 'text', text: 'B' },
        { type: 'done', finishReason: 'STOP', usage },
      ]),
    ).toBe(
      'data: {"type":"start","messageId":"m-7"}\n\n' +
        'data: {"type":"reasoning-start","id":"reasoning-0"}\n\n' +
        'data: {"type":"reasoning-delta","id":"reasoning-0","delta":"**Plan**"}\n\n' +
        'data: {"type":"reasoning-delta","id":"reasoning-0","delta":" more"}\n\n' +
        'data: {"type":"reasoning-end","id":"reasoning-0"}\n\n' +
        'data: {"type":"text-start","id":"text-0"}\n\n' +
        'data: {"type":"text-delta","id":"text-0","delta":"A"}\n\n' +
        'data: {"type":"text-end","id":"text-0"}\n\n' +
        'data: {"type":"reasoning-start","id":"reasoning-1"}\n\n' +
        'data: {"type":"reasoning-delta","id":"reasoning-1","delta":"again"}\n\n' +
        'data: {"type":"reasoning-end","id":"reasoning-1"}\n\n' +
        'data: {"type":"text-start","id":"text-1"}\n\n' +
        'data: {"type":"text-delta","id":"text-1","delta":"B"}\n\n' +
        'data: {"type":"text-end","id":"text-1"}\n\n' +
        'data: {"type":"finish","finishReason":"stop","messageMetadata":{"usage":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5},"finishReason":"STOP"}}\n\n' +
        'data: [DONE]\n\n',
    );
  });

  it('closes an open reasoning part before an error', () => {
    expect(wire([{ type: 'thought', text: 'hm' }, { type: 'error', code: 'upstream_disconnected', message: 'broke off' }])).toContain(
      'data: {"type":"reasoning-end","id":"reasoning-0"}\n\ndata: {"type":"error","errorText":"broke off"}\n\n',
    );
  });

  it('sends each source as a source-url chunk before finish', () => {
    const out = wire([{ type: 'text', text: 'a' }, { type: 'done', finishReason: 'STOP', usage, sources: [{ title: 'A', url: 'https://a.example/' }, { title: 'B', url: 'https://b.example/' }] }]);
    expect(out).toContain(
      'data: {"type":"text-end","id":"text-0"}\n\n' +
        'data: {"type":"source-url","sourceId":"source-0","url":"https://a.example/","title":"A"}\n\n' +
        'data: {"type":"source-url","sourceId":"source-1","url":"https://b.example/","title":"B"}\n\n' +
        'data: {"type":"finish"',
    );
  });

  it('adds the model Gemini reports as answering to the finish metadata, and nothing when it reports none', () => {
    const finish = (out: string) => JSON.parse(out.split('\n\n').find((frame) => frame.includes('"finish"'))!.slice(6)) as { messageMetadata: object };
    expect(finish(wire([{ type: 'done', finishReason: 'STOP', usage, model: 'gemini-3.5-flash-lite' }])).messageMetadata).toEqual({
      usage,
      finishReason: 'STOP',
      model: 'gemini-3.5-flash-lite',
    });
    expect(finish(wire([{ type: 'done', finishReason: 'STOP', usage }])).messageMetadata).toEqual({ usage, finishReason: 'STOP' });
  });

  it('ends a failure with an error chunk, and a cancelled turn with abort', () => {
    expect(wire([{ type: 'text', text: 'a' }, { type: 'error', code: 'upstream_disconnected', message: 'broke off' }])).toMatch(
      /data: \{"type":"text-end","id":"text-0"\}\n\ndata: \{"type":"error","errorText":"broke off"\}\n\ndata: \[DONE\]\n\n$/,
    );
    expect(wire([{ type: 'error', code: 'cancelled', message: 'The turn was cancelled' }])).toBe(
      'data: {"type":"start","messageId":"m-7"}\n\ndata: {"type":"abort","reason":"The turn was cancelled"}\n\ndata: [DONE]\n\n',
    );
  });

  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content-filter'],
    ['RECITATION', 'content-filter'],
    ['PROHIBITED_CONTENT', 'content-filter'],
    ['SPII', 'content-filter'],
    ['LANGUAGE', 'other'],
    ['OTHER', 'other'],
    ['TOO_MANY_TOOL_CALLS', 'other'],
    ['MALFORMED_FUNCTION_CALL', 'other'],
    ['IMAGE_SAFETY', 'content-filter'],
    ['SOMETHING_NEW', 'other'],
  ])('maps finishReason %s to %s', (gemini, ui) => {
    expect(uiFinishReason(gemini)).toBe(ui);
  });
});
