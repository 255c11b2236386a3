import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openChat, streamChat, type StreamEvent } from '../../src/client/index';
import { startCuttingProxy, type CuttingProxy } from './cutting-proxy';
import { startDevServer, type DevServer } from './dev-server';
import { fakeRecords, uniqueTag, waitForRecord } from './fake-records';

/**
 * The browser client against the real Worker under `wrangler dev`, the fake
 * Gemini and the real SDK, over real sockets. Drops are TCP connections cut
 * by a proxy between client and Worker.
 */

let dev: DevServer;
let fakeUrl: string;
let proxy: CuttingProxy | undefined;

beforeAll(async () => {
  dev = await startDevServer();
  fakeUrl = dev.fakeUrl!;
}, 90_000);

afterAll(async () => {
  await dev?.stop();
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const texts = (events: StreamEvent[]) => events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join('');
const thoughts = (events: StreamEvent[]) => events.filter((e) => e.type === 'thought').map((e) => (e as { text: string }).text);

async function collect(events: AsyncIterable<StreamEvent>, onEvent?: (event: StreamEvent, index: number) => void): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of events) {
    out.push(event);
    onEvent?.(event, out.length);
  }
  return out;
}

/** Exactly one terminal event, and it is last. */
function expectOneTerminal(events: StreamEvent[]): StreamEvent {
  expect(events.filter((e) => e.type !== 'text' && e.type !== 'thought')).toHaveLength(1);
  return events.at(-1)!;
}

