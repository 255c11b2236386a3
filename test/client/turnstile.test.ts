import { describe, expect, it } from 'vitest';
import { openChat, streamChat, type StreamEvent } from '../../src/client/index';

/**
 * The client's `turnstile` option against a stand-in Worker (a `fetch`): a
 * token for the first request, the session after it, a new token when the
 * session is refused, and a token function that fails.
 */

interface Seen {
  path: string;
  token: string | null;
  session: string | null;
}

/** A Worker with Turnstile on: takes any token `t…` once, answers with a session (`s1`, `s2`…, or `prefix`); `refuseSessions` refuses every session. */
function worker(options: { refuseSessions?: boolean; prefix?: string } = {}) {
  const seen: Seen[] = [];
  let issued = 0;
  const used = new Set<string>();
  const fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    const entry = { path: new URL(input).pathname, token: headers.get('x-turnstile-token'), session: headers.get('x-turnstile-session') };
    seen.push(entry);
    const refused = () => new Response(JSON.stringify({ error: { code: 'challenge_failed', message: 'no' } }), { status: 403, headers: { 'content-type': 'application/json' } });
    let session: string | undefined;
    if (entry.session !== null && !options.refuseSessions) {
      // accepted
    } else if (entry.token !== null && entry.token.startsWith('t') && !used.has(entry.token)) {
      used.add(entry.token);
      session = `${options.prefix ?? 's'}${++issued}`;
    } else {
      return refused();
    }
    const extra: Record<string, string> = session ? { 'x-turnstile-session': session } : {};
    if (entry.path === '/api/chats') {
      return new Response(JSON.stringify({ id: 'a'.repeat(64), model: 'm', messages: [], settledEventId: 0 }), { status: 201, headers: { 'content-type': 'application/json', ...extra } });
    }
    const body = 'event: text\ndata: {"text":"Hi"}\n\nevent: done\ndata: {"done":true,"finishReason":"STOP","usage":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2}}\n\n';
    return new Response(body, { headers: { 'content-type': 'text/event-stream', ...extra } });
  };
  return { fetch, seen };
}

async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const all: StreamEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

let endpoints = 0;
const endpoint = () => `https://worker-${++endpoints}.example`;

describe('the turnstile option', () => {
  it('sends a token first, then the session the Worker gave, and asks for a token only once', async () => {
    const { fetch, seen } = worker();
    const url = endpoint();
    let tokens = 0;
    const turnstile = () => `t${++tokens}`;
    for (let i = 0; i < 3; i++) expect((await collect(streamChat({ endpoint: url, message: 'Hi', fetch, turnstile }))).at(-1)?.type).toBe('done');
    expect(seen.map(({ token, session }) => [token, session])).toEqual([['t1', null], [null, 's1'], [null, 's1']]);
    expect(tokens).toBe(1);
    // openChat creates its chat with the same session.
    await openChat({ endpoint: url, fetch, turnstile });
    expect(seen.at(-1)).toEqual({ path: '/api/chats', token: null, session: 's1' });
  });

  it('gets a new token when the session is refused with challenge_failed, and keeps the new session', async () => {
    const { fetch, seen } = worker();
    const url = endpoint();
    let tokens = 0;
    await collect(streamChat({ endpoint: url, message: 'Hi', fetch, turnstile: () => `t${++tokens}` }));
    const refusing = worker({ refuseSessions: true, prefix: 'new' });
    const events = await collect(streamChat({ endpoint: url, message: 'Hi', fetch: refusing.fetch, turnstile: () => `t${++tokens}` }));
    expect(events.at(-1)?.type).toBe('done');
    expect(refusing.seen.map(({ token, session }) => [token, session])).toEqual([[null, 's1'], ['t2', null]]);
    expect(seen).toHaveLength(1);
    // The next request carries the new session (`new1`, issued with t2's answer), and no token.
    expect((await collect(streamChat({ endpoint: url, message: 'Hi', fetch, turnstile: () => `t${++tokens}` }))).at(-1)?.type).toBe('done');
    expect(seen.map(({ token, session }) => [token, session])).toEqual([['t1', null], [null, 'new1']]);
    expect(tokens).toBe(2);
  });

  it('is a challenge_failed error when the token function fails, and sends no request', async () => {
    const { fetch, seen } = worker();
    const events = await collect(streamChat({ endpoint: endpoint(), message: 'Hi', fetch, turnstile: () => Promise.reject(new Error('Turnstile 300030')) }));
    expect(events).toEqual([{ type: 'error', code: 'challenge_failed', message: 'Error: Turnstile 300030', status: 403 }]);
    expect(seen).toHaveLength(0);
    await expect(openChat({ endpoint: endpoint(), fetch, turnstile: () => { throw new Error('no'); } })).rejects.toMatchObject({ code: 'challenge_failed', status: 403 });
  });

  it('sends nothing of Turnstile without the option', async () => {
    const { fetch, seen } = worker();
    await collect(streamChat({ endpoint: endpoint(), message: 'Hi', fetch }));
    expect(seen[0]).toMatchObject({ token: null, session: null });
  });
});
