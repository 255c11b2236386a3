import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../src/protocol/events';
import { SseEncoderStream, type SseInput } from '../../src/stream/sse-encoder';
import { parseSse } from '../sse';
import { collect, streamOf } from '../streams';

const encode = (events: SseInput[]) => collect(streamOf(events).pipeThrough(new SseEncoderStream()));

const decode = (chunks: Uint8Array[]) => chunks.map((c) => new TextDecoder().decode(c)).join('');

describe('SseEncoderStream', () => {
  it('writes each event as one frame with its event name and single-line JSON data', async () => {
    const chunks = await encode([
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
      { type: 'done', finishReason: 'STOP', usage: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 } },
    ]);
    expect(chunks).toHaveLength(3);
    expect(decode(chunks)).toBe(
      'event: text\ndata: {"text":"Hel"}\n\n' +
        'event: text\ndata: {"text":"lo"}\n\n' +
        'event: done\ndata: {"done":true,"finishReason":"STOP","usage":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}}\n\n',
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
    const encoder = new SseEncoderStream();
    const writer = encoder.writable.getWriter();
    const reader = encoder.readable.getReader();
    void writer.write({ type: 'text', text: 'first' });
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('"first"');
    void writer.write({ type: 'text', text: 'second' });
    const second = await reader.read();
    expect(new TextDecoder().decode(second.value)).toContain('"second"');
    await writer.close();
    expect((await reader.read()).done).toBe(true);
  });

  it('sends frames that queued while the client lagged in one chunk, and ends after them', async () => {
    const encoder = new SseEncoderStream();
    const writer = encoder.writable.getWriter();
    for (let i = 0; i < 50; i++) void writer.write({ type: 'text', text: `t${i}` });
    void writer.write({ type: 'done', finishReason: 'STOP', usage: { promptTokenCount: 1, candidatesTokenCount: 2, totalTokenCount: 3 } });
    await writer.ready;
    void writer.close();
    const reader = encoder.readable.getReader();
    const chunks: string[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(new TextDecoder().decode(next.value));
    expect(chunks.length).toBeLessThan(51);
    const frames = parseSse(chunks.join(''));
    expect(frames).toHaveLength(51);
    expect(frames.slice(0, 50).map((f) => (f.data as { text: string }).text)).toEqual(Array.from({ length: 50 }, (_, i) => `t${i}`));
    expect(frames[50].event).toBe('done');
  });

  it('cancelling the readable side errors the writable side, so a pipe cancels its source', async () => {
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
    const encoder = new SseEncoderStream({ observer: { observe() {}, cancelled: () => (cancelledSeen = true) } });
    const piped = source.pipeTo(encoder.writable).catch(() => {});
    const reader = encoder.readable.getReader();
    await reader.read();
    await reader.cancel('client left');
    await piped;
    expect(sourceCancelled).toBeDefined();
    expect(cancelledSeen).toBe(true);
  });

  it('writes a ping comment while no event arrives, and stops when closed', async () => {
    const encoder = new SseEncoderStream({ heartbeatMs: 10 });
    const writer = encoder.writable.getWriter();
    const reader = encoder.readable.getReader();
    const ping = await reader.read();
    expect(new TextDecoder().decode(ping.value)).toBe(': ping\n\n');
    // Comments are invisible to SSE parsers: the frames stay intact.
    expect(parseSse(': ping\n\nevent: text\ndata: {"text":"a"}\n\n')[1]).toEqual({ event: 'text', data: { text: 'a' } });
    void writer.close();
    // Drain: whatever pings were queued, the stream then ends.
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      expect(new TextDecoder().decode(next.value)).toBe(': ping\n\n');
    }
  });
});
