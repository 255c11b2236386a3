import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ChatSnapshot } from '../../src/protocol/messages';
import { uniqueTag, waitForRecord } from '../fake-gemini';
import { parseSse } from '../sse';

/**
 * Every upstream fault, on the stateless stream and in a stored chat: each
 * ends with its documented answer, the upstream request is released (the
 * fake's record settles: finished, dropped or aborted — never left
 * streaming), and the stored history stays consistent. Test bindings:
 * UPSTREAM_TIMEOUT_MS 3000, UPSTREAM_IDLE_TIMEOUT_MS 1500.
 * (Client disconnects at every stage are in test/e2e/disconnects.test.ts: they need real sockets.)
 */

const worker = (path: string, init?: RequestInit) => exports.default.fetch(`http://worker${path}`, init);
const post = (path: string, body: unknown) => worker(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

interface Fault {
  name: string;
  directive: string;
  /** Known before the first frame: the HTTP status and code. */
  refused?: [status: number, code: string];
  /** After the first frame: the terminal frame's event and code (or finish reason). */
  ends?: ['done', string] | ['error', string];
  /** What the fake's record settles as. */
  upstream: ('completed' | 'dropped' | 'aborted' | 'rejected')[];
}

const FAULTS: Fault[] = [
  { name: 'a 429 before streaming', directive: 'http status=429 retry=9s', refused: [429, 'upstream_quota'], upstream: ['rejected'] },
  { name: 'a 500 before streaming', directive: 'http status=500', refused: [503, 'upstream_unavailable'], upstream: ['rejected'] },
  { name: 'a 503 before streaming', directive: 'http status=503', refused: [503, 'upstream_unavailable'], upstream: ['rejected'] },
  { name: 'a blocked prompt', directive: 'blocked', refused: [422, 'blocked'], upstream: ['completed'] },
  { name: 'a stall before the first byte', directive: 'reply first=5000', refused: [504, 'upstream_timeout'], upstream: ['aborted'] },
  { name: 'an in-stream error object', directive: 'error code=500', ends: ['error', 'upstream_unavailable'], upstream: ['completed', 'aborted'] },
  // Gemini may keep the connection open after the error object: the Worker must still let it go.
  { name: 'an in-stream error object on a connection kept open', directive: 'error code=500 hold=1', ends: ['error', 'upstream_unavailable'], upstream: ['aborted'] },
  { name: 'a malformed frame', directive: 'malformed', ends: ['error', 'upstream_malformed'], upstream: ['completed', 'aborted'] },
  { name: 'a dropped connection', directive: 'drop', ends: ['error', 'upstream_disconnected'], upstream: ['dropped'] },
  { name: 'a stall mid-answer', directive: 'stall', ends: ['error', 'upstream_timeout'], upstream: ['aborted'] },
  { name: 'an end without a finish reason', directive: 'nofinish', ends: ['error', 'upstream_incomplete'], upstream: ['completed'] },
  { name: 'a slow drip under the idle timeout', directive: 'reply chunks=3 delay=1100', ends: ['done', 'STOP'], upstream: ['completed'] },
  { name: 'a SAFETY stop', directive: 'safety', ends: ['done', 'SAFETY'], upstream: ['completed'] },
];

function terminal(frames: ReturnType<typeof parseSse>): [string, string] {
  const end = frames.at(-1)!;
  const data = end.data as { finishReason?: string; error?: { code: string } };
  return [end.event!, data.finishReason ?? data.error!.code];
}

describe('faults on POST /api/chat/stream', () => {
  it.each(FAULTS)('$name: the documented answer, and the upstream request released', async (fault) => {
    const tag = uniqueTag();
    const response = await post('/api/chat/stream', { message: `Hi [fake:${fault.directive} tag=${tag}]` });
    if (fault.refused) {
      expect(response.status).toBe(fault.refused[0]);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(fault.refused[1]);
    } else {
      expect(response.status).toBe(200);
      const frames = parseSse(await response.text());
      expect(terminal(frames)).toEqual(fault.ends);
      expect(frames.filter((f) => f.event !== 'text')).toHaveLength(1);
    }
    const record = await waitForRecord(tag, (r) => r.status !== 'streaming');
    expect(fault.upstream).toContain(record.status);
  });
});

describe('faults in a stored chat', () => {
  it.each(FAULTS)('$name: the same answer, and the history stays consistent', async (fault) => {
    const created = await worker('/api/chats', { method: 'POST' });
    const { id } = (await created.json()) as { id: string };
    const tag = uniqueTag();
    const response = await post(`/api/chats/${id}/messages`, { message: `Hi [fake:${fault.directive} tag=${tag}]` });
    if (fault.refused) {
      expect(response.status).toBe(fault.refused[0]);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(fault.refused[1]);
    } else {
      expect(terminal(parseSse(await response.text()))).toEqual(fault.ends);
    }
    expect(fault.upstream).toContain((await waitForRecord(tag, (r) => r.status !== 'streaming')).status);

    const { messages } = (await (await worker(`/api/chats/${id}`)).json()) as ChatSnapshot;
    expect(messages.map((m) => m.role)).toEqual(['user', 'model']);
    expect(messages.some((m) => m.status === 'streaming')).toBe(false);
    const answer = messages[1];
    if (fault.ends?.[0] === 'done') expect(answer).toMatchObject({ status: 'complete', finishReason: fault.ends[1] });
    else expect(answer).toMatchObject({ status: 'failed', error: { code: fault.refused?.[1] ?? fault.ends![1] } });

    // The next turn works, and sends a history that alternates.
    const next = await post(`/api/chats/${id}/messages`, { message: 'And now?' });
    expect(terminal(parseSse(await next.text()))).toEqual(['done', 'STOP']);
    const after = (await (await worker(`/api/chats/${id}`)).json()) as ChatSnapshot;
    expect(after.messages.map((m) => m.role)).toEqual(['user', 'model', 'user', 'model']);
  });
});
