import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DRAIN_FACTOR } from '../../src/limits/read-json-body';
import { fakeRequests, uniqueTag } from '../fake-gemini';
import { parseSse } from '../sse';

// The test bindings (vitest.config.ts): MAX_BODY_BYTES 65536, MAX_MESSAGE_CHARS 2000, MAX_OUTPUT_TOKENS 4096.
const MAX_BODY_BYTES = 65_536;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JSON_TYPE = { 'content-type': 'application/json' };
const encoder = new TextEncoder();

/** A user message whose directive lets the fake Gemini's record show whether it was called. */
const say = (tag: string) => `What is SSE? [fake:reply tag=${tag}]`;

const json = (value: unknown): RequestInit => ({ headers: JSON_TYPE, body: JSON.stringify(value) });

/** A request that is valid in every way except its size: 40 history turns of 1900 characters each. */
function oversizedBody(tag: string): string {
  const history = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? 'model' : 'user', text: 'y'.repeat(1900) }));
  const body = JSON.stringify({ message: say(tag), history });
  expect(encoder.encode(body).byteLength).toBeGreaterThan(MAX_BODY_BYTES);
  return body;
}

/** Bytes in 4 KiB chunks, as a stream of unknown length (sent chunked, no Content-Length). */
function chunked(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 4096));
      offset += 4096;
    },
  });
}

/** A stream of spaces that never ends, counting what the reader pulled and whether it cancelled. */
function endless() {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.pulled += 1024;
      controller.enqueue(encoder.encode(' '.repeat(1024)));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { state, stream };
}

async function expectError(response: Response, status: number, code: string, message: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(response.headers.get('x-request-id')).toMatch(UUID);
  expect(JSON.parse(await response.text())).toStrictEqual({ error: { code, message } });
}

/** Checks a successful answer of either chat route: a stream ending with `done`, or one JSON object. */
async function expectAnswered(path: string, response: Response) {
  expect(response.status).toBe(200);
  if (path === '/api/chat/stream') {
    const frames = parseSse(await response.text());
    expect(frames.at(-1)).toMatchObject({ event: 'done', data: { done: true, finishReason: 'STOP' } });
    expect(frames.filter((f) => f.event === 'error')).toEqual([]);
  } else {
    expect(await response.json()).toMatchObject({ finishReason: 'STOP', text: expect.stringContaining('fake Gemini') });
  }
}

interface BadRequest {
  name: string;
  status: number;
  code: string;
  message: string;
  /** The request; `tag` goes into the message text wherever the body still carries one. */
  init: (tag: string) => RequestInit;
  /** False when the body cannot carry the tag (no usable message text). */
  tagged: boolean;
}

const history = (...entries: unknown[]) => (tag: string) => json({ message: say(tag), history: entries });
const generation = (generationConfig: unknown) => (tag: string) => json({ message: say(tag), generationConfig });
const invalidRequest = (name: string, message: string, init: (tag: string) => RequestInit, tagged = true): BadRequest => ({
  name,
  status: 400,
  code: 'invalid_request',
  message,
  init,
  tagged,
});

