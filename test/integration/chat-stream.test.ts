import { createExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeRequests, uniqueTag, waitForRecord } from '../fake-gemini';
import { base64, exe, jpeg, pdf, png, sha256, SVG_WITH_SCRIPT, text as textBytes } from '../files';
import { joinedText, parseSse, type Frame } from '../sse';
import { app } from '../../src/app';
import type { Env } from '../../src/env';

function post(body: unknown, init: RequestInit = {}) {
  return exports.default.fetch('http://worker/api/chat/stream', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...init,
  });
}

/** Every stream ends with exactly one terminal frame, done or error. */
function terminal(frames: Frame[]): Frame {
  const terminals = frames.filter((f) => f.event === 'done' || f.event === 'error');
  expect(terminals).toHaveLength(1);
  expect(frames.at(-1)).toBe(terminals[0]);
  return terminals[0];
}

async function stream(directive: string, extra: Record<string, unknown> = {}) {
  const tag = uniqueTag();
  const response = await post({ message: `Question ${directive.replace(']', ` tag=${tag}]`)}`, ...extra });
  expect(response.status).toBe(200);
  const frames = parseSse(await response.text());
  const [record] = await fakeRequests(tag);
  return { frames, record, end: terminal(frames), response };
}

afterEach(() => vi.restoreAllMocks());

