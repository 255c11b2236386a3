import { env, exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { app } from '../../src/app';
import { GOOGLE_BASE_URL } from '../../src/config';
import type { Env } from '../../src/env';
import { deepCheck, PROBE_PROMPT, type DeepCheck } from '../../src/gemini/model-check';
import { fakeRequests, fakeUrl, uniqueTag } from '../fake-gemini';
import { parseSse } from '../sse';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Unmistakable, so a leak would show. */
const KEY = 'health-test-KEY-0123456789abcdef';
const NO_KEY_MESSAGE = 'No Gemini API key is configured: set the GEMINI_API_KEY secret';
const BAD_SETTING_MESSAGE = 'MAX_OUTPUT_TOKENS must be a positive whole number, got "lots"';

/**
 * A plain copy of the Worker's test bindings without any key, pointed at the fake
 * so that a stray model call would be recorded.
 */
function envWithoutKey(overrides: Partial<Env> = {}): Env {
  return { ...env, GEMINI_BASE_URL: fakeUrl(), GEMINI_API_KEY: undefined, GOOGLE_AI_API_KEY: undefined, ...overrides };
}

const call = async (bindings: Env, path: string, init?: RequestInit) =>
  app.fetch(new Request(`http://worker${path}`, init), bindings);

const chat = (tag: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message: `Are you there? [fake:reply tag=${tag}]` }),
});

/** Status, JSON content type, request id and the parsed body; fails if the body holds the key. */
async function read(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('x-request-id')).toMatch(UUID);
  const text = await response.text();
  expect(text).not.toContain(KEY);
  return { status: response.status, body: JSON.parse(text) as unknown };
}

afterEach(() => vi.restoreAllMocks());