const BAD_REQUESTS: BadRequest[] = [
  {
    name: 'a body that is not valid JSON',
    status: 400,
    code: 'invalid_json',
    message: 'request body is not valid JSON',
    init: (tag) => ({ headers: JSON_TYPE, body: `{"message":"${say(tag)}",` }),
    tagged: true,
  },
  {
    name: 'a body that is not UTF-8',
    status: 400,
    code: 'invalid_json',
    message: 'request body must be UTF-8',
    // "café" in Latin-1: 0xE9 alone is not UTF-8.
    init: (tag) => ({
      headers: JSON_TYPE,
      body: new Uint8Array([...encoder.encode(`{"message":"${say(tag)} caf`), 0xe9, ...encoder.encode('"}')]),
    }),
    tagged: true,
  },
  invalidRequest('a JSON array', 'request body must be a JSON object', (tag) => json([{ message: say(tag) }])),
  invalidRequest('a JSON string', 'request body must be a JSON object', (tag) => json(say(tag))),
  invalidRequest('JSON null', 'request body must be a JSON object', () => json(null), false),
  {
    name: 'a body without Content-Type',
    status: 415,
    code: 'unsupported_media_type',
    message: 'Content-Type must be application/json',
    // A byte body, unlike a string, gets no default Content-Type.
    init: (tag) => ({ body: encoder.encode(JSON.stringify({ message: say(tag) })) }),
    tagged: true,
  },
  {
    name: 'a text/plain body',
    status: 415,
    code: 'unsupported_media_type',
    message: 'Content-Type must be application/json',
    init: (tag) => ({ headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ message: say(tag) }) }),
    tagged: true,
  },
  {
    name: 'a Content-Length over 65536 bytes',
    status: 413,
    code: 'too_large',
    message: 'request body must be at most 65536 bytes',
    init: (tag) => {
      const body = encoder.encode(oversizedBody(tag));
      return { headers: { ...JSON_TYPE, 'content-length': String(body.byteLength) }, body };
    },
    tagged: true,
  },
  {
    name: 'a chunked body over 65536 bytes',
    status: 413,
    code: 'too_large',
    message: 'request body must be at most 65536 bytes',
    init: (tag) => ({ headers: JSON_TYPE, body: chunked(encoder.encode(oversizedBody(tag))) }),
    tagged: true,
  },
  invalidRequest('a request without a message', 'message is required', () => json({ model: 'gemini-3.8-flash' }), false),
  invalidRequest('a message that is a number', 'message must be a string', () => json({ message: 42 }), false),
  invalidRequest('an empty message', 'message must not be empty or blank', () => json({ message: '' }), false),
  invalidRequest('a blank message', 'message must not be empty or blank', () => json({ message: ' \n\t ' }), false),
  {
    name: 'a message over 2000 characters',
    status: 413,
    code: 'too_large',
    message: 'message must be at most 2000 characters',
    init: (tag) => json({ message: say(tag).padEnd(2001, 'x') }),
    tagged: true,
  },
  invalidRequest(
    'an unknown field',
    'unknown field "stream"; allowed: message, files, model, system, history, generationConfig, thinking, assistant',
    (tag) => json({ message: say(tag), stream: true }),
  ),
  {
    name: 'a model that is not allowed',
    status: 400,
    code: 'model_not_allowed',
    message: 'model "gemini-1.5-pro" is not allowed; allowed: gemini-3.8-flash, gemini-3.5-flash-lite, gemini-3.1-pro-preview, gemini-flash-latest, gemini-retired',
    init: (tag) => json({ message: say(tag), model: 'gemini-1.5-pro' }),
    tagged: true,
  },
  invalidRequest('a model that is not a string', 'model must be a string', (tag) => json({ message: say(tag), model: 2.5 })),
  invalidRequest('a system instruction that is not a string', 'system must be a string', (tag) =>
    json({ message: say(tag), system: ['Be brief.'] }),
  ),
  {
    name: 'a system instruction over 2000 characters',
    status: 413,
    code: 'too_large',
    message: 'system must be at most 2000 characters',
    init: (tag) => json({ message: say(tag), system: 's'.repeat(2001) }),
    tagged: true,
  },
  invalidRequest(
    'history that is not an array',
    'history must be an array of { role, text }',
    (tag) => json({ message: say(tag), history: { role: 'user', text: 'Hi' } }),
  ),
  invalidRequest(
    'history that starts with a model turn',
    'history[0].role must be "user": history alternates user/model, starting with user',
    history({ role: 'model', text: 'Hi' }, { role: 'user', text: 'Hello' }),
  ),
  invalidRequest(
    'history with two user turns in a row',
    'history[1].role must be "model": history alternates user/model, starting with user',
    history({ role: 'user', text: 'Hi' }, { role: 'user', text: 'Hello?' }),
  ),
  invalidRequest(
    'history that does not end with a model turn',
    'history must end with a "model" entry: the new message is the next user turn',
    history({ role: 'user', text: 'Hi' }, { role: 'model', text: 'Hello' }, { role: 'user', text: 'And?' }),
  ),
  invalidRequest(
    'a history entry with an extra field',
    'unknown field "history[0].id"; allowed: role, text',
    history({ role: 'user', text: 'Hi', id: 1 }, { role: 'model', text: 'Hello' }),
  ),
  invalidRequest(
    'a history entry with an unknown role',
    'history[0].role must be "user" or "model"',
    history({ role: 'system', text: 'Be brief.' }, { role: 'model', text: 'OK' }),
  ),
  invalidRequest(
    'a history entry with blank text',
    'history[1].text must not be empty or blank',
    history({ role: 'user', text: 'Hi' }, { role: 'model', text: '  ' }),
  ),
  invalidRequest('generationConfig that is not an object', 'generationConfig must be a JSON object', generation(null)),
  invalidRequest(
    'a temperature above 2',
    'generationConfig.temperature must be between 0 and 2',
    generation({ temperature: 2.1 }),
  ),
  invalidRequest(
    'a negative temperature',
    'generationConfig.temperature must be between 0 and 2',
    generation({ temperature: -0.1 }),
  ),
  invalidRequest(
    'a temperature given as a string',
    'generationConfig.temperature must be a number',
    generation({ temperature: '0.7' }),
  ),
  invalidRequest('a topP above 1', 'generationConfig.topP must be between 0 and 1', generation({ topP: 1.5 })),
  invalidRequest('a topK of 0', 'generationConfig.topK must be between 1 and 1000', generation({ topK: 0 })),
  invalidRequest('a fractional topK', 'generationConfig.topK must be a whole number', generation({ topK: 2.5 })),
  invalidRequest(
    'maxOutputTokens above MAX_OUTPUT_TOKENS',
    'generationConfig.maxOutputTokens must be between 1 and 4096',
    generation({ maxOutputTokens: 4097 }),
  ),
  invalidRequest(
    'an unknown generationConfig key',
    'unknown field "generationConfig.candidateCount"; allowed: temperature, topP, topK, maxOutputTokens',
    generation({ candidateCount: 2 }),
  ),
];

