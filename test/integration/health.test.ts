import { env, exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { app } from '../../src/app';
import { GOOGLE_BASE_URL } from '../../src/config';
import type { Env } from '../../src/env';
import { fakeRequests, fakeUrl, uniqueTag } from '../fake-gemini';
import { parseSse } from '../sse';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Looks like a real key, so a leak would be unmistakable. */
const KEY = 'AIzaSy-health-test-KEY-0123456789abcdef';
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
