import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyText } from '../../fake-gemini/scenarios.mjs';
import { joinedText, parseSse, type Frame } from '../sse';
import { startDevServer, type DevServer } from './dev-server';

/**
 * Chats live in SQLite-backed Durable Objects. These tests run real `wrangler dev`
 * processes on one `--persist-to` directory and restart them, as a deploy or a
 * crash would, to prove what survives: the history, the latest turn's frames,
 * and a turn cut in the middle (stored as failed, `interrupted`).
 */

let persistDir: string;
let dev: DevServer;

const start = () => startDevServer(['--persist-to', persistDir]);

/** Stops wrangler dev (SIGTERM to its process group) and starts a new one on the same storage. */
async function restart(): Promise<void> {
  await dev.stop();
  dev = await start();
}

beforeAll(async () => {
  persistDir = await mkdtemp(join(tmpdir(), 'gemini-edge-persist-'));
  dev = await start();
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  if (persistDir) await rm(persistDir, { recursive: true, force: true });
});

interface StoredMessage {
  id: number;
  role: 'user' | 'model';
  text: string;
  thoughts?: string;
  status: 'complete' | 'streaming' | 'cancelled' | 'failed';
  finishReason?: string;
  usage?: Record<string, number>;
  error?: { code: string; message: string };
  createdAt: string;
}

interface ChatSnapshot {
  id: string;
  model: string;
  system?: string;
  messages: StoredMessage[];
}