const CHAT_ROUTES = ['/api/chat/stream', '/api/chat'] as const;
/** The routes' body cap: MAX_BODY_BYTES and the base64 of MAX_INLINE_BYTES (vitest.config.ts). */
const FILES_BODY_BYTES = MAX_BODY_BYTES + Math.ceil(262_144 / 3) * 4;

describe.each(CHAT_ROUTES)('POST %s', (path) => {
  const post = (init: RequestInit) => exports.default.fetch(`http://worker${path}`, { method: 'POST', ...init });

  const cases = BAD_REQUESTS.map((bad) => [`${bad.status} ${bad.code} to ${bad.name}`, bad] as const);
  it.each(cases)('answers %s, without calling Gemini', async (_, bad) => {
    const tag = uniqueTag();
    await expectError(await post(bad.init(tag)), bad.status, bad.code, bad.message);
    if (bad.tagged) expect(await fakeRequests(tag)).toEqual([]);
  });

  it('sends a request without Content-Type when the body is bytes (premise of the 415 case)', () => {
    const request = new Request(`http://worker${path}`, { method: 'POST', body: encoder.encode('{}') });
    expect(request.headers.get('content-type')).toBeNull();
  });

  // These routes take inline files: their cap is MAX_BODY_BYTES plus the base64 of MAX_INLINE_BYTES
  // (262144 in the test bindings), and a body without files is then held to MAX_BODY_BYTES.
  it(`refuses a declared Content-Length over ${FILES_BODY_BYTES} bytes before reading the body`, async () => {
    const { state, stream } = endless();
    const response = await post({ headers: { ...JSON_TYPE, 'content-length': String(FILES_BODY_BYTES + 1) }, body: stream });
    await expectError(response, 413, 'too_large', `request body must be at most ${FILES_BODY_BYTES} bytes`);
    expect(state.pulled).toBeLessThan(MAX_BODY_BYTES);
  });

  it(`refuses an endless chunked body: it keeps nothing past ${FILES_BODY_BYTES} bytes, and drains at most 16 times that`, async () => {
    const { state, stream } = endless();
    const response = await post({ headers: JSON_TYPE, body: stream });
    await expectError(response, 413, 'too_large', `request body must be at most ${FILES_BODY_BYTES} bytes`);
    expect(state.pulled).toBeGreaterThan(FILES_BODY_BYTES);
    // Drained rather than cancelled (wrangler dev breaks the connection on a cancelled body), but not forever.
    expect(state.pulled).toBeLessThanOrEqual(FILES_BODY_BYTES * DRAIN_FACTOR + 65_536);
  });

  it('accepts a message of exactly 2000 characters', async () => {
    const tag = uniqueTag();
    const message = say(tag).padEnd(2000, 'x');
    await expectAnswered(path, await post(json({ message })));
    expect(await fakeRequests(tag)).toHaveLength(1);
  });
});