describe('GET /healthz', () => {
  it('reports ok, the fake upstream and the default model through the Worker', async () => {
    const response = await exports.default.fetch('http://worker/healthz');
    const { status, body } = await read(response);
    expect({ status, body }).toStrictEqual({
      status: 200,
      body: { ok: true, upstream: 'fake', model: 'gemini-3.8-flash' },
    });
    expect(JSON.stringify(body)).not.toContain('test-key-not-secret');
  });

  it('answers 503 not_configured when no key is set', async () => {
    expect(await read(await call(envWithoutKey(), '/healthz'))).toStrictEqual({
      status: 503,
      body: {
        ok: false,
        upstream: 'fake',
        model: 'gemini-3.8-flash',
        error: { code: 'not_configured', message: NO_KEY_MESSAGE },
      },
    });
  });

  it('treats blank keys as no key', async () => {
    const { status, body } = await read(await call(envWithoutKey({ GEMINI_API_KEY: '  ', GOOGLE_AI_API_KEY: '' }), '/healthz'));
    expect(status).toBe(503);
    expect(body).toMatchObject({ ok: false, error: { code: 'not_configured' } });
  });

  it('accepts GOOGLE_AI_API_KEY when GEMINI_API_KEY is not set', async () => {
    expect(await read(await call(envWithoutKey({ GOOGLE_AI_API_KEY: KEY }), '/healthz'))).toStrictEqual({
      status: 200,
      body: { ok: true, upstream: 'fake', model: 'gemini-3.8-flash' },
    });
  });

  it('reports upstream gemini for Google’s base URL, without calling it', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const env = envWithoutKey({ GEMINI_BASE_URL: GOOGLE_BASE_URL, GEMINI_API_KEY: KEY });
    expect(await read(await call(env, '/healthz'))).toStrictEqual({
      status: 200,
      body: { ok: true, upstream: 'gemini', model: 'gemini-3.8-flash' },
    });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('reports upstream gemini when no base URL is set', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const env = envWithoutKey({ GEMINI_BASE_URL: undefined, GEMINI_API_KEY: KEY });
    expect(await read(await call(env, '/healthz'))).toStrictEqual({
      status: 200,
      body: { ok: true, upstream: 'gemini', model: 'gemini-3.8-flash' },
    });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('reports the model set in GEMINI_MODEL', async () => {
    const env = envWithoutKey({ GEMINI_API_KEY: KEY, GEMINI_MODEL: 'gemini-3.1-pro-preview' });
    expect(await read(await call(env, '/healthz'))).toStrictEqual({
      status: 200,
      body: { ok: true, upstream: 'fake', model: 'gemini-3.1-pro-preview' },
    });
  });

  it('answers 500 config_invalid naming MAX_OUTPUT_TOKENS when that setting is not a number', async () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    const env = envWithoutKey({ GEMINI_API_KEY: KEY, MAX_OUTPUT_TOKENS: 'lots' });
    expect(await read(await call(env, '/healthz'))).toStrictEqual({
      status: 500,
      body: { error: { code: 'config_invalid', message: BAD_SETTING_MESSAGE } },
    });
    expect(consoleError).toHaveBeenCalledWith(expect.stringContaining('"event":"config_invalid"'));
  });
});

describe.each(['/api/chat/stream', '/api/chat'])('POST %s', (path) => {
  it('answers 503 not_configured when no key is set, without calling Gemini', async () => {
    const tag = uniqueTag();
    expect(await read(await call(envWithoutKey(), path, chat(tag)))).toStrictEqual({
      status: 503,
      body: {
        error: {
          code: 'not_configured',
          message: `${NO_KEY_MESSAGE} (wrangler secret put GEMINI_API_KEY)`,
        },
      },
    });
    expect(await fakeRequests(tag)).toEqual([]);
  });

  it('answers 500 config_invalid naming MAX_OUTPUT_TOKENS when that setting is not a number, without calling Gemini', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const tag = uniqueTag();
    const env = envWithoutKey({ GEMINI_API_KEY: KEY, MAX_OUTPUT_TOKENS: 'lots' });
    expect(await read(await call(env, path, chat(tag)))).toStrictEqual({
      status: 500,
      body: { error: { code: 'config_invalid', message: BAD_SETTING_MESSAGE } },
    });
    expect(await fakeRequests(tag)).toEqual([]);
  });

  // The control for the two checks above: the same env with a key does reach the fake.
  it('calls the fake Gemini with the key once one is set', async () => {
    const tag = uniqueTag();
    const response = await call(envWithoutKey({ GEMINI_API_KEY: KEY }), path, chat(tag));
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain(KEY);
    if (path === '/api/chat/stream') expect(parseSse(text).at(-1)).toMatchObject({ event: 'done' });
    else expect(JSON.parse(text)).toMatchObject({ finishReason: 'STOP' });
    const records = await fakeRequests(tag);
    expect(records).toHaveLength(1);
    expect(records[0].hasKey).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// GET /healthz?deep=1

const BEARER = 'sk-health-deep-0123456789';

/** What GET /healthz?deep=1 answers: the check, and where it ran. */
interface DeepBody extends DeepCheck {
  upstream: string;
  model: string;
  durationMs: number;
}

/** The test bindings with the deep check on (a bearer key), pointed at the fake. */
function deepEnv(overrides: Partial<Env> = {}): Env {
  return {
    ...env,
    GEMINI_BASE_URL: fakeUrl(),
    GEMINI_API_KEY: 'test-deep-key',
    GOOGLE_AI_API_KEY: undefined,
    GEMINI_MODEL: 'gemini-3.8-flash',
    ALLOWED_MODELS: '',
    OPENAI_COMPAT_KEYS: `sk-some-other-key-0000,${BEARER}`,
    ...overrides,
  };
}

const deep = (bindings: Env, bearer: string | null = BEARER, path = '/healthz?deep=1') =>
  call(bindings, path, bearer === null ? undefined : { headers: { authorization: `Bearer ${bearer}` } });

/** The fake's records of one-token probe calls (the deep check's prompt), all of them. */
async function probeCalls(): Promise<{ model: string; body: { generationConfig?: Record<string, unknown> }; httpStatus?: number }[]> {
  const all = (await (await fetch(`${fakeUrl()}/__fake/requests`)).json()) as { model: string; body: { contents?: { parts?: { text?: string }[] }[] } }[];
  return all.filter((r) => r.body?.contents?.[0]?.parts?.[0]?.text === PROBE_PROMPT) as never;
}

/** Reads a deep answer: JSON, no store, nothing of the key nor of Google's own words. */
async function readDeep(response: Response, secrets: string[] = []) {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const text = await response.text();
  for (const secret of [BEARER, 'test-deep-key', ...secrets]) expect(text).not.toContain(secret);
  // Google's messages, as the fake words them: never passed on.
  for (const google of ['You exceeded your current quota', 'Request had invalid authentication', 'API key not valid', 'is no longer available', 'Call ListModels']) {
    expect(text).not.toContain(google);
  }
  expect(response.headers.get('cache-control')).toBe('no-store');
  return { status: response.status, body: JSON.parse(text) as DeepBody };
}

const byModel = (body: DeepBody) => Object.fromEntries(body.models.map((m) => [m.model, m]));

describe('GET /healthz?deep=1: who may ask', () => {
  it('answers the plain 404 of an unknown path while the OpenAI-compatible API is off, calling no one', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const before = (await probeCalls()).length;
    fetchSpy.mockClear();
    const off = deepEnv({ OPENAI_COMPAT_KEYS: '' });
    const unknown = await read(await call(off, '/nowhere'));
    for (const bearer of [BEARER, null]) {
      const { status, body } = await read(await deep(off, bearer));
      expect(status).toBe(404);
      expect(body).toStrictEqual({ error: { code: 'not_found', message: 'no route for GET /healthz' } });
      expect((unknown.body as { error: { code: string } }).error.code).toBe('not_found');
    }
    expect(fetchSpy).not.toHaveBeenCalled();
    fetchSpy.mockRestore();
    expect((await probeCalls()).length).toBe(before);
  });

  it('answers 401 invalid_api_key without a key or with a wrong one, calling no one', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const before = (await probeCalls()).length;
    fetchSpy.mockClear();
    const bindings = deepEnv();
    for (const [bearer, message] of [
      [null, 'Missing API key: send it as "Authorization: Bearer <key>"'],
      ['sk-health-deep-0123456788', 'Incorrect API key provided'],
    ] as const) {
      const response = await deep(bindings, bearer);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(await read(response)).toStrictEqual({ status: 401, body: { error: { code: 'invalid_api_key', message } } });
    }
    // deep=0 is the plain check, with no key needed.
    expect(await read(await deep(bindings, null, '/healthz?deep=0'))).toStrictEqual({
      status: 200,
      body: { ok: true, upstream: 'fake', model: 'gemini-3.8-flash' },
    });
    expect(fetchSpy).not.toHaveBeenCalled();
    fetchSpy.mockRestore();
    expect((await probeCalls()).length).toBe(before);
  });

  it('takes only deep=1 for the deep check: deep=true is the plain one, with no key needed', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    for (const path of ['/healthz?deep=true', '/healthz?deep', '/healthz?deep=yes']) {
      expect(await read(await deep(deepEnv(), null, path))).toStrictEqual({
        status: 200,
        body: { ok: true, upstream: 'fake', model: 'gemini-3.8-flash' },
      });
    }
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  // Review of the deep check: it was not limited, and each call spends a list call and a call per model.
  it('counts against the key’s RATE_LIMIT_PER_MINUTE with its /v1 requests, and answers 429 rate_limited with Retry-After past it, calling no one', async () => {
    const bearer = `sk-health-limit-${crypto.randomUUID()}`;
    const bindings = deepEnv({ OPENAI_COMPAT_KEYS: bearer, RATE_LIMIT_PER_MINUTE: '2' });
    const completion = await call(bindings, '/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(completion.status).toBe(200);
    await completion.text();
    expect((await readDeep(await deep(bindings, bearer), [bearer])).status).toBe(200);
    const before = (await probeCalls()).length;
    const refused = await deep(bindings, bearer);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await read(refused)).toStrictEqual({
      status: 429,
      body: { error: { code: 'rate_limited', message: `at most 2 requests a minute; retry in ${retryAfter} s` } },
    });
    expect((await probeCalls()).length).toBe(before);
  });

  it('leaves plain GET /healthz open and upstream-free while the deep check is on', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    expect(await read(await call(deepEnv(), '/healthz'))).toStrictEqual({
      status: 200,
      body: { ok: true, upstream: 'fake', model: 'gemini-3.8-flash' },
    });
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe('GET /healthz?deep=1: the check', () => {
  it('reports ok with 200 when the key lists the models and every model answers; one one-token call each', async () => {
    const before = (await probeCalls()).length;
    const { status, body } = await readDeep(await deep(deepEnv({ ALLOWED_MODELS: 'gemini-3.5-flash-lite' })));
    expect(status).toBe(200);
    expect(body).toMatchObject({
      ok: true,
      upstream: 'fake',
      model: 'gemini-3.8-flash',
      key: { status: 'ok', models: 15 },
    });
    expect(body.key.message).toBe('Gemini accepted the key and listed 15 models');
    expect(body.models).toStrictEqual([
      { model: 'gemini-3.8-flash', default: true, listed: true, callable: true, status: 'ok', message: 'answers', modelVersion: 'gemini-3.8-flash', ms: expect.any(Number) },
      { model: 'gemini-3.5-flash-lite', default: false, listed: true, callable: true, status: 'ok', message: 'answers', modelVersion: 'gemini-3.5-flash-lite', ms: expect.any(Number) },
    ]);
    const calls = (await probeCalls()).slice(before);
    expect(calls.map((c) => c.model).sort()).toEqual(['gemini-3.5-flash-lite', 'gemini-3.8-flash']);
    for (const c of calls) expect(c.body.generationConfig).toEqual({ maxOutputTokens: 1 });
  });

  it('tells a reroute (named by the answer), a model closed to new users and an unknown one apart', async () => {
    const bindings = deepEnv({ ALLOWED_MODELS: 'gemini-flash-latest,gemini-2.5-pro,gemini-retired,gemini-3.1-flash-lite' });
    const { status, body } = await readDeep(await deep(bindings));
    expect(status).toBe(503);
    expect(body.ok).toBe(false);
    const models = byModel(body);
    expect(models['gemini-3.8-flash']).toMatchObject({ status: 'ok', callable: true });
    expect(models['gemini-flash-latest']).toMatchObject({
      status: 'rerouted',
      callable: true,
      listed: true,
      modelVersion: 'gemini-3.8-flash',
      reroutedTo: 'gemini-3.8-flash',
      warning: expect.stringContaining('gemini-flash-latest is answered by gemini-3.8-flash'),
    });
    expect(models['gemini-2.5-pro']).toMatchObject({
      status: 'unavailable',
      callable: false,
      listed: true,
      httpStatus: 404,
      modelVersion: null,
      replacement: 'gemini-3.8-flash',
      message: 'Gemini does not serve gemini-2.5-pro: not available to new projects (existing users only) (404); use gemini-3.8-flash',
    });
    expect(models['gemini-retired']).toMatchObject({ status: 'unavailable', listed: false, httpStatus: 404 });
    expect(models['gemini-retired']!.replacement).toBeUndefined();
    // Answers, but the catalogue says it goes away.
    expect(models['gemini-3.1-flash-lite']).toMatchObject({
      status: 'ok',
      callable: true,
      warning: 'gemini-3.1-flash-lite shuts down on 2027-05-07; move to gemini-3.5-flash-lite',
      replacement: 'gemini-3.5-flash-lite',
    });
  });

  it('calls a model served to existing users only rerouted when another model answers it', async () => {
    const key = 'test-deep-key-existing';
    const { body } = await readDeep(await deep(deepEnv({ GEMINI_API_KEY: key, GEMINI_MODEL: 'gemini-2.5-flash' })), [key]);
    expect(body.ok).toBe(true);
    expect(body.models).toMatchObject([{ model: 'gemini-2.5-flash', status: 'rerouted', modelVersion: 'gemini-3.5-flash-lite', reroutedTo: 'gemini-3.5-flash-lite' }]);
  });

  // Review of the deep check: its own reroute rule took any longer name (gemini-3.8-flash-lite) for a version of the one asked for.
  it('calls a model answered by a longer name rerouted: only a -NNN suffix is a version of the same model', async () => {
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.pathname === '/v1beta/models') return Response.json({ models: [{ name: 'models/gemini-3.8-flash' }] });
      const modelVersion = url.pathname.includes('gemini-3.5-flash-lite') ? 'gemini-3.5-flash-lite-001' : 'gemini-3.8-flash-lite';
      return Response.json({ candidates: [{ content: { role: 'model', parts: [{ text: 'O' }] }, finishReason: 'MAX_TOKENS' }], modelVersion });
    });
    const check = await deepCheck({
      apiKey: 'test-deep-key',
      baseUrl: 'http://gemini.test',
      defaultModel: 'gemini-3.8-flash',
      models: ['gemini-3.8-flash', 'gemini-3.5-flash-lite'],
      timeoutMs: 5_000,
    });
    expect(check.models.map((m) => [m.model, m.status, m.reroutedTo])).toEqual([
      ['gemini-3.8-flash', 'rerouted', 'gemini-3.8-flash-lite'],
      ['gemini-3.5-flash-lite', 'ok', undefined],
    ]);
  });

  it('reports a paid-only model on a free key as no_quota, the others as ok', async () => {
    const key = 'test-deep-free-key';
    const bindings = deepEnv({ GEMINI_API_KEY: key, ALLOWED_MODELS: 'gemini-3.1-pro-preview' });
    const { status, body } = await readDeep(await deep(bindings), [key]);
    expect(status).toBe(503);
    expect(body.key.status).toBe('ok');
    expect(byModel(body)['gemini-3.8-flash']).toMatchObject({ status: 'ok', callable: true });
    expect(byModel(body)['gemini-3.1-pro-preview']).toMatchObject({
      status: 'no_quota',
      callable: false,
      httpStatus: 429,
      // The words of the chat routes for the same 429 (the adapter's), not a second set.
      message:
        'Gemini gives this key\'s project no quota for the model "gemini-3.1-pro-preview" (429 Too Many Requests): the free tier does not cover it; enable billing for the project, or use another model',
    });
  });

  it('names a standard key in plain words, and calls no model with it', async () => {
    const key = 'AIzaSy-deep-standard-key-0123456789';
    const before = (await probeCalls()).length;
    const { status, body } = await readDeep(await deep(deepEnv({ GEMINI_API_KEY: key })), [key]);
    expect(status).toBe(503);
    expect(body.key).toStrictEqual({
      status: 'standard_key',
      httpStatus: 401,
      message:
        "Gemini refused the Worker's key (401 Unauthorized): it is a standard API key, which Gemini no longer accepts (since September 2026); create an auth key in Google AI Studio (aistudio.google.com/apikey) and set it with wrangler secret put GEMINI_API_KEY",
    });
    expect(body.models).toMatchObject([{ model: 'gemini-3.8-flash', status: 'auth', callable: false, message: 'not called: Gemini refused the key' }]);
    expect((await probeCalls()).length).toBe(before);
  });

  it('tells a revoked or mistyped key from a standard one', async () => {
    const key = 'invalid-deep-key-0123456789';
    const { body } = await readDeep(await deep(deepEnv({ GEMINI_API_KEY: key })), [key]);
    expect(body.ok).toBe(false);
    expect(body.key).toMatchObject({ status: 'invalid_key', httpStatus: 400 });
    expect(body.key.message).toMatch(/^Gemini refused the Worker's credentials \(400 Bad Request\): the key is revoked, deleted or mistyped/);
  });

  it('reports no_key when no Gemini key is configured, calling no one', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const { status, body } = await readDeep(await deep(deepEnv({ GEMINI_API_KEY: undefined })));
    expect(status).toBe(503);
    expect(body.key).toStrictEqual({ status: 'no_key', message: 'No Gemini API key is configured: set the GEMINI_API_KEY secret' });
    expect(body.models[0]).toMatchObject({ status: 'auth', message: 'not called: no key is configured' });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('answers 500 config_invalid for a retired model in the settings, calling no one', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const { status, body } = await read(await deep(deepEnv({ GEMINI_MODEL: 'gemini-2.0-flash' })));
    expect(status).toBe(500);
    expect(body).toMatchObject({ error: { code: 'config_invalid', message: expect.stringContaining('gemini-2.0-flash') } });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('follows the pages of the model list', async () => {
    const check = await deepCheck({
      apiKey: 'test-deep-key',
      baseUrl: fakeUrl(),
      defaultModel: 'gemini-3.8-flash',
      models: ['gemini-3.8-flash', 'gemini-pro-latest'],
      timeoutMs: 5_000,
      pageSize: 4,
    });
    expect(check.key).toMatchObject({ status: 'ok', models: 15 });
    // gemini-pro-latest is near the end of the list: on the fourth page of four.
    expect(check.models.map((m) => [m.model, m.listed, m.status])).toEqual([
      ['gemini-3.8-flash', true, 'ok'],
      ['gemini-pro-latest', true, 'rerouted'],
    ]);
  });

  it('reports a Gemini it cannot reach as error, within the timeout', async () => {
    // A closed port on this machine: refused at once.
    const check = await deepCheck({ apiKey: 'test-deep-key', baseUrl: 'http://127.0.0.1:9', defaultModel: 'gemini-3.8-flash', models: ['gemini-3.8-flash'], timeoutMs: 2_000 });
    expect(check.ok).toBe(false);
    expect(check.key.status).toBe('error');
    expect(check.models).toMatchObject([{ status: 'error', callable: false, message: expect.stringMatching(/^(Could not reach Gemini|No answer within 2000 ms)$/) }]);
  });
});