describe('streamChat', () => {
  it('streams text events, then done with the finish reason and usage', async () => {
    const tag = uniqueTag();
    const events = await collect(streamChat({ endpoint: dev.url, message: `Hi [fake:reply chunks=5 tag=${tag}]` }));
    const [record] = await fakeRecords(fakeUrl, tag);
    expect(events.filter((e) => e.type === 'text').length).toBe(5);
    expect(texts(events)).toBe(record.sentText);
    const done = expectOneTerminal(events);
    expect(done).toMatchObject({ type: 'done', finishReason: 'STOP' });
    expect((done as { usage: { totalTokenCount: number } }).usage.totalTokenCount).toBeGreaterThan(0);
  });

  it('sends history, system, generation settings and thinking', async () => {
    const tag = uniqueTag();
    await collect(
      streamChat({
        endpoint: `${dev.url}/`,
        message: `And now? [fake:reply tag=${tag}]`,
        system: 'Be brief.',
        history: [
          { role: 'user', text: 'Hello' },
          { role: 'model', text: 'Hi there' },
        ],
        generationConfig: { temperature: 0.2, maxOutputTokens: 100 },
        thinking: { level: 'high' },
      }),
    );
    const [record] = await fakeRecords(fakeUrl, tag);
    expect(record.body.contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    expect(record.body.systemInstruction?.parts[0].text).toBe('Be brief.');
    // 3.8 Flash ignores temperature, so it is not sent.
    expect(record.body.generationConfig).toEqual({ maxOutputTokens: 100, thinkingConfig: { thinkingLevel: 'HIGH' } });
  });

  it('streams the thought summary as thought events before the text when thinking.show is on', async () => {
    const tag = uniqueTag();
    const events = await collect(streamChat({ endpoint: dev.url, message: `Think [fake:reply chunks=3 tag=${tag}]`, thinking: { show: true } }));
    const [record] = await fakeRecords(fakeUrl, tag);
    expect(record.body.generationConfig).toMatchObject({ thinkingConfig: { includeThoughts: true } });
    expect(events.map((e) => e.type)).toEqual(['thought', 'thought', 'text', 'text', 'text', 'done']);
    const [first, second] = thoughts(events);
    expect(first).toMatch(/^\*\*.+\*\*\n\n.*step 1 of 2 before I answer\.\n\n\n$/);
    expect(second).toContain('step 2 of 2');
    expect(texts(events)).toBe(record.sentText);
    expect(texts(events)).not.toContain('step 1 of 2');
    expect(expectOneTerminal(events)).toMatchObject({ type: 'done', usage: { thoughtsTokenCount: record.thoughtsTokenCount } });
  });

  it('sends no thought events without thinking.show (the deployment shows none by default)', async () => {
    const tag = uniqueTag();
    const events = await collect(streamChat({ endpoint: dev.url, message: `Think [fake:reply chunks=3 tag=${tag}]` }));
    const [record] = await fakeRecords(fakeUrl, tag);
    expect(record.thoughtChunksSent).toBe(0);
    expect(events.map((e) => e.type)).toEqual(['text', 'text', 'text', 'done']);
  });

  it('reports a refusal before the stream as one error event with status and Retry-After', async () => {
    const events = await collect(streamChat({ endpoint: dev.url, message: '[fake:http status=429 retry=7s]' }));
    expect(events).toStrictEqual([{ type: 'error', code: 'upstream_quota', message: expect.stringContaining('429'), status: 429, retryAfter: 7 }]);
  });

  it('carries the model Gemini reports as answering in done', async () => {
    const events = await collect(streamChat({ endpoint: dev.url, message: 'Hi [fake:reply chunks=2]', model: 'gemini-3.5-flash-lite' }));
    expect(expectOneTerminal(events)).toMatchObject({ type: 'done', finishReason: 'STOP', model: 'gemini-3.5-flash-lite' });
  });

  it('reports invalid input as an error event with the Worker message', async () => {
    const events = await collect(streamChat({ endpoint: dev.url, message: '   ' }));
    expect(events).toStrictEqual([{ type: 'error', code: 'invalid_request', message: 'message must not be empty or blank', status: 400 }]);
  });

  it('ends with the error event when Gemini fails mid-answer, keeping the text before it', async () => {
    const events = await collect(streamChat({ endpoint: dev.url, message: 'Hi [fake:error code=503]' }));
    expect(texts(events).length).toBeGreaterThan(0);
    const end = expectOneTerminal(events);
    expect(end).toMatchObject({ type: 'error', code: 'upstream_unavailable' });
    expect(end).not.toHaveProperty('status');
  });

  it('reports an unreachable Worker as network_error', async () => {
    const events = await collect(streamChat({ endpoint: 'http://127.0.0.1:9', message: 'Hi' }));
    expect(events).toStrictEqual([{ type: 'error', code: 'network_error', message: 'Could not reach the Worker' }]);
  });

  it('reports an answer that is not the protocol as invalid_response', async () => {
    // The fake Gemini is a server that answers JSON 404s to anything else.
    const events = await collect(streamChat({ endpoint: fakeUrl, message: 'Hi' }));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', code: 'invalid_response', status: 404 });
  });

  it('stops when the signal aborts: the iteration ends and Gemini is aborted', async () => {
    const tag = uniqueTag();
    const controller = new AbortController();
    const events = await collect(
      streamChat({ endpoint: dev.url, message: `Hi [fake:reply chunks=50 delay=40 tag=${tag}]`, signal: controller.signal }),
      (_, n) => n === 2 && controller.abort(),
    );
    expect(events).toHaveLength(2);
    expect(events.every((e) => e.type === 'text')).toBe(true);
    const record = await waitForRecord(fakeUrl, tag, (r) => r.status !== 'streaming');
    expect(record.aborted).toBe(true);
    expect(record.chunksSent).toBeLessThan(50);
  });

  it('stops when the loop is left early (break), and Gemini is aborted', async () => {
    const tag = uniqueTag();
    for await (const event of streamChat({ endpoint: dev.url, message: `Hi [fake:reply chunks=50 delay=40 tag=${tag}]` })) {
      expect(event.type).toBe('text');
      break;
    }
    const record = await waitForRecord(fakeUrl, tag, (r) => r.status !== 'streaming');
    expect(record.aborted).toBe(true);
  });

  it('cannot resume: a cut connection ends with network_error', async () => {
    proxy = await startCuttingProxy(dev.url);
    const events = await collect(streamChat({ endpoint: proxy.url, message: 'Hi [fake:reply chunks=30 delay=30]' }), (_, n) => n === 3 && proxy!.cut());
    expect(events.at(-1)).toStrictEqual({ type: 'error', code: 'network_error', message: 'The connection closed before the answer ended' });
  });
});

describe('openChat', () => {
  it('creates a chat, sends, and reopens it with its messages after a "reload"', async () => {
    const chat = await openChat({ endpoint: dev.url, system: 'Be brief.' });
    expect(chat.id).toMatch(/^[0-9a-f]{64}$/);
    expect(chat.messages).toEqual([]);
    expect(chat.system).toBe('Be brief.');
    expect(chat.model).toBe('gemini-3.8-flash');

    const tag = uniqueTag();
    const events = await collect(chat.send(`Hello [fake:reply chunks=4 tag=${tag}]`));
    const [record] = await fakeRecords(fakeUrl, tag);
    expect(texts(events)).toBe(record.sentText);
    expect(expectOneTerminal(events).type).toBe('done');
    const ids = events.map((e) => e.id!);
    expect(ids).toEqual([1, 2, 3, 4, 5]);

    const reopened = await openChat({ endpoint: dev.url, id: chat.id });
    expect(reopened.id).toBe(chat.id);
    expect(reopened.messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['model', 'complete'],
    ]);
    expect(reopened.messages[1].text).toBe(record.sentText);
    // Nothing in flight: resume ends at once.
    expect(await collect(reopened.resume())).toEqual([]);
  });

  it('send(message, { thinking }) sets this turn\'s thinking: thoughts with ids before the text, kept on the stored message', async () => {
    const chat = await openChat({ endpoint: dev.url });
    expect(chat.thinking).toBeUndefined();
    const tag = uniqueTag();
    const events = await collect(chat.send(`Think [fake:reply chunks=3 tag=${tag}]`, { thinking: { level: 'low', show: true } }));
    const [record] = await fakeRecords(fakeUrl, tag);
    expect(record.body.generationConfig).toMatchObject({ thinkingConfig: { thinkingLevel: 'LOW', includeThoughts: true } });
    expect(events.map((e) => [e.type, e.id])).toEqual([
      ['thought', 1],
      ['thought', 2],
      ['text', 3],
      ['text', 4],
      ['text', 5],
      ['done', 6],
    ]);
    expect(thoughts(events)[0]).toContain('step 1 of 2');
    expect(texts(events)).toBe(record.sentText);

    // The next message says nothing: the chat has no thinking of its own, so no thoughts.
    const plainTag = uniqueTag();
    const plain = await collect(chat.send(`Again [fake:reply chunks=2 tag=${plainTag}]`));
    expect(plain.map((e) => e.type)).toEqual(['text', 'text', 'done']);
    expect((await fakeRecords(fakeUrl, plainTag))[0].body.generationConfig).not.toMatchObject({ thinkingConfig: { includeThoughts: true } });

    const reopened = await openChat({ endpoint: dev.url, id: chat.id });
    expect(reopened.messages[1]).toMatchObject({ role: 'model', text: record.sentText, thoughts: thoughts(events).join('') });
    expect(reopened.messages[3].thoughts).toBeUndefined();
  });

  it('openChat({ thinking }) makes it the chat\'s own: every turn shows its thoughts, and the chat reports it', async () => {
    const chat = await openChat({ endpoint: dev.url, thinking: { show: true } });
    expect(chat.thinking).toEqual({ show: true });
    const events = await collect(chat.send('Think [fake:reply chunks=2 thoughts=1]'));
    expect(events.map((e) => e.type)).toEqual(['thought', 'text', 'text', 'done']);
    expect(thoughts(events)[0]).toContain('step 1 of 1');
    expect((await openChat({ endpoint: dev.url, id: chat.id })).thinking).toEqual({ show: true });
  });

  it('creates a new chat when the id no longer exists', async () => {
    const chat = await openChat({ endpoint: dev.url });
    await chat.delete();
    const fresh = await openChat({ endpoint: dev.url, id: chat.id });
    expect(fresh.id).not.toBe(chat.id);
    const forged = await openChat({ endpoint: dev.url, id: 'f'.repeat(64) });
    expect(forged.id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a second message while a turn streams (turn_in_progress), then cancel stops the turn', async () => {
    const chat = await openChat({ endpoint: dev.url });
    const tag = uniqueTag();
    const first = chat.send(`Hi [fake:reply chunks=60 delay=40 tag=${tag}]`)[Symbol.asyncIterator]();
    expect((await first.next()).value).toMatchObject({ type: 'text' });
    expect(await collect(chat.send('Again'))).toStrictEqual([
      { type: 'error', code: 'turn_in_progress', message: expect.any(String), status: 409 },
    ]);
    expect(await chat.cancel()).toBe(true);
    const rest: StreamEvent[] = [];
    for (let next = await first.next(); !next.done; next = await first.next()) rest.push(next.value);
    expect(rest.at(-1)).toMatchObject({ type: 'error', code: 'cancelled' });
    expect((await waitForRecord(fakeUrl, tag, (r) => r.status !== 'streaming')).aborted).toBe(true);
    expect(await chat.cancel()).toBe(false);
  });

  it('resume() after an aborted send re-attaches and gets the whole answer, from its start', async () => {
    const chat = await openChat({ endpoint: dev.url });
    const tag = uniqueTag();
    const controller = new AbortController();
    const before = await collect(chat.send(`Hi [fake:reply chunks=20 delay=40 tag=${tag}]`, { signal: controller.signal }), (_, n) => n === 3 && controller.abort());
    expect(before).toHaveLength(3);

    // A reload: a new page opens the chat by id, sees the turn in flight, and follows it.
    const reloaded = await openChat({ endpoint: dev.url, id: chat.id });
    expect(reloaded.messages.at(-1)?.status).toBe('streaming');
    const events = await collect(reloaded.resume());
    const [record] = await fakeRecords(fakeUrl, tag);
    expect(texts(events)).toBe(record.sentText);
    expect(expectOneTerminal(events).type).toBe('done');
    expect(record.aborted).toBe(false);
  });

  it('survives connections cut mid-answer: every character once, no duplicate ids, one upstream call', async () => {
    proxy = await startCuttingProxy(dev.url);
    const chat = await openChat({ endpoint: proxy.url, reconnect: { delayMs: 50 } });
    const tag = uniqueTag();
    const cutsAt = new Set([3, 10, 11, 25]);
    const events = await collect(chat.send(`Long [fake:reply chunks=40 delay=30 tag=${tag}]`), (_, n) => cutsAt.has(n) && proxy!.cut());
    const records = await fakeRecords(fakeUrl, tag);
    expect(records).toHaveLength(1); // reconnecting never re-sent the POST
    expect(texts(events)).toBe(records[0].sentText);
    expect(expectOneTerminal(events).type).toBe('done');
    const ids = events.map((e) => e.id!);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(proxy.connections).toBeGreaterThanOrEqual(5);
  });

  it('treats a silent connection as dead (stallTimeoutMs) and resumes', async () => {
    proxy = await startCuttingProxy(dev.url);
    const chat = await openChat({ endpoint: proxy.url, stallTimeoutMs: 400, reconnect: { delayMs: 50 } });
    const tag = uniqueTag();
    const events = await collect(chat.send(`Long [fake:reply chunks=30 delay=30 tag=${tag}]`), (_, n) => n === 5 && proxy!.freeze());
    const [record] = await fakeRecords(fakeUrl, tag);
    expect(texts(events)).toBe(record.sentText);
    expect(expectOneTerminal(events).type).toBe('done');
  });

  it('gives up with network_error after the configured reconnections when the Worker stays unreachable', async () => {
    proxy = await startCuttingProxy(dev.url);
    const chat = await openChat({ endpoint: proxy.url, reconnect: { attempts: 3, delayMs: 20 } });
    const events = await collect(chat.send('Long [fake:reply chunks=40 delay=30]'), (_, n) => {
      if (n === 2) {
        proxy!.refuse = true;
        proxy!.cut();
      }
    });
    expect(events).toHaveLength(3);
    expect(events[2]).toMatchObject({ type: 'error', code: 'network_error', message: expect.stringContaining('gave up after 3 reconnections') });
    await chat.cancel().catch(() => {}); // through the proxy: refused, so the turn's grace period ends it
  });

  it('throws GeminiEdgeError when the Worker cannot be reached', async () => {
    await expect(openChat({ endpoint: 'http://127.0.0.1:9' })).rejects.toMatchObject({ name: 'GeminiEdgeError', code: 'network_error' });
  });
});