describe('unknown routes', () => {
  it('answers 404 not_found as JSON for a path the Worker does not serve', async () => {
    const response = await exports.default.fetch('http://worker/api/nothing-here');
    await expectError(response, 404, 'not_found', 'no route for GET /api/nothing-here');
  });

  it('answers 404 not_found to a chat body posted to a near-miss path, without calling Gemini', async () => {
    const tag = uniqueTag();
    const response = await exports.default.fetch('http://worker/api/chat/streaming', {
      method: 'POST',
      ...json({ message: say(tag) }),
    });
    await expectError(response, 404, 'not_found', 'no route for POST /api/chat/streaming');
    expect(await fakeRequests(tag)).toEqual([]);
  });
});

describe('GET /api/chat/stream', () => {
  it('answers 405 method_not_allowed with Allow: POST', async () => {
    const response = await exports.default.fetch('http://worker/api/chat/stream');
    expect(response.headers.get('allow')).toBe('POST');
    await expectError(response, 405, 'method_not_allowed', 'GET is not allowed here; use POST');
  });
});

describe('PUT /api/chat', () => {
  it('answers 405 method_not_allowed with Allow: POST, without calling Gemini', async () => {
    const tag = uniqueTag();
    const response = await exports.default.fetch('http://worker/api/chat', { method: 'PUT', ...json({ message: say(tag) }) });
    expect(response.headers.get('allow')).toBe('POST');
    await expectError(response, 405, 'method_not_allowed', 'PUT is not allowed here; use POST');
    expect(await fakeRequests(tag)).toEqual([]);
  });
});

describe('POST /healthz', () => {
  it('answers 405 method_not_allowed with Allow: GET, HEAD', async () => {
    const response = await exports.default.fetch('http://worker/healthz', { method: 'POST', ...json({}) });
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    await expectError(response, 405, 'method_not_allowed', 'POST is not allowed here; use GET, HEAD');
  });
});

// Runs last in this file (tests in a file run in order): every bad request above has been answered.
describe('after the bad requests above', () => {
  it.each(CHAT_ROUTES)('POST %s still answers a valid request to the end', async (path) => {
    const tag = uniqueTag();
    const response = await exports.default.fetch(`http://worker${path}`, { method: 'POST', ...json({ message: say(tag) }) });
    await expectAnswered(path, response);
    const records = await fakeRequests(tag);
    expect(records).toHaveLength(1);
    expect(records[0].status).toBe('completed');
  });
});