interface FakeRecord {
  tag: string | null;
  status: string;
  aborted: boolean;
  sentText: string;
  chunksSent: number;
  body: { contents: { role: string; parts: { text: string }[] }[] };
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

async function createChat(): Promise<string> {
  const response = await fetch(`${dev.url}/api/chats`, json({}));
  expect(response.status).toBe(201);
  const { id } = (await response.json()) as { id: string };
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  return id;
}

async function getChat(id: string): Promise<ChatSnapshot> {
  const response = await fetch(`${dev.url}/api/chats/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as ChatSnapshot;
}

const send = (id: string, message: string) => fetch(`${dev.url}/api/chats/${id}/messages`, json({ message }));

const resume = (id: string, lastEventId?: string) =>
  fetch(`${dev.url}/api/chats/${id}/stream`, lastEventId === undefined ? {} : { headers: { 'last-event-id': lastEventId } });

/**
 * Reads an SSE body frame by frame as it arrives, handing each complete frame
 * to `onFrame` (heartbeat comments are skipped). Rejects if the connection breaks.
 */
async function readFrames(body: ReadableStream<Uint8Array>, onFrame: (frame: Frame) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const end = buffer.lastIndexOf('\n\n');
    if (end < 0) continue;
    for (const frame of parseSse(buffer.slice(0, end + 2))) if (frame.comment === undefined) onFrame(frame);
    buffer = buffer.slice(end + 2);
  }
  if (buffer !== '') throw new Error(`the stream ended inside a frame: ${JSON.stringify(buffer)}`);
}

async function readAll(response: Response): Promise<Frame[]> {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const frames: Frame[] = [];
  await readFrames(response.body!, (frame) => frames.push(frame));
  return frames;
}

/** Text frames with ascending ids, then exactly one terminal frame (`done` or `error`) with the next id. */
function expectTurnFrames(frames: Frame[], terminal: 'done' | 'error'): void {
  expect(frames.length).toBeGreaterThan(0);
  expect(frames.at(-1)!.event).toBe(terminal);
  expect(frames.slice(0, -1).every((f) => f.event === 'text' || f.event === 'thought')).toBe(true);
  const ids = frames.map((f) => Number(f.id));
  expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(new Set(ids).size).toBe(ids.length);
}

/** Sends a message and reads its answer to the `done` frame. */
async function completeTurn(id: string, message: string): Promise<Frame[]> {
  const frames = await readAll(await send(id, message));
  expectTurnFrames(frames, 'done');
  return frames;
}

async function fakeRecords(tag: string): Promise<FakeRecord[]> {
  expect(dev.fakeUrl).toBeDefined();
  return (await (await fetch(`${dev.fakeUrl}/__fake/requests?tag=${tag}`)).json()) as FakeRecord[];
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Gemini contents as [role, text] pairs. */
const contentsOf = (record: FakeRecord) => record.body.contents.map((c) => [c.role, c.parts.map((p) => p.text).join('')]);

const uniqueTag = (name: string) => `${name}${Date.now()}${Math.floor(Math.random() * 1e6)}`;

describe('chats across a restart of wrangler dev (same --persist-to)', () => {
  it('keeps the history, and the next turn sends it to Gemini', async () => {
    const tag = uniqueTag('history');
    const id = await createChat();
    const questions = [
      `First question [fake:reply chunks=3 delay=5 tag=${tag}a]`,
      `Second question [fake:reply chunks=4 delay=5 tag=${tag}b]`,
    ];
    const answers: Frame[][] = [];
    for (const question of questions) answers.push(await completeTurn(id, question));

    const before = await getChat(id);
    expect(before.id).toBe(id);
    expect(before.messages).toHaveLength(4);
    for (const [i, question] of questions.entries()) {
      const done = answers[i].at(-1)!.data as { finishReason: string; usage: Record<string, number> };
      expect(before.messages[2 * i]).toMatchObject({ role: 'user', text: question, status: 'complete' });
      expect(before.messages[2 * i + 1]).toMatchObject({
        role: 'model',
        text: joinedText(answers[i]),
        status: 'complete',
        finishReason: done.finishReason,
        usage: done.usage,
      });
      expect(before.messages[2 * i + 1].text).not.toBe('');
    }

    await restart();

    const after = await getChat(id);
    expect(after.id).toBe(id);
    expect(after.messages).toHaveLength(4);
    // Same ids, roles, texts, statuses, finish reasons, usage and timestamps.
    expect(after).toEqual(before);

    const third = `Third question [fake:reply chunks=2 delay=5 tag=${tag}c]`;
    const answer = await completeTurn(id, third);
    const records = await fakeRecords(`${tag}c`);
    expect(records).toHaveLength(1);
    // The restarted Worker read the history from storage: user/model alternate, the new message last.
    expect(contentsOf(records[0])).toEqual([
      ['user', questions[0]],
      ['model', before.messages[1].text],
      ['user', questions[1]],
      ['model', before.messages[3].text],
      ['user', third],
    ]);

    const final = await getChat(id);
    expect(final.messages).toHaveLength(6);
    expect(final.messages.slice(0, 4)).toEqual(before.messages);
    expect(final.messages[4]).toMatchObject({ role: 'user', text: third, status: 'complete' });
    expect(final.messages[5]).toMatchObject({ role: 'model', text: joinedText(answer), status: 'complete', finishReason: 'STOP' });
  });

  it('replays the latest turn from storage, then answers 204 after its done frame', async () => {
    const id = await createChat();
    const first = await completeTurn(id, 'One [fake:reply chunks=3 delay=5]');
    const latest = await completeTurn(id, 'Two [fake:reply chunks=5 delay=5]');
    // Ids count up across the chat's turns.
    expect(Number(latest[0].id)).toBeGreaterThan(Number(first.at(-1)!.id));

    await restart();

    // No turn in memory after the restart: these come from the stored frames.
    const replay = await readAll(await resume(id));
    expectTurnFrames(replay, 'done');
    expect(replay).toEqual(latest);

    const fromMiddle = await readAll(await resume(id, latest[1].id));
    expect(fromMiddle).toEqual(latest.slice(2));

    const finished = await resume(id, replay.at(-1)!.id);
    expect(finished.status).toBe(204);
    expect(await finished.text()).toBe('');
  });

  it('stores a turn cut by a restart as failed (interrupted), thought summary included, and tells a resuming client', async () => {
    const tag = uniqueTag('cut');
    const id = await createChat();
    const warmUp = await completeTurn(id, 'Warm-up [fake:reply chunks=2 delay=5]');

    // This turn shows its thoughts: three summaries come first, and must survive the cut like the text.
    const slow = `A long one [fake:reply chunks=200 delay=50 thoughts=3 tag=${tag}]`;
    const response = await fetch(`${dev.url}/api/chats/${id}/messages`, json({ message: slow, thinking: { show: true } }));
    expect(response.status).toBe(200);
    const received: Frame[] = [];
    // Rejects when the server goes away mid-frame; that is expected here.
    const reading = readFrames(response.body!, (frame) => received.push(frame)).catch(() => undefined);
    // Enough frames (~1.5 s) that the turn has had time to persist some of them, so the
    // stored text is not trivially empty; the spec holds for any cut point.
    await until(() => received.length >= 30, '30 text frames');
    // The fake restarts with the server: keep what it was asked, to know the whole answer it would send.
    const [record] = await fakeRecords(tag);
    expect(record.status).toBe('streaming');
    const fullAnswer = replyText('reply', 200, contentsOf(record).map(([, text]) => text).join('').length);

    await dev.stop();
    await reading;
    // The connection broke (or ended) without a terminal frame: the turn never finished.
    expect(received.slice(0, 3).map((f) => f.event)).toEqual(['thought', 'thought', 'thought']);
    expect(received.slice(3).every((f) => f.event === 'text')).toBe(true);
    const receivedThoughts = received
      .filter((f) => f.event === 'thought')
      .map((f) => (f.data as { thought: string }).thought)
      .join('');
    expect(received.length).toBeLessThan(200);
    const receivedText = joinedText(received);
    expect(fullAnswer.startsWith(receivedText)).toBe(true);

    dev = await start();

    const chat = await getChat(id);
    expect(chat.messages).toHaveLength(4);
    expect(chat.messages[2]).toMatchObject({ role: 'user', text: slow, status: 'complete' });
    const model = chat.messages[3];
    expect(model.role).toBe('model');
    expect(model.status).not.toBe('streaming');
    // Soft from here: report every way the stored turn differs from the spec, not just the first.
    expect.soft(model.status).toBe('failed');
    expect.soft(model.error?.code).toBe('interrupted');
    expect.soft(fullAnswer.startsWith(model.text), 'the stored text is a prefix of what the fake sent').toBe(true);
    // Frames are stored in batches (at most a second, or 64 frames, behind the live stream: the
    // price of a few row writes per turn instead of one per chunk), so a restart may lose the
    // newest text the client saw. What is stored is never different from what was sent.
    expect.soft(receivedText.startsWith(model.text), 'the stored text is a prefix of what the client received').toBe(true);
    expect.soft(model.text.length, 'batches were stored before the restart').toBeGreaterThan(0);
    expect.soft(model.thoughts, 'the thought summary was stored with the first batch, apart from the text').toBe(receivedThoughts);

    // Resuming from the start replays the stored frames and ends with the interruption.
    const replay = await readAll(await resume(id));
    expectTurnFrames(replay, 'error');
    expect.soft((replay.at(-1)!.data as { error: { code: string } }).error.code).toBe('interrupted');
    expect.soft(joinedText(replay)).toBe(model.text);
    // A replayed frame is the very frame the client got under that id.
    const byId = new Map(received.map((f) => [f.id, f]));
    for (const frame of replay.slice(0, -1)) expect.soft(byId.get(frame.id), `frame ${frame.id}`).toEqual(frame);

    // Ids are never reused: the interruption comes after every frame the client already has.
    const lastSeen = received.at(-1)!.id!;
    expect.soft(Number(replay.at(-1)!.id), 'the error frame id is above the last id received').toBeGreaterThan(Number(lastSeen));
    // Resuming where the client stopped (what EventSource does) must tell it the turn was interrupted, not 204.
    const fromLastSeen = await resume(id, lastSeen);
    expect.soft(fromLastSeen.status, `resume with Last-Event-ID ${lastSeen} (the last frame received)`).toBe(200);
    if (fromLastSeen.status === 200) {
      const rest = await readAll(fromLastSeen);
      expect.soft(rest.at(-1)?.event).toBe('error');
      expect.soft((rest.at(-1)?.data as { error?: { code: string } } | undefined)?.error?.code).toBe('interrupted');
      expect.soft(rest.every((f) => Number(f.id) > Number(lastSeen))).toBe(true);
    } else {
      await fromLastSeen.body?.cancel();
    }

    // The chat goes on.
    const next = `After the restart [fake:reply chunks=3 delay=5 tag=${tag}n]`;
    const answer = await completeTurn(id, next);
    const [nextRecord] = await fakeRecords(`${tag}n`);
    const roles = contentsOf(nextRecord).map(([role]) => role);
    expect(roles.every((role, i) => role === (i % 2 === 0 ? 'user' : 'model'))).toBe(true);
    expect(contentsOf(nextRecord).slice(0, 2)).toEqual([
      ['user', 'Warm-up [fake:reply chunks=2 delay=5]'],
      ['model', joinedText(warmUp)],
    ]);
    expect(contentsOf(nextRecord).at(-1)).toEqual(['user', next]);

    const final = await getChat(id);
    expect(final.messages).toHaveLength(6);
    expect(final.messages[5]).toMatchObject({ role: 'model', text: joinedText(answer), status: 'complete', finishReason: 'STOP' });
    expect(Number(answer[0].id)).toBeGreaterThan(Number(replay.at(-1)!.id));
  });
});
