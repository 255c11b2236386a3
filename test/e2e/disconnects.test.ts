import { request, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatSnapshot } from '../../src/protocol/messages';
import { startDevServer, type DevServer } from './dev-server';
import { uniqueTag, waitForRecord } from './fake-records';

/**
 * A client that goes away at every stage, over real sockets under
 * `wrangler dev`: before the answer's headers, after its first frame, and
 * during a chat turn's grace period. Each time the upstream request is
 * released (aborted, not left generating) and a stored chat stays consistent.
 */

let dev: DevServer;
const GRACE_MS = 1500;

beforeAll(async () => {
  dev = await startDevServer(['--var', `RESUME_GRACE_MS:${GRACE_MS}`]);
}, 90_000);

afterAll(async () => {
  await dev?.stop();
});

/**
 * Sends a request and destroys its socket at `when`: `headers` (before any
 * answer arrives, after `afterMs`) or `frame` (once the first body bytes arrive).
 */
function leave(method: string, path: string, body: string | undefined, when: 'headers' | 'frame', afterMs = 300): Promise<void> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(`${dev.url}${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.on('response', (res) => {
      if (when === 'headers') return reject(new Error(`the answer's headers came before ${afterMs} ms`));
      res.once('data', () => req.destroy());
    });
    if (when === 'headers') setTimeout(() => req.destroy(), afterMs);
    req.end(body);
  });
}

const json = (value: unknown) => JSON.stringify(value);

async function newChat(): Promise<string> {
  return ((await (await fetch(`${dev.url}/api/chats`, { method: 'POST' })).json()) as { id: string }).id;
}

async function snapshot(id: string): Promise<ChatSnapshot> {
  return (await (await fetch(`${dev.url}/api/chats/${id}`)).json()) as ChatSnapshot;
}

/** The turn settled as cancelled, with whatever text arrived, and the chat takes its next message. */
async function expectCancelledAndConsistent(id: string): Promise<void> {
  let chat = await snapshot(id);
  for (let i = 0; i < 50 && chat.messages.at(-1)?.status === 'streaming'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    chat = await snapshot(id);
  }
  expect(chat.messages.map((m) => m.role)).toEqual(['user', 'model']);
  expect(chat.messages[1]).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
  const next = await fetch(`${dev.url}/api/chats/${id}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json({ message: 'Next' }) });
  expect(next.status).toBe(200);
  expect(await next.text()).toMatch(/event: done\n/);
}

describe('a client that goes away', () => {
  // wrangler dev does not abort the Worker's request.signal when a client leaves before the
  // response starts (cloudflare/workers-sdk#6467; deployed, it does): the Worker learns it
  // when the answer's first bytes find no reader, and aborts Gemini then.
  it('before the headers of a stateless answer: Gemini is aborted once the answer starts', async () => {
    const tag = uniqueTag();
    await leave('POST', '/api/chat/stream', json({ message: `Hi [fake:reply first=1500 chunks=20 delay=50 tag=${tag}]` }), 'headers');
    const record = await waitForRecord(dev.fakeUrl!, tag, (r) => r.status !== 'streaming');
    expect(record.aborted).toBe(true);
    expect(record.chunksSent).toBeLessThanOrEqual(3);
  });

  it('after the first frame of a stateless answer: Gemini is aborted', async () => {
    const tag = uniqueTag();
    await leave('POST', '/api/chat/stream', json({ message: `Hi [fake:reply chunks=60 delay=40 tag=${tag}]` }), 'frame');
    const record = await waitForRecord(dev.fakeUrl!, tag, (r) => r.status !== 'streaming');
    expect(record.aborted).toBe(true);
    expect(record.chunksSent).toBeLessThan(60);
  });

  it('before the headers of a chat turn: the turn ends after the grace period, cancelled, and the chat stays consistent', async () => {
    const id = await newChat();
    const tag = uniqueTag();
    await leave('POST', `/api/chats/${id}/messages`, json({ message: `Hi [fake:reply first=800 chunks=100 delay=40 tag=${tag}]` }), 'headers');
    const record = await waitForRecord(dev.fakeUrl!, tag, (r) => r.status !== 'streaming');
    expect(record.aborted).toBe(true);
    expect(record.chunksSent).toBeLessThan(100);
    await expectCancelledAndConsistent(id);
  });

  it('after the first frame of a chat turn: the same', async () => {
    const id = await newChat();
    const tag = uniqueTag();
    await leave('POST', `/api/chats/${id}/messages`, json({ message: `Hi [fake:reply chunks=150 delay=40 tag=${tag}]` }), 'frame');
    expect((await waitForRecord(dev.fakeUrl!, tag, (r) => r.status !== 'streaming')).aborted).toBe(true);
    await expectCancelledAndConsistent(id);
  });

  it('again, after resuming during the grace period: the grace period starts over, then the turn is cancelled', async () => {
    const id = await newChat();
    const tag = uniqueTag();
    await leave('POST', `/api/chats/${id}/messages`, json({ message: `Hi [fake:reply chunks=200 delay=40 tag=${tag}]` }), 'frame');
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS / 2));
    await leave('GET', `/api/chats/${id}/stream?lastEventId=1`, undefined, 'frame');
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS * 0.75));
    // Past the first grace period, still running: the resume restarted it.
    const [running] = (await (await fetch(`${dev.fakeUrl}/__fake/requests?tag=${tag}`)).json()) as { status: string }[];
    expect(running.status).toBe('streaming');
    expect((await waitForRecord(dev.fakeUrl!, tag, (r) => r.status !== 'streaming')).aborted).toBe(true);
    await expectCancelledAndConsistent(id);
  });
});
