import { describe, expect, it, vi } from 'vitest';
import type { ChatEvent } from '../../src/protocol/events';
import { encodeSse, sseBody, type SseInput } from '../../src/stream/sse-encoder';
import { bytes, DONE_FRAME, type WireFormat } from '../../src/stream/wire-format';
import { parseSse } from '../sse';
import { collect, streamOf } from '../streams';

const encode = (events: SseInput[]) => collect(encodeSse(streamOf(events)));

/** An event stream the test feeds by hand. */
function handFed() {
  let controller!: ReadableStreamDefaultController<SseInput>;
  const events = new ReadableStream<SseInput>({ start: (c) => void (controller = c) });
  return { events, controller };
}

const decode = (chunks: Uint8Array[]) => chunks.map((c) => new TextDecoder().decode(c)).join('');

describe('encodeSse', () => {
  it('writes each event as one frame with its event name and single-line JSON data', async () => {
    const chunks = await encode([
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
      { type: 'done', finishReason: 'STOP', usage: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 } },
    ]);
    expect(decode(chunks)).toBe(
      'event: text\ndata: {"text":"Hel"}\n\n' +
        'event: text\ndata: {"text":"lo"}\n\n' +
        'event: done\ndata: {"done":true,"finishReason":"STOP","usage":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}}\n\n',
    );
  });

  it('writes the answering model and toolUsePromptTokenCount into done when Gemini reported them', async () => {
    const usage = { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 305, toolUsePromptTokenCount: 300 };
    const chunks = await encode([{ type: 'done', finishReason: 'STOP', usage, model: 'gemini-3.5-flash-lite' }]);
    expect(decode(chunks)).toBe(
      'event: done\ndata: {"done":true,"finishReason":"STOP","usage":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":305,"toolUsePromptTokenCount":300},"model":"gemini-3.5-flash-lite"}\n\n',
    );
  });

  it('writes error frames as {"error":{code,message}}', async () => {
    const chunks = await encode([{ type: 'error', code: 'upstream_disconnected', message: 'broke off' }]);
    expect(decode(chunks)).toBe('event: error\ndata: {"error":{"code":"upstream_disconnected","message":"broke off"}}\n\n');
  });

  it('puts an id line first when the event has an id', async () => {
    const chunks = await encode([{ id: 7, type: 'text', text: 'x' }]);
    expect(decode(chunks)).toBe('id: 7\nevent: text\ndata: {"text":"x"}\n\n');
  });

  it('keeps CR, LF, blank lines and "data:" look-alikes inside one data line', async () => {
    const nasty = 'line1\r\nline2\n\nevent: done\rdata: {"done":true}\u2028\u2029\0';
    const body = decode(await encode([{ type: 'text', text: nasty }]));
    expect(body.split('\n').filter(Boolean)).toHaveLength(2);
    expect(body).not.toContain('\r');
    expect(parseSse(body)).toEqual([{ event: 'text', data: { text: nasty } }]);
  });

  it('round-trips multibyte text when the bytes are cut at random points', async () => {
    const events: ChatEvent[] = [];
    for (let i = 0; i < 50; i++) events.push({ type: 'text', text: `Grüße 你好 🌍👩‍👩‍👧 #${i} ` });
    events.push({ type: 'done', finishReason: 'STOP', usage: { promptTokenCount: 1, candidatesTokenCount: 2, totalTokenCount: 3 } });
    const bytes = new Uint8Array((await encode(events)).flatMap((c) => [...c]));
    for (let round = 0; round < 20; round++) {
      const decoder = new TextDecoder();
      let text = '';
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(Math.random() * 17);
        text += decoder.decode(bytes.subarray(at, at + size), { stream: true });
        at += size;
      }
      text += decoder.decode();
      const frames = parseSse(text);
      expect(frames.map((f) => f.event)).toEqual(events.map((e) => e.type));
      expect(frames.slice(0, -1).map((f) => (f.data as { text: string }).text)).toEqual(
        events.slice(0, -1).map((e) => (e as { text: string }).text),
      );
    }
  });

  it('passes each frame on as soon as its event arrives', async () => {
    const { events, controller } = handFed();
    const reader = encodeSse(events).getReader();
    controller.enqueue({ type: 'text', text: 'first' });
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('"first"');
    controller.enqueue({ type: 'text', text: 'second' });
    const second = await reader.read();
    expect(new TextDecoder().decode(second.value)).toContain('"second"');
    controller.close();
    expect((await reader.read()).done).toBe(true);
  });

  it('sends frames that queued while the client lagged in one chunk, and ends after them', async () => {
    const { events, controller } = handFed();
    const body = encodeSse(events);
    for (let i = 0; i < 50; i++) controller.enqueue({ type: 'text', text: `t${i}` });
    controller.enqueue({ type: 'done', finishReason: 'STOP', usage: { promptTokenCount: 1, candidatesTokenCount: 2, totalTokenCount: 3 } });
    controller.close();
    // The client lags: the encoder reads on meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const reader = body.getReader();
    const chunks: string[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(new TextDecoder().decode(next.value));
    expect(chunks.length).toBeLessThan(51);
    const frames = parseSse(chunks.join(''));
    expect(frames).toHaveLength(51);
    expect(frames.slice(0, 50).map((f) => (f.data as { text: string }).text)).toEqual(Array.from({ length: 50 }, (_, i) => `t${i}`));
    expect(frames[50].event).toBe('done');
  });

  it('stops reading a source that runs ahead of the client once 64 KiB are queued', async () => {
    let pulled = 0;
    const events = new ReadableStream<SseInput>({
      pull(controller) {
        pulled++;
        controller.enqueue({ type: 'text', text: 'x'.repeat(1000) });
      },
    });
    const reader = encodeSse(events).getReader();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // About 1 KiB a frame: it read ahead to the high-water mark, not without end.
    expect(pulled).toBeGreaterThan(60);
    expect(pulled).toBeLessThan(70);
    const { value } = await reader.read();
    expect(value!.byteLength).toBeGreaterThanOrEqual(64 * 1024);
    await reader.cancel();
  });

  it('cancelling the stream cancels the events, so their source aborts Gemini', async () => {
    let sourceCancelled: unknown;
    let cancelledSeen = false;
    const source = new ReadableStream<SseInput>({
      pull(controller) {
        controller.enqueue({ type: 'text', text: 'more' });
      },
      cancel(reason) {
        sourceCancelled = reason ?? 'cancelled';
      },
    });
    const reader = encodeSse(source, { observer: { observe() {}, cancelled: () => (cancelledSeen = true) } }).getReader();
    await reader.read();
    await reader.cancel('client left');
    await vi.waitFor(() => expect(sourceCancelled).toBe('client left'));
    expect(cancelledSeen).toBe(true);
  });

  it('writes a ping comment while no event arrives, and stops when closed', async () => {
    const { events, controller } = handFed();
    const reader = encodeSse(events, { heartbeatMs: 10 }).getReader();
    const ping = await reader.read();
    expect(new TextDecoder().decode(ping.value)).toBe(': ping\n\n');
    // Comments are invisible to SSE parsers: the frames stay intact.
    expect(parseSse(': ping\n\nevent: text\ndata: {"text":"a"}\n\n')[1]).toEqual({ event: 'text', data: { text: 'a' } });
    controller.close();
    // Drain: whatever pings were queued, the stream then ends.
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      expect(new TextDecoder().decode(next.value)).toBe(': ping\n\n');
    }
  });

  it('errors the stream when the events error', async () => {
    const { events, controller } = handFed();
    const reader = encodeSse(events).getReader();
    controller.error(new Error('broken'));
    await expect(reader.read()).rejects.toThrow('broken');
  });

  describe('with a wire format', () => {
    /** A format that shows only text, in upper case, and ends with [DONE]. */
    const shouting = (): WireFormat => ({
      encode: (event) => bytes(event.type === 'text' ? `data: ${event.text.toUpperCase()}\n\n` : ''),
      end: () => DONE_FRAME,
    });

    it('encodes each event with it, skips what it leaves empty, and ends with its end marker', async () => {
      const chunks = await collect(
        encodeSse(streamOf<SseInput>([{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }, { type: 'done', finishReason: 'STOP', usage: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 } }]), { format: shouting() }),
      );
      expect(decode(chunks)).toBe('data: A\n\ndata: B\n\ndata: [DONE]\n\n');
      expect(chunks.every((chunk) => chunk.byteLength > 0)).toBe(true);
    });

    it('sends no end marker to a client that left', async () => {
      const { events, controller } = handFed();
      const reader = encodeSse(events, { format: shouting() }).getReader();
      controller.enqueue({ type: 'text', text: 'a' });
      expect(decode([(await reader.read()).value!])).toBe('data: A\n\n');
      await reader.cancel();
      controller.close();
      expect((await reader.read()).done).toBe(true);
    });
  });
});

