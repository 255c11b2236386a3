import { describe, expect, it } from 'vitest';
import { closedCall, type ChatEvent, type ToolCallEvent } from '../../src/protocol/events';
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

describe('UiMessageFormat, tool calls (issue 22)', () => {
  const call = (id: string, runsOn?: 'page' | 'gemini'): ChatEvent => ({ type: 'tool-call', toolCallId: id, name: 'show_section', args: { section: 'a' }, ...(runsOn ? { runsOn } : {}) });
  const frames = (out: string) => out.split('\n\n').filter(Boolean).map((frame) => (frame === 'data: [DONE]' ? '[DONE]' : (JSON.parse(frame.slice(6)) as Record<string, unknown>)));

  it('writes the Worker\'s calls as provider-executed dynamic tool parts, and the step after their results as a new step', () => {
    const out = frames(
      wire([
        { type: 'text', text: 'Looking' },
        call('c1'),
        { type: 'tool-result', toolCallId: 'c1', name: 'show_section', result: { ok: true } },
        { type: 'text', text: 'Done' },
        { type: 'done', finishReason: 'STOP', usage },
      ]),
    );
    expect(out.slice(0, 9)).toEqual([
      { type: 'start', messageId: 'm-7' },
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'Looking' },
      { type: 'text-end', id: 'text-0' },
      { type: 'tool-input-available', toolCallId: 'c1', toolName: 'show_section', input: { section: 'a' }, dynamic: true, providerExecuted: true },
      { type: 'tool-output-available', toolCallId: 'c1', output: { ok: true }, dynamic: true },
      { type: 'finish-step' },
      { type: 'start-step' },
      { type: 'text-start', id: 'text-1' },
    ]);
    expect(out.slice(-4)).toEqual([{ type: 'text-end', id: 'text-1' }, { type: 'finish-step' }, expect.objectContaining({ type: 'finish', finishReason: 'stop' }), '[DONE]']);
  });

  it('leaves a page call to the page (no providerExecuted), treats Gemini\'s own as executed, and writes an error as tool-output-error', () => {
    const out = frames(wire([call('p', 'page'), call('g', 'gemini'), { type: 'tool-result', toolCallId: 'p', name: 'show_section', error: 'no handler' }]));
    expect(out.slice(1)).toEqual([
      { type: 'tool-input-available', toolCallId: 'p', toolName: 'show_section', input: { section: 'a' }, dynamic: true },
      { type: 'tool-input-available', toolCallId: 'g', toolName: 'show_section', input: { section: 'a' }, dynamic: true, providerExecuted: true },
      { type: 'tool-output-error', toolCallId: 'p', errorText: 'no handler', dynamic: true },
      '[DONE]',
    ]);
  });

  it('keeps the text after a call Gemini ran itself (a built-in tool) in the same step', () => {
    const out = frames(wire([call('g', 'gemini'), { type: 'tool-result', toolCallId: 'g', name: 'show_section', result: 1 }, { type: 'text', text: 'So' }, { type: 'done', finishReason: 'STOP', usage }]));
    expect(out.map((frame) => (typeof frame === 'string' ? frame : frame.type))).toEqual(['start', 'tool-input-available', 'tool-output-available', 'text-start', 'text-delta', 'text-end', 'finish', '[DONE]']);
  });

  it('sends a page call no longer open, as a replay has it (closedCall), as provider-executed', () => {
    const format = new UiMessageFormat('m-7');
    const out = frames([closedCall(call('p1', 'page') as ToolCallEvent), call('p2', 'page')].map((event) => decode(format.encode(event))).join(''));
    expect(out.slice(1).map((frame) => (frame as Record<string, unknown>).providerExecuted)).toEqual([true, undefined]);
  });

  it('pauses at a page call: the open part closed, the step and the message finished with reason tool-calls', () => {
    const format = new UiMessageFormat('m-7');
    const out = [{ type: 'text', text: 'One moment' } as ChatEvent, call('p', 'page')].map((event) => decode(format.encode(event))).join('') + decode(format.pause()) + decode(format.end());
    expect(frames(out).slice(-4)).toEqual([
      { type: 'tool-input-available', toolCallId: 'p', toolName: 'show_section', input: { section: 'a' }, dynamic: true },
      { type: 'finish-step' },
      { type: 'finish', finishReason: 'tool-calls' },
      '[DONE]',
    ]);
    expect(frames(decode(new UiMessageFormat('m-7').pause()))).toEqual([{ type: 'start', messageId: 'm-7' }, { type: 'finish', finishReason: 'tool-calls' }]);
  });

  it('continues from the results in a new stream: start with the same id, the outputs, then the next step', () => {
    const out = frames(wire([{ type: 'tool-result', toolCallId: 'p', name: 'show_section', result: 'shown' }, { type: 'text', text: 'There' }, { type: 'done', finishReason: 'STOP', usage }]));
    expect(out.slice(0, 5)).toEqual([
      { type: 'start', messageId: 'm-7' },
      { type: 'tool-output-available', toolCallId: 'p', output: 'shown', dynamic: true },
      { type: 'finish-step' },
      { type: 'start-step' },
      { type: 'text-start', id: 'text-0' },
    ]);
  });
});