describe('POST /api/chat/stream', () => {
  it('streams the answer as text frames and ends with done, the finish reason and token usage', async () => {
    const { frames, record, end, response } = await stream('[fake:reply chunks=6]');
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('content-encoding')).toBe('identity');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(frames.filter((f) => f.event === 'text')).toHaveLength(6);
    expect(joinedText(frames)).toBe(record.sentText);
    const candidates = Math.ceil(record.sentText.length / 4);
    const prompt = (end.data as { usage: { promptTokenCount: number } }).usage.promptTokenCount;
    // Gemini 3.8 Flash thinks by default (MEDIUM): its thought tokens are in the total.
    const thoughts = record.thoughtsTokenCount;
    expect(thoughts).toBeGreaterThan(0);
    expect(end).toEqual({
      event: 'done',
      data: {
        done: true,
        finishReason: 'STOP',
        usage: { promptTokenCount: prompt, candidatesTokenCount: candidates, totalTokenCount: prompt + candidates + thoughts, thoughtsTokenCount: thoughts },
        // Gemini's modelVersion: the model that answered.
        model: 'gemini-3.8-flash',
      },
    });
    expect(prompt).toBeGreaterThan(0);
  });

  it('calls Gemini through the SDK with the key, the model and the capped generation config', async () => {
    const { record } = await stream('[fake:reply]', { model: 'gemini-3.1-pro-preview', generationConfig: { temperature: 0.3 } });
    expect(record.method).toBe('streamGenerateContent');
    expect(record.model).toBe('gemini-3.1-pro-preview');
    expect(record.hasKey).toBe(true);
    expect(record.body.generationConfig).toEqual({ temperature: 0.3, maxOutputTokens: 4096 });
  });

  it('sends system instruction and history before the new message, alternating user/model', async () => {
    const history = [
      { role: 'user', text: 'My name is Ada.' },
      { role: 'model', text: 'Hello Ada!' },
    ];
    const { record } = await stream('[fake:reply]', { system: 'Answer briefly.', history });
    expect(record.body.systemInstruction?.parts).toEqual([{ text: 'Answer briefly.' }]);
    expect(record.body.contents.map((c) => [c.role, c.parts[0].text])).toEqual([
      ['user', 'My name is Ada.'],
      ['model', 'Hello Ada!'],
      ['user', expect.stringContaining('[fake:reply tag=')],
    ]);
  });

  it('forwards each piece as the model writes it, before the answer is complete', async () => {
    const tag = uniqueTag();
    const response = await post({ message: `[fake:reply chunks=4 delay=400 tag=${tag}]` });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: text\n/);
    // The fake is still holding back the rest of the answer.
    const [record] = await fakeRequests(tag);
    expect(record.status).toBe('streaming');
    expect(record.chunksSent).toBeLessThan(4);
    await reader.cancel();
  });

  it('does not send sampling parameters to a model that ignores them, so a request keeps working when Gemini starts refusing them', async () => {
    // sampling=reject: the fake answers temperature/topP/topK with a 400, as "future model generations" will.
    const { record, end } = await stream('[fake:reply sampling=reject]', { generationConfig: { temperature: 0.3, topP: 0.9, topK: 40 } });
    expect(record.model).toBe('gemini-3.8-flash');
    expect(record.body.generationConfig).toEqual({ maxOutputTokens: 4096 });
    expect(record.ignored).toEqual([]);
    expect(end.event).toBe('done');
  });

  it('sends them to a model that honours them', async () => {
    const { record } = await stream('[fake:reply sampling=reject]', { model: 'gemini-3.1-pro-preview', generationConfig: { temperature: 0.3, topK: 40 } });
    expect(record.honoured).toEqual(['temperature', 'topK']);
  });

  it('sends an answer that is over with its first chunk in the same frames as any other (whole: see test/e2e/dev.test.ts)', async () => {
    const tag = uniqueTag();
    // signature=none: no closing signature event, so the first chunk carries the finish (as 2.5 models sent it).
    const response = await post({ message: `Hi [fake:reply chunks=1 signature=none tag=${tag}]` });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    const text = await response.text();
    const [record] = await fakeRequests(tag);
    const candidates = Math.ceil(record.sentText.length / 4);
    const prompt = Math.ceil(`Hi [fake:reply chunks=1 signature=none tag=${tag}]`.length / 4);
    const thoughts = record.thoughtsTokenCount;
    const usage = { promptTokenCount: prompt, candidatesTokenCount: candidates, totalTokenCount: prompt + candidates + thoughts, thoughtsTokenCount: thoughts };
    expect(text).toBe(
      `event: text\ndata: ${JSON.stringify({ text: record.sentText })}\n\n` +
        `event: done\ndata: ${JSON.stringify({ done: true, finishReason: 'STOP', usage, model: 'gemini-3.8-flash' })}\n\n`,
    );
  });

  it('ends a Gemini 3 answer at its closing event, whose only part is an empty text with a thought signature', async () => {
    const { frames, record, end } = await stream('[fake:reply chunks=1]');
    // One text chunk, then the closing event: no text frame for the empty part.
    expect(frames.filter((f) => f.event === 'text')).toEqual([{ event: 'text', data: { text: record.sentText } }]);
    expect(end).toMatchObject({ event: 'done', data: { finishReason: 'STOP', model: 'gemini-3.8-flash' } });
  });

  it('streams an answer whose every chunk carries the finish reason (older models) as it is written, not whole', async () => {
    const tag = uniqueTag();
    const response = await post({ message: `[fake:reply chunks=4 delay=300 finisheach=1 tag=${tag}]` });
    expect(response.headers.get('content-length')).toBeNull();
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let body = decoder.decode((await reader.read()).value, { stream: true });
    expect(body).toMatch(/^event: text\n/);
    // Two chunks at most have been read: the first, and the one that showed the answer goes on.
    const [during] = await fakeRequests(tag);
    expect(during.status).toBe('streaming');
    expect(during.chunksSent).toBeLessThan(4);
    for (let read = await reader.read(); !read.done; read = await reader.read()) body += decoder.decode(read.value, { stream: true });
    const frames = parseSse(body);
    const [record] = await fakeRequests(tag);
    expect(frames.filter((f) => f.event === 'text')).toHaveLength(4);
    expect(joinedText(frames)).toBe(record.sentText);
    expect(terminal(frames)).toMatchObject({ event: 'done', data: { finishReason: 'STOP' } });
  });

  it('keeps multibyte text intact when Gemini splits frames inside a character', async () => {
    const { frames, record, end } = await stream('[fake:utf8 chunks=8]');
    expect(record.sentText).toMatch(/你好.*🌍/u);
    expect(joinedText(frames)).toBe(record.sentText);
    expect(end.event).toBe('done');
  });

  it('streams a long answer of 400 chunks without losing or merging one', async () => {
    // 3.5 Flash-Lite does not think by default: the whole output budget goes to the answer.
    const { frames, record, end } = await stream('[fake:long]', { model: 'gemini-3.5-flash-lite' });
    expect(record.chunksSent).toBe(400);
    expect(frames.filter((f) => f.event === 'text')).toHaveLength(400);
    expect(joinedText(frames)).toBe(record.sentText);
    expect(end.event).toBe('done');
  });

  it('keeps the partial text of a SAFETY stop and says why', async () => {
    const { frames, record, end } = await stream('[fake:safety]');
    expect(joinedText(frames)).toBe(record.sentText);
    expect(record.sentText.length).toBeGreaterThan(0);
    expect((end.data as { finishReason: string }).finishReason).toBe('SAFETY');
  });

  it('ends with MAX_TOKENS when the answer hits maxOutputTokens', async () => {
    const { frames, record, end } = await stream('[fake:reply]', { model: 'gemini-3.5-flash-lite', generationConfig: { maxOutputTokens: 5 } });
    expect(record.body.generationConfig).toEqual({ maxOutputTokens: 5 });
    expect(joinedText(frames)).toHaveLength(20);
    expect((end.data as { finishReason: string }).finishReason).toBe('MAX_TOKENS');
  });

  it('ends with MAX_TOKENS and no text when thinking spends the whole output budget', async () => {
    const { frames, record, end } = await stream('[fake:reply]', { generationConfig: { maxOutputTokens: 100 } });
    expect(record.thoughtsTokenCount).toBe(100);
    expect(frames.filter((f) => f.event === 'text')).toEqual([]);
    expect(end).toMatchObject({ event: 'done', data: { finishReason: 'MAX_TOKENS', usage: { candidatesTokenCount: 0, thoughtsTokenCount: 100 } } });
  });

  it('reports RECITATION when Gemini stops a recited answer after the text', async () => {
    const { frames, record, end } = await stream('[fake:recitation]');
    expect(joinedText(frames)).toBe(record.sentText);
    expect((end.data as { finishReason: string }).finishReason).toBe('RECITATION');
  });

  it('passes a TOO_MANY_TOOL_CALLS finish through as Gemini gave it', async () => {
    const { frames, record, end } = await stream('[fake:reply finish=TOO_MANY_TOOL_CALLS]');
    expect(joinedText(frames)).toBe(record.sentText);
    expect(end.event).toBe('done');
    expect((end.data as { finishReason: string }).finishReason).toBe('TOO_MANY_TOOL_CALLS');
  });

  it('names in done the model Gemini reports as answering, which a reroute makes another than the one asked for', async () => {
    const { end } = await stream('[fake:reply]', { model: 'gemini-flash-latest' });
    expect(end.event).toBe('done');
    expect((end.data as { model?: string }).model).toBe('gemini-3.8-flash');
  });

  it('passes finish reasons it does not know through unchanged', async () => {
    const { end } = await stream('[fake:reply finish=SOMETHING_NEW]');
    expect((end.data as { finishReason: string }).finishReason).toBe('SOMETHING_NEW');
  });

  it.each([
    ['an in-stream error object', '[fake:error code=500]', 'upstream_unavailable', /Gemini failed mid-answer \(500 INTERNAL\)/],
    ['an in-stream 429 error object', '[fake:error code=429]', 'upstream_quota', /429 RESOURCE_EXHAUSTED/],
    ['a malformed frame', '[fake:malformed]', 'upstream_malformed', /malformed/],
    ['a dropped connection', '[fake:drop]', 'upstream_disconnected', /broke off/],
    ['an end without finish reason', '[fake:nofinish]', 'upstream_incomplete', /without a finish reason/],
    ['a stall between chunks', '[fake:stall]', 'upstream_timeout', /sent nothing for 1500 ms/],
  ])('keeps the text and ends with one error frame on %s', async (_, directive, code, message) => {
    const { frames, record, end } = await stream(directive);
    expect(joinedText(frames)).toBe(record.sentText);
    expect(record.sentText.length).toBeGreaterThan(0);
    expect(end.event).toBe('error');
    const error = (end.data as { error: { code: string; message: string } }).error;
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(Object.keys(end.data as object)).toEqual(['error']);
  });

  it('aborts the upstream call when Gemini stalls, so the stalled request does not linger', async () => {
    const { record: before } = await stream('[fake:stall]');
    const record = await waitForRecord(before.tag!, (r) => r.aborted);
    expect(record.status).toBe('aborted');
  });

  it('aborts the upstream request as soon as the client disconnects', async () => {
    const tag = uniqueTag();
    const controller = new AbortController();
    const response = await post({ message: `[fake:reply chunks=200 delay=50 tag=${tag}]` }, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.cancel().catch(() => {});
    const record = await waitForRecord(tag, (r) => r.aborted);
    expect(record.status).toBe('aborted');
    expect(record.chunksSent).toBeLessThan(200);
  });

  describe('errors known before the first frame are plain HTTP errors', () => {
    async function error(directive: string) {
      const tag = uniqueTag();
      const response = await post({ message: directive.replace(']', ` tag=${tag}]`) });
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(Object.keys(body)).toEqual(['error']);
      const records = await fakeRequests(tag);
      return { response, error: body.error, records };
    }

    it('answers 429 upstream_quota (not our own rate_limited) with Retry-After from Gemini’s RetryInfo', async () => {
      const { response, error: e } = await error('[fake:http status=429 retry=21s]');
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('21');
      expect(e.code).toBe('upstream_quota');
      expect(e.message).toBe("Gemini's quota for this key is used up (429 Too Many Requests); try again in 21 s");
    });

    it('takes Retry-After from "Please retry in N s." in Gemini’s message when there is no RetryInfo, and passes none of Google’s text on', async () => {
      const { response, error: e } = await error('[fake:http status=429 retryinfo=none retry=7.967587226s]');
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('8');
      expect(e).toEqual({ code: 'upstream_quota', message: "Gemini's quota for this key is used up (429 Too Many Requests); try again in 8 s" });
    });

    it('prefers RetryInfo to the wait in Gemini’s message', async () => {
      const { response } = await error('[fake:http status=429 retry=40.5s]');
      // RetryInfo says 40s, the message 40.5s (whole seconds there, as Google writes it).
      expect(response.headers.get('retry-after')).toBe('40');
    });

    it('sends no Retry-After when Gemini names no wait at all (a Help-only 429)', async () => {
      const { response, error: e } = await error('[fake:http status=429 retry=none]');
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBeNull();
      expect(e.message).toBe("Gemini's quota for this key is used up (429 Too Many Requests); try again later");
    });

    it('says the key’s project has no quota for the model when Gemini’s limit is 0, with no Retry-After (no wait refills it)', async () => {
      const { response, error: e } = await error('[fake:http status=429 limit=0 retry=31.2s]');
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBeNull();
      expect(e.code).toBe('upstream_quota');
      expect(e.message).toBe(
        'Gemini gives this key\'s project no quota for the model "gemini-3.8-flash" (429 Too Many Requests): the free tier does not cover it; enable billing for the project, or use another model',
      );
    });

    it('reads a quota limit of 10 as a spent quota, not as none', async () => {
      const { response, error: e } = await error('[fake:http status=429 limit=10 retryinfo=none retry=2s]');
      expect(response.headers.get('retry-after')).toBe('2');
      expect(e.message).toMatch(/^Gemini's quota for this key is used up/);
    });

    it.each([
      [500, 503, 'upstream_unavailable'],
      [503, 503, 'upstream_unavailable'],
      [504, 503, 'upstream_unavailable'],
      [400, 502, 'upstream_error'],
      [403, 502, 'upstream_auth'],
    ])('maps an upstream %i to %i %s', async (upstream, status, code) => {
      const { response, error: e, records } = await error(`[fake:http status=${upstream}]`);
      expect(records).toHaveLength(1);
      expect(response.status).toBe(status);
      expect(e.code).toBe(code);
      expect(e.message).toContain(String(upstream));
    });

    it('answers 502 upstream_auth when Gemini rejects the key, without ever showing it', async () => {
      const { response, error: e } = await error('[fake:http status=400 reason=API_KEY_INVALID]');
      expect(response.status).toBe(502);
      expect(e.code).toBe('upstream_auth');
      expect(JSON.stringify(e)).not.toContain('test-key-not-secret');
      expect(e.message).toBe("Gemini refused the Worker's credentials (400 Bad Request)");
      expect(e.message).not.toMatch(/http:\/\/127\.0\.0\.1/);
    });

    it('answers 502 model_unavailable in its own words, not Google’s, naming a model Gemini does not serve (no replacement known)', async () => {
      const tag = uniqueTag();
      const response = await post({ message: `[fake:reply tag=${tag}]`, model: 'gemini-retired' });
      expect(response.status).toBe(502);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error).toEqual({ code: 'model_unavailable', message: 'Gemini does not serve the model "gemini-retired" to this key (404 Not Found)' });
      expect(response.headers.get('retry-after')).toBeNull();
    });

    it('answers 401 ACCESS_TOKEN_TYPE_UNSUPPORTED with upstream_auth saying how to replace the standard key, never showing it', async () => {
      const { response, error: e } = await error('[fake:http status=401 reason=ACCESS_TOKEN_TYPE_UNSUPPORTED]');
      expect(response.status).toBe(502);
      expect(e.code).toBe('upstream_auth');
      expect(e.message).toBe(
        "Gemini refused the Worker's key (401 Unauthorized): it is a standard API key, which Gemini no longer accepts (since September 2026); create an auth key in Google AI Studio (aistudio.google.com/apikey) and set it with wrangler secret put GEMINI_API_KEY",
      );
      expect(JSON.stringify(e)).not.toContain('test-key-not-secret');
      // Google's own text (which can name the project) is not passed on.
      expect(e.message).not.toMatch(/OAuth|credential|googleapis/);
    });

    it('answers 422 blocked naming the reason when Gemini blocks the prompt', async () => {
      const { response, error: e } = await error('[fake:blocked reason=PROHIBITED_CONTENT]');
      expect(response.status).toBe(422);
      expect(e).toEqual({ code: 'blocked', message: 'Gemini blocked the prompt (blockReason PROHIBITED_CONTENT)' });
    });

    it('answers 503 when the first frame is an error object', async () => {
      const { response, error: e } = await error('[fake:error chunks=0 code=503]');
      expect(response.status).toBe(503);
      expect(e.code).toBe('upstream_unavailable');
    });

    it('answers 502 upstream_incomplete when Gemini sends no frame at all', async () => {
      const { response, error: e } = await error('[fake:empty]');
      expect(response.status).toBe(502);
      expect(e.code).toBe('upstream_incomplete');
    });

    it('answers 504 upstream_timeout when the first chunk never comes, and aborts the call', async () => {
      const { response, error: e } = await error('[fake:stall chunks=0]');
      expect(response.status).toBe(504);
      expect(e).toEqual({ code: 'upstream_timeout', message: 'Gemini sent nothing for 3000 ms (waiting for the first chunk)' });
    });
  });

  it('writes one log line per request with timings, usage and outcome, but no message text or key', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    const secretText = `private words ${uniqueTag()}`;
    const response = await post({ message: `${secretText} [fake:reply]` });
    await response.text();
    const id = response.headers.get('x-request-id');
    const line = lines.find((l) => l.includes(id!));
    expect(line).toBeDefined();
    const entry = JSON.parse(line!);
    expect(entry).toMatchObject({
      requestId: id,
      method: 'POST',
      route: '/api/chat/stream',
      status: 200,
      model: 'gemini-3.8-flash',
      finishReason: 'STOP',
      usage: { totalTokenCount: expect.any(Number) },
    });
    expect(entry.ttftMs).toEqual(expect.any(Number));
    expect(entry.durationMs).toBeGreaterThanOrEqual(entry.ttftMs);
    for (const l of lines) {
      expect(l).not.toContain(secretText);
      expect(l).not.toContain('test-key-not-secret');
    }
  });

  it('logs the answering model as answeredBy when Gemini rerouted the call, and leaves it out when not', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    const entryOf = async (model: string) => {
      const response = await post({ message: 'Hi [fake:reply]', model });
      await response.text();
      return JSON.parse(lines.find((l) => l.includes(response.headers.get('x-request-id')!))!) as Record<string, unknown>;
    };
    expect(await entryOf('gemini-flash-latest')).toMatchObject({ model: 'gemini-flash-latest', answeredBy: 'gemini-3.8-flash' });
    const same = await entryOf('gemini-3.8-flash');
    expect(same.model).toBe('gemini-3.8-flash');
    expect(same).not.toHaveProperty('answeredBy');
  });

  it('answers 502 model_unavailable naming the model and the catalogue’s replacement, and logs the code and the model', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    // gemini-2.5-flash: closed to new projects (a 404 from Gemini and the fake for this key); the
    // catalogue knows what answers it for old projects.
    const configured = { ...env, ALLOWED_MODELS: `${env.ALLOWED_MODELS},gemini-2.5-flash` } as Env;
    const request = new Request('http://worker/api/chat/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Hi', model: 'gemini-2.5-flash' }),
    });
    const response = await app.fetch(request, configured, createExecutionContext());
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({
      error: { code: 'model_unavailable', message: 'Gemini does not serve the model "gemini-2.5-flash" to this key (404 Not Found); use gemini-3.6-flash' },
    });
    const entry = JSON.parse(lines.find((l) => l.includes(response.headers.get('x-request-id')!))!);
    expect(entry).toMatchObject({ status: 502, errorCode: 'model_unavailable', model: 'gemini-2.5-flash' });
  });

  it('logs the error code of a stream that ended in an error frame', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    const response = await post({ message: '[fake:drop]' });
    await response.text();
    const entry = JSON.parse(lines.find((l) => l.includes(response.headers.get('x-request-id')!))!);
    expect(entry.errorCode).toBe('upstream_disconnected');
  });
});