describe('sseBody', () => {
  const answer: SseInput[] = [
    { type: 'text', text: 'Hi' },
    { type: 'done', finishReason: 'STOP', usage: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 } },
  ];
  /** Events that fail the test if anyone iterates them. */
  const settledOnly = (settled: SseInput[]) => ({
    settled,
    [Symbol.asyncIterator]: (): AsyncIterator<SseInput> => {
      throw new Error('a settled answer is not iterated');
    },
  });

  it('sends a settled answer whole, in the same bytes as the stream, with the observer seeing each event', async () => {
    const seen: string[] = [];
    const observer = { observe: (event: SseInput) => void seen.push(event.type), cancelled: () => seen.push('cancelled') };
    const whole = sseBody(settledOnly(answer), { observer, heartbeatMs: 1 });
    expect(whole).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(whole as Uint8Array)).toBe(decode(await encode(answer)));
    expect(seen).toEqual(['text', 'done']);
  });

  it('ends a settled answer with the wire format’s end marker', () => {
    const format: WireFormat = { encode: (event) => bytes(`data: ${event.type}\n\n`), end: () => DONE_FRAME };
    expect(new TextDecoder().decode(sseBody(settledOnly(answer), { format }) as Uint8Array)).toBe('data: text\n\ndata: done\n\ndata: [DONE]\n\n');
  });

  it('streams anything else', async () => {
    const body = sseBody(streamOf(answer));
    expect(body).toBeInstanceOf(ReadableStream);
    expect(decode(await collect(body as ReadableStream<Uint8Array>))).toBe(decode(await encode(answer)));
  });
});