describe('when Gemini cannot be reached', () => {
  it('answers 503 upstream_unavailable', async () => {
    const response = await app.fetch(
      new Request('http://worker/api/chat/stream', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'hello' }),
      }),
      // Port 9 (discard) on loopback: nothing listens there.
      { GEMINI_API_KEY: 'k', GEMINI_BASE_URL: 'http://127.0.0.1:9', RATE_LIMIT_PER_MINUTE: '0', DAILY_TOKEN_BUDGET: '0' },
    );
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: { code: 'upstream_unavailable', message: 'Could not reach Gemini' } });
  });
});

// Test bindings: MAX_FILES_PER_MESSAGE 3, MAX_INLINE_BYTES 262144, MAX_BODY_BYTES 65536.
describe.each(['/api/chat/stream', '/api/chat'] as const)('POST %s with files', (path) => {
  const send = (body: unknown) =>
    exports.default.fetch(`http://worker${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  /** The answer's text, whichever form the route answers in. */
  async function answerText(response: Response): Promise<string> {
    expect(response.status).toBe(200);
    if (path === '/api/chat') return ((await response.json()) as { text: string }).text;
    const frames = parseSse(await response.text());
    expect(frames.at(-1)?.event).toBe('done');
    return joinedText(frames);
  }

  it('sends each file to Gemini inline, before the text, with its bytes intact', async () => {
    const tag = uniqueTag();
    const [image, doc] = [png(5000), pdf(3)];
    const response = await send({
      message: `What is this? [fake:reply tag=${tag}]`,
      files: [{ data: base64(image), name: 'photo.png' }, { data: `data:application/pdf;base64,${base64(doc)}`, type: 'application/pdf' }],
    });
    const answer = await answerText(response);
    const [record] = await fakeRequests(tag);
    expect(record.files).toMatchObject([
      { turn: 0, role: 'user', kind: 'inline', mimeType: 'image/png', bytes: 5000, sha256: await sha256(image) },
      { turn: 0, role: 'user', kind: 'inline', mimeType: 'application/pdf', bytes: doc.byteLength, sha256: await sha256(doc) },
    ]);
    const parts = record.body.contents[0].parts as Array<Record<string, unknown>>;
    expect(parts.map((p) => Object.keys(p)[0])).toEqual(['inlineData', 'inlineData', 'text']);
    expect(answer.split('\n').slice(0, 2)).toEqual([
      `[fake] received image/png, 5000 bytes, sha256 ${(await sha256(image)).slice(0, 16)}`,
      `[fake] received application/pdf, ${doc.byteLength} bytes, sha256 ${(await sha256(doc)).slice(0, 16)}`,
    ]);
  });

  it('takes files with no text, and keeps the history as text', async () => {
    const image = jpeg(3000);
    const response = await send({ files: [{ data: base64(image) }], history: [{ role: 'user', text: 'Hi' }, { role: 'model', text: 'Hello!' }] });
    const answer = await answerText(response);
    expect(answer.split('\n')[0]).toBe(`[fake] received image/jpeg, 3000 bytes, sha256 ${(await sha256(image)).slice(0, 16)}`);
  });

  it('sends Markdown as text/plain', async () => {
    const tag = uniqueTag();
    const note = textBytes('# Notes\n\n- one\n- two\n');
    await answerText(await send({ message: `Summarise [fake:reply tag=${tag}]`, files: [{ data: base64(note), name: 'notes.md' }] }));
    const [record] = await fakeRequests(tag);
    expect(record.files).toMatchObject([{ mimeType: 'text/plain', bytes: note.byteLength, sha256: await sha256(note) }]);
  });

  const half = Math.floor(262_144 / 2) + 1000;
  const ACCEPTED = '; accepted: PNG, JPEG, WebP and HEIC/HEIF images, PDF, plain text and Markdown, WAV and MP3 audio';
  const refusals: Array<[string, number, string, string, (tag: string) => Record<string, unknown>]> = [
    ['a file that is not base64', 400, 'invalid_request', 'files[0] must be base64', () => ({ files: [{ data: 'not base64!' }] })],
    ['a data URL that is not base64', 400, 'invalid_request', 'files[0] must be a base64 data URL (data:<type>;base64,<data>)', () => ({ files: [{ data: 'data:image/png,abc' }] })],
    ['an empty file', 400, 'invalid_request', 'files[0] is empty', () => ({ files: [{ data: '' }] })],
    ['an executable named .png', 415, 'unsupported_media_type', `files[0]: the file is none of the accepted types${ACCEPTED}`, () => ({ files: [{ data: base64(exe()), name: 'cat.png', type: 'image/png' }] })],
    ['an SVG', 415, 'unsupported_media_type', `files[0]: HTML, SVG and XML files are not accepted (a browser runs their scripts)${ACCEPTED}`, () => ({ files: [{ data: base64(SVG_WITH_SCRIPT), type: 'image/svg+xml' }] })],
    ['four files', 400, 'invalid_request', 'files must list at most 3 files', () => ({ files: [1, 2, 3, 4].map((seed) => ({ data: base64(png(100, seed)) })) })],
    ['one file over MAX_INLINE_BYTES', 413, 'too_large', 'files[0] must be at most 262144 bytes', () => ({ files: [{ data: base64(png(262_145)) }] })],
    ['files over MAX_INLINE_BYTES together', 413, 'too_large', 'files: the files of one request must be at most 262144 bytes together (upload larger ones to a stored chat: POST /api/chats/:id/files)', () => ({ files: [{ data: base64(png(half, 1)) }, { data: base64(png(half, 2)) }] })],
    ['a file with an unknown field', 400, 'invalid_request', 'unknown field "files[0].url"; allowed: data, type, name', () => ({ files: [{ data: base64(png()), url: 'https://example.com/a.png' }] })],
    ['files that are not a list', 400, 'invalid_request', 'files must be an array of { data, type?, name? }', () => ({ files: { data: base64(png()) } })],
    ['a history entry with files', 400, 'invalid_request', 'unknown field "history[0].files"; allowed: role, text', () => ({ history: [{ role: 'user', text: 'Hi', files: [] }, { role: 'model', text: 'Hello' }] })],
  ];
  it.each(refusals)('refuses %s with %i %s, without calling Gemini', async (_, status, code, message, body) => {
    const tag = uniqueTag();
    const response = await send({ message: `Look [fake:reply tag=${tag}]`, ...body(tag) });
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ error: { code, message } });
    expect(await fakeRequests(tag)).toEqual([]);
  });

  it('still holds a body without files to MAX_BODY_BYTES (the larger cap is for files)', async () => {
    const tag = uniqueTag();
    const history = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? 'model' : 'user', text: 'y'.repeat(1900) }));
    const response = await send({ message: `Long [fake:reply tag=${tag}]`, history });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: { code: 'too_large', message: 'request body must be at most 65536 bytes' } });
    expect(await fakeRequests(tag)).toEqual([]);
  });

  it('reads a body of MAX_INLINE_BYTES of files in base64 beside its text', async () => {
    const tag = uniqueTag();
    const image = png(262_144);
    const answer = await answerText(await send({ message: `Big [fake:reply tag=${tag}]`, files: [{ data: `data:image/png;base64,${base64(image)}` }] }));
    expect(answer).toContain(`sha256 ${(await sha256(image)).slice(0, 16)}`);
  });
});
