import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { app } from '../../src/app';
import type { Env } from '../../src/env';
import { fakeRequests, uniqueTag } from '../fake-gemini';
import { base64, exe, jpeg, pdf, png, sha256, SVG_WITH_SCRIPT, bytesWith } from '../files';

/**
 * The OpenAI-compatible API through the Worker, against the fake Gemini. The
 * pool's bindings leave OPENAI_COMPAT_KEYS unset; `worker()` turns it on.
 */

const KEY = 'sk-test-openai-compat-0001';
const OTHER_KEY = 'sk-test-openai-compat-0002';

type Settings = Partial<Record<'OPENAI_COMPAT_KEYS' | 'RATE_LIMIT_PER_MINUTE' | 'DAILY_TOKEN_BUDGET' | 'ALLOWED_MODELS', string>>;

/** The Worker with these settings; one env object per set, since settings are parsed once per env. */
function worker(settings: Settings = {}) {
  const configured = { ...env, OPENAI_COMPAT_KEYS: `${KEY},${OTHER_KEY}`, ...settings } as Env;
  return async (path: string, init: RequestInit & { key?: string | null; ip?: string } = {}) => {
    const { key = KEY, ip = '203.0.113.1', ...rest } = init;
    const headers = new Headers(rest.headers);
    if (key !== null) headers.set('authorization', `Bearer ${key}`);
    headers.set('cf-connecting-ip', ip);
    const ctx = createExecutionContext();
    const response = await app.fetch(new Request(`http://worker${path}`, { ...rest, headers }), configured, ctx);
    const body = await response.text();
    await waitOnExecutionContext(ctx);
    return { response, status: response.status, body, json: () => JSON.parse(body) };
  };
}

const call = worker();

const completions = (body: unknown, init: RequestInit & { key?: string | null; ip?: string } = {}, via = call) =>
  via('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });

/** A one-message request whose prompt carries a fake directive and a tag to find it by. */
function ask(directive: string, extra: Record<string, unknown> = {}) {
  const tag = uniqueTag();
  const body = { model: 'gemini-3.8-flash', messages: [{ role: 'user', content: `Question ${directive.replace(']', ` tag=${tag}]`)}` }], ...extra };
  return { tag, body };
}

/** The `data:` payloads of an SSE body, `[DONE]` as the string. */
function dataFrames(body: string): unknown[] {
  return body
    .split('\n\n')
    .filter((block) => block && !block.startsWith(':'))
    .map((block) => {
      expect(block.startsWith('data: ')).toBe(true);
      expect(block).not.toContain('\n');
      const data = block.slice(6);
      return data === '[DONE]' ? data : JSON.parse(data);
    });
}

interface Chunk {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: { index: number; delta: { role?: string; content?: string; annotations?: unknown[] }; finish_reason: string | null; logprobs: null }[];
  usage?: unknown;
}

afterEach(() => vi.restoreAllMocks());

describe('/v1/* with OPENAI_COMPAT_KEYS unset', () => {
  it('answers every path with the plain 404 of an unknown path, revealing nothing, and calls no one', async () => {
    const tag = uniqueTag();
    const unknown = await exports.default.fetch('http://worker/v2/chat/completions', { method: 'POST' });
    const unknownBody = (await unknown.json()) as { error: { code: string; message: string } };
    expect(unknownBody.error.code).toBe('not_found');
    for (const [method, path] of [
      ['POST', '/v1/chat/completions'],
      ['GET', '/v1/models'],
      ['GET', '/v1/models/gemini-3.8-flash'],
      ['DELETE', '/v1/chat/completions'],
      ['GET', '/v1/anything'],
    ]) {
      const response = await exports.default.fetch(`http://worker${path}`, {
        method,
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: method === 'POST' ? JSON.stringify(ask(`[fake:reply tag=${tag}]`).body) : undefined,
      });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: { code: 'not_found', message: `no route for ${method} ${path}` } });
    }
    expect(await fakeRequests(tag)).toHaveLength(0);
  });
});

describe('authentication', () => {
  it.each([
    ['no Authorization header', null, 'Missing API key: send it as "Authorization: Bearer <key>"'],
    ['a wrong key', 'sk-test-openai-compat-9999', 'Incorrect API key provided'],
    ['a key that is a prefix of a real one', KEY.slice(0, -1), 'Incorrect API key provided'],
  ])('refuses %s with 401 invalid_api_key, before reading the body or calling Gemini', async (_, key, message) => {
    const { tag, body } = ask('[fake:reply]');
    const answer = await completions(body, { key });
    expect(answer.status).toBe(401);
    expect(answer.response.headers.get('www-authenticate')).toBe('Bearer');
    expect(answer.json()).toEqual({ error: { message, type: 'invalid_request_error', code: 'invalid_api_key', param: null } });
    if (key) expect(answer.body).not.toContain(key);
    expect(await fakeRequests(tag)).toHaveLength(0);
  });

  it('refuses a key given some other way than Bearer', async () => {
    const answer = await call('/v1/models', { key: null, headers: { authorization: `Basic ${btoa(`user:${KEY}`)}` } });
    expect(answer.status).toBe(401);
  });

  it('takes any key of the list', async () => {
    expect((await call('/v1/models', { key: OTHER_KEY })).status).toBe(200);
    expect((await call('/v1/models', { key: KEY })).status).toBe(200);
  });

  it('answers no CORS: not even a preflight is let through', async () => {
    const preflight = await call('/v1/chat/completions', {
      method: 'OPTIONS',
      key: null,
      headers: { origin: 'https://allowed.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.status).toBe(401);
    expect(preflight.response.headers.get('access-control-allow-origin')).toBeNull();
    const fromPage = await call('/v1/models', { headers: { origin: 'https://allowed.example' } });
    expect(fromPage.status).toBe(200);
    expect(fromPage.response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('GET /v1/models', () => {
  it('lists ALLOWED_MODELS, then the site assistants as assistant:<name>, in OpenAI’s list shape', async () => {
    const answer = await call('/v1/models');
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({
      object: 'list',
      data: ['gemini-3.8-flash', 'gemini-3.5-flash-lite', 'gemini-3.1-pro-preview', 'gemini-flash-latest', 'gemini-retired', 'assistant:builtin-site', 'assistant:combo-site', 'assistant:docs-site', 'assistant:shop', 'assistant:tools-site'].map((id) => ({
        id,
        object: 'model',
        created: 0,
        owned_by: 'google',
      })),
    });
  });

  it('shows one model, and answers 404 model_not_found for one it does not serve', async () => {
    expect((await call('/v1/models/gemini-3.1-pro-preview')).json()).toEqual({ id: 'gemini-3.1-pro-preview', object: 'model', created: 0, owned_by: 'google' });
    const missing = await call('/v1/models/gpt-4o');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({
      error: { message: 'The model "gpt-4o" does not exist here', type: 'invalid_request_error', code: 'model_not_found', param: 'model' },
    });
  });

  it('answers HEAD like GET, without a body', async () => {
    const answer = await call('/v1/models', { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(answer.response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.body).toBe('');
  });

  it('answers 405 with Allow for another method', async () => {
    const answer = await call('/v1/models', { method: 'POST' });
    expect(answer.status).toBe(405);
    expect(answer.response.headers.get('allow')).toBe('GET, HEAD');
    expect(answer.json().error).toMatchObject({ type: 'invalid_request_error', code: 'method_not_allowed' });
  });
});

describe('/v1 paths and bodies the API does not take', () => {
  it('answers an unknown /v1 path with 404 unknown_url in OpenAI’s shape', async () => {
    const answer = await call('/v1/embeddings', { method: 'POST' });
    expect(answer.status).toBe(404);
    expect(answer.json()).toEqual({
      error: { message: 'Unknown request URL: POST /v1/embeddings', type: 'invalid_request_error', code: 'unknown_url', param: null },
    });
  });

  it('answers GET /v1/chat/completions with 405 and Allow: POST', async () => {
    const answer = await call('/v1/chat/completions');
    expect(answer.status).toBe(405);
    expect(answer.response.headers.get('allow')).toBe('POST');
  });

  it('answers malformed JSON, a wrong content type and an oversized body in OpenAI’s shape', async () => {
    const broken = await call('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' });
    expect(broken.status).toBe(400);
    expect(broken.json()).toEqual({ error: { message: 'request body is not valid JSON', type: 'invalid_request_error', code: 'invalid_json', param: null } });
    const text = await call('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(text.status).toBe(415);
    expect(text.json().error).toMatchObject({ type: 'invalid_request_error', code: 'unsupported_media_type' });
    const big = await completions({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'x'.repeat(70_000) }] });
    expect(big.status).toBe(413);
    expect(big.json().error).toEqual({ message: 'request body must be at most 65536 bytes', type: 'invalid_request_error', code: 'too_large', param: null });
  });

  const user = (content: unknown) => ({ role: 'user', content });
  const assistant = (content: unknown) => ({ role: 'assistant', content });
  const calling = (...ids: string[]) => ({ role: 'assistant', content: null, tool_calls: ids.map((id) => ({ id, type: 'function', function: { name: 'f', arguments: '{}' } })) });
  const toolSays = (id: string) => ({ role: 'tool', tool_call_id: id, content: 'done' });
  const fn = (name: string, parameters?: object) => ({ type: 'function', function: { name, ...(parameters ? { parameters } : {}) } });
  /** Every case keeps a last user message `q` that carries the fake's tag, so no call can go unseen. */
  type Change = (body: Record<string, unknown>, q: string) => void;
  const cases: [rule: string, change: Change, status: number, param: string, code: string, message?: string][] = [
    ['a missing model', (b) => delete b.model, 400, 'model', 'invalid_request', 'model is required'],
    ['a model not in ALLOWED_MODELS', (b) => (b.model = 'gpt-4o'), 404, 'model', 'model_not_found'],
    ['no messages', (b) => (b.messages = []), 400, 'messages', 'invalid_request', 'messages must be a non-empty array'],
    ['a tool message that answers no call', (b, q) => (b.messages = [{ role: 'tool', content: 'x', tool_call_id: 'a' }, user(q)]), 400, 'messages[0].tool_call_id', 'invalid_request', 'messages[0].tool_call_id "a" answers no call of the assistant message before it'],
    ['a tool message whose id matches no call', (b, q) => (b.messages = [user(q), calling('call_1'), { role: 'tool', content: 'x', tool_call_id: 'call_2' }]), 400, 'messages[2].tool_call_id', 'invalid_request'],
    ['a call answered twice', (b, q) => (b.messages = [user(q), calling('call_1'), toolSays('call_1'), toolSays('call_1')]), 400, 'messages[3].tool_call_id', 'invalid_request', 'messages[3].tool_call_id "call_1" answers a call another tool message already answered'],
    ['a call no tool message answers', (b, q) => (b.messages = [user('a'), calling('call_1', 'call_2'), toolSays('call_1'), user(q)]), 400, 'messages[1].tool_calls', 'invalid_request', 'messages[1].tool_calls: every tool call must be answered by a tool message right after it; no tool message answers call_2'],
    ['call arguments that are not a JSON object', (b, q) => (b.messages = [user(q), { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }] }, toolSays('c')]), 400, 'messages[1].tool_calls[0].function.arguments', 'invalid_request', 'messages[1].tool_calls[0].function.arguments must be the JSON text of an object'],
    ['a legacy function message', (b, q) => (b.messages = [{ role: 'function', name: 'f', content: 'x' }, user(q)]), 400, 'messages[0].role', 'unsupported_parameter'],
    ['an unknown role', (b, q) => (b.messages = [{ role: 'robot', content: 'x' }, user(q)]), 400, 'messages[0].role', 'invalid_request'],
    ['an assistant message last', (b, q) => (b.messages = [user(q), assistant('Hi')]), 400, 'messages[1].role', 'invalid_request', "the last message must be the user's or a tool's: it is the one to answer"],
    ['an assistant message first', (b, q) => (b.messages = [assistant('Hi'), user(q)]), 400, 'messages[0].role', 'invalid_request'],
    ['an image_url with an http: URL', (b, q) => (b.messages = [user([{ type: 'text', text: q }, { type: 'image_url', image_url: { url: 'http://x.example/a.png' } }])]), 400, 'messages[0].content[1].image_url.url', 'invalid_request', 'messages[0].content[1].image_url.url must be an https: URL or a base64 data URL (got http:)'],
    ['an image_url with a file: URL', (b, q) => (b.messages = [user([{ type: 'text', text: q }, { type: 'image_url', image_url: { url: 'file:///etc/passwd' } }])]), 400, 'messages[0].content[1].image_url.url', 'invalid_request', 'messages[0].content[1].image_url.url must be an https: URL or a base64 data URL (got file:)'],
    ['an image_url with a javascript: URL', (b, q) => (b.messages = [user([{ type: 'text', text: q }, { type: 'image_url', image_url: { url: 'javascript:alert(1)' } }])]), 400, 'messages[0].content[1].image_url.url', 'invalid_request', 'messages[0].content[1].image_url.url must be an https: URL or a base64 data URL (got javascript:)'],
    ['an image_url that is no URL', (b, q) => (b.messages = [user([{ type: 'text', text: q }, { type: 'image_url', image_url: { url: 'cat.png' } }])]), 400, 'messages[0].content[1].image_url.url', 'invalid_request', 'messages[0].content[1].image_url.url must be an https: URL or a base64 data URL'],
    ['an image_url detail OpenAI does not have', (b, q) => (b.messages = [user([{ type: 'text', text: q }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'max' } }])]), 400, 'messages[0].content[1].image_url.detail', 'invalid_request'],
    ['an audio part of another format', (b, q) => (b.messages = [user([{ type: 'text', text: q }, { type: 'input_audio', input_audio: { data: 'AAAA', format: 'ogg' } }])]), 400, 'messages[0].content[1].input_audio.format', 'invalid_request', 'messages[0].content[1].input_audio.format must be "wav" or "mp3"'],
    ['an empty audio part', (b, q) => (b.messages = [user([{ type: 'text', text: q }, { type: 'input_audio', input_audio: { data: '', format: 'wav' } }])]), 400, 'messages[0].content[1].input_audio.data', 'invalid_request', 'messages[0].content[1].input_audio.data is empty'],
    ['a file_id', (b, q) => (b.messages = [user([{ type: 'text', text: q }, { type: 'file', file: { file_id: 'file-abc' } }])]), 400, 'messages[0].content[1].file.file_id', 'unsupported_parameter'],
    ['an image in a system message', (b, q) => (b.messages = [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }, user(q)]), 400, 'messages[0].content[0].type', 'unsupported_parameter', 'messages[0].content[0].type must be "text": "image_url" parts are not supported here'],
    ['a refusal part', (b, q) => (b.messages = [user([{ type: 'text', text: q }, { type: 'refusal', refusal: 'no' }])]), 400, 'messages[0].content[1].type', 'unsupported_parameter', 'messages[0].content[1].type must be "text", "image_url", "file" or "input_audio": "refusal" parts are not supported'],
    ['a name on a message', (b, q) => (b.messages = [{ ...user(q), name: 'ada' }]), 400, 'messages[0].name', 'unsupported_parameter'],
    ['a tool call of no type', (b, q) => (b.messages = [user('a'), { ...assistant('b'), tool_calls: [{ id: 'x' }] }, user(q)]), 400, 'messages[1].tool_calls[0].type', 'invalid_request'],
    ['a legacy function_call on an assistant message', (b, q) => (b.messages = [user('a'), { ...assistant('b'), function_call: { name: 'f', arguments: '{}' } }, user(q)]), 400, 'messages[1].function_call', 'unsupported_parameter'],
    ['blank content', (b, q) => (b.messages = [user('   '), assistant('x'), user(q)]), 400, 'messages[0].content', 'invalid_request', 'messages[0].content must not be empty or blank'],
    ['null content', (b, q) => (b.messages = [user(null), assistant('x'), user(q)]), 400, 'messages[0].content', 'invalid_request', 'messages[0].content is required'],
    ['invisible-only content', (b, q) => (b.messages = [user('\u200b\u0000\u2060'), assistant('x'), user(q)]), 400, 'messages[0].content', 'invalid_request', 'messages[0].content must contain visible text, not only control or format characters'],
    ['a lone surrogate', (b, q) => (b.messages = [user('broken \ud800 text'), assistant('x'), user(q)]), 400, 'messages[0].content', 'invalid_request', 'messages[0].content must be valid Unicode text (it has a lone surrogate)'],
    ['a text over MAX_MESSAGE_CHARS', (b, q) => (b.messages = [user('x'.repeat(2001)), assistant('x'), user(q)]), 400, 'messages[0].content', 'string_above_max_length', 'messages[0].content must be at most 2000 characters'],
    ['a text part over MAX_MESSAGE_CHARS', (b, q) => (b.messages = [user([{ type: 'text', text: 'x'.repeat(2001) }, { type: 'text', text: q }])]), 400, 'messages[0].content[0].text', 'string_above_max_length'],
    ['a context over MAX_CONTEXT_CHARS', (b, q) => (b.messages = [{ role: 'system', content: 'x'.repeat(1500) }, user('y'.repeat(1500)), assistant('z'), user(q)]), 400, 'messages', 'context_length_exceeded', 'messages must be at most 3000 characters in all'],
    ['max_tokens over MAX_OUTPUT_TOKENS', (b) => (b.max_tokens = 4097), 400, 'max_tokens', 'invalid_request', 'max_tokens must be between 1 and 4096'],
    ['max_completion_tokens over MAX_OUTPUT_TOKENS', (b) => (b.max_completion_tokens = 5000), 400, 'max_completion_tokens', 'invalid_request'],
    ['a fractional max_tokens', (b) => (b.max_tokens = 1.5), 400, 'max_tokens', 'invalid_request', 'max_tokens must be a whole number'],
    ['max_tokens and max_completion_tokens that differ', (b) => Object.assign(b, { max_tokens: 10, max_completion_tokens: 20 }), 400, 'max_tokens', 'invalid_request'],
    ['a temperature over 2', (b) => (b.temperature = 2.5), 400, 'temperature', 'invalid_request'],
    ['a top_p over 1', (b) => (b.top_p = 1.5), 400, 'top_p', 'invalid_request'],
    ['five stop sequences', (b) => (b.stop = ['a', 'b', 'c', 'd', 'e']), 400, 'stop', 'invalid_request'],
    ['an empty stop sequence', (b) => (b.stop = ''), 400, 'stop', 'invalid_request'],
    ['a stop sequence with a lone surrogate', (b) => (b.stop = ['END', 'bad \ud800']), 400, 'stop[1]', 'invalid_request', 'stop[1] must be valid Unicode text (it has a lone surrogate)'],
    ['n of 2', (b) => (b.n = 2), 400, 'n', 'unsupported_parameter', 'n must be 1 (one choice per request)'],
    ['a function name Gemini refuses', (b) => (b.tools = [fn('get weather')]), 400, 'tools[0].function.name', 'invalid_request', "tools[0].function.name must be 1 to 64 characters of a-z, A-Z, 0-9, _ and -, starting with a letter or _ (Gemini's rule)"],
    ['a function name starting with a digit', (b) => (b.tools = [fn('1st')]), 400, 'tools[0].function.name', 'invalid_request'],
    ['a function declared twice', (b) => (b.tools = [fn('f'), fn('f')]), 400, 'tools[1].function.name', 'invalid_request', 'tools[1].function.name "f" is declared twice'],
    ['parameters that are not an object schema', (b) => (b.tools = [fn('f', { type: 'string' })]), 400, 'tools[0].function.parameters', 'invalid_request', 'tools[0].function.parameters must be a JSON Schema object of type "object"'],
    ['a tool of another type', (b) => (b.tools = [{ type: 'web_search' }]), 400, 'tools[0].type', 'unsupported_parameter'],
    ['an unknown field on a function', (b) => (b.tools = [{ type: 'function', function: { name: 'f', colour: 'blue' } }]), 400, 'tools[0].function.colour', 'invalid_request'],
    ['tools that are not an array', (b) => (b.tools = { type: 'function' }), 400, 'tools', 'invalid_request', 'tools must be an array'],
    ['a tool_choice naming no declared function', (b) => Object.assign(b, { tools: [fn('f')], tool_choice: { type: 'function', function: { name: 'g' } } }), 400, 'tool_choice.function.name', 'invalid_request'],
    ['tool_choice "required" without tools', (b) => (b.tool_choice = 'required'), 400, 'tool_choice', 'invalid_request', 'tool_choice "required" needs tools'],
    ['a tool_choice of another kind', (b) => Object.assign(b, { tools: [fn('f')], tool_choice: 'any' }), 400, 'tool_choice', 'invalid_request'],
    ['a non-boolean parallel_tool_calls', (b) => (b.parallel_tool_calls = 'yes'), 400, 'parallel_tool_calls', 'invalid_request', 'parallel_tool_calls must be a boolean'],
    ['functions', (b) => (b.functions = [{ name: 'f' }]), 400, 'functions', 'unsupported_parameter'],
    ['a JSON response format', (b) => (b.response_format = { type: 'json_object' }), 400, 'response_format', 'unsupported_parameter'],
    ['logprobs', (b) => (b.logprobs = true), 400, 'logprobs', 'unsupported_parameter'],
    ['a presence penalty', (b) => (b.presence_penalty = 0.5), 400, 'presence_penalty', 'unsupported_parameter'],
    ['audio output', (b) => (b.audio = { voice: 'alloy', format: 'mp3' }), 400, 'audio', 'unsupported_parameter', 'audio is not supported'],
    ['an unknown reasoning_effort', (b) => (b.reasoning_effort = 'max'), 400, 'reasoning_effort', 'invalid_request', 'reasoning_effort must be one of "none", "minimal", "low", "medium", "high"'],
    ['a reasoning_effort the model does not offer', (b) => (b.reasoning_effort = 'minimal'), 400, 'reasoning_effort', 'invalid_request', 'reasoning_effort "minimal" is not offered by gemini-3.8-flash; allowed: low, medium, high'],
    [
      'an assistant reasoning_content that is not a string',
      (b) => (b.messages = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello', reasoning_content: 42 }, { role: 'user', content: 'Again' }]),
      400,
      'messages[1].reasoning_content',
      'invalid_request',
      'messages[1].reasoning_content must be a string',
    ],
    ['store: true', (b) => (b.store = true), 400, 'store', 'unsupported_parameter', 'store must be false (completions are not stored)'],
    ['an unknown field', (b) => (b.colour = 'blue'), 400, 'colour', 'invalid_request', 'unknown field "colour"'],
    ['an unknown stream option', (b) => (b.stream_options = { include_usage: true, colour: 'blue' }), 400, 'stream_options.colour', 'invalid_request'],
    ['a non-boolean stream', (b) => (b.stream = 'yes'), 400, 'stream', 'invalid_request', 'stream must be a boolean'],
  ];

  it.each(cases)('refuses %s, naming the field in `param`, before any upstream call', async (_, change, status, param, code, message) => {
    const { tag, body } = ask('[fake:reply]');
    change(body, (body.messages as { content: string }[])[0].content);
    const answer = await completions(body);
    expect(answer.status).toBe(status);
    const { error } = answer.json();
    expect(error).toMatchObject({ type: 'invalid_request_error', code, param });
    expect(typeof error.message).toBe('string');
    if (message) expect(error.message.startsWith(message)).toBe(true);
    expect(await fakeRequests(tag)).toHaveLength(0);
  });

  it('refuses nothing that the same body without the refused part would make valid', async () => {
    // The cases above are each one change away from a body the API takes.
    const { tag, body } = ask('[fake:reply chunks=1]');
    expect((await completions(body)).status).toBe(200);
    expect(await fakeRequests(tag)).toHaveLength(1);
  });

  it('accepts and ignores the harmless fields clients send, at their neutral values', async () => {
    const { tag, body } = ask('[fake:reply chunks=1]', {
      user: 'user-123',
      n: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      metadata: { run: 'a' },
      store: false,
      service_tier: 'auto',
      parallel_tool_calls: false,
      response_format: { type: 'text' },
      modalities: ['text'],
      logprobs: false,
      tools: [],
      tool_choice: 'none',
      stream: false,
      stream_options: { include_usage: true },
      top_logprobs: null,
      prediction: null,
    });
    const answer = await completions(body);
    expect(answer.status).toBe(200);
    const [record] = await fakeRequests(tag);
    expect(record.body.generationConfig).toEqual({ maxOutputTokens: 4096 });
  });
});

describe('POST /v1/chat/completions', () => {
  it('maps system, developer, user and assistant messages onto Gemini’s system instruction and alternating turns', async () => {
    const tag = uniqueTag();
    const answer = await completions({
      model: 'gemini-3.1-pro-preview',
      messages: [
        { role: 'system', content: 'Answer briefly.' },
        { role: 'user', content: 'My name is Ada.' },
        { role: 'user', content: [{ type: 'text', text: 'I write programs.' }, { type: 'text', text: 'For engines.' }] },
        { role: 'assistant', content: 'Hello Ada!', refusal: null },
        { role: 'developer', content: [{ type: 'text', text: 'Use British spelling.' }] },
        { role: 'user', content: `What is my name? [fake:reply tag=${tag}]` },
      ],
      temperature: 0.3,
      top_p: 0.9,
      max_completion_tokens: 100,
      stop: ['\n\n', 'END'],
      seed: 7,
    });
    expect(answer.status).toBe(200);
    const [record] = await fakeRequests(tag);
    expect(record.model).toBe('gemini-3.1-pro-preview');
    expect(record.body.systemInstruction?.parts).toEqual([{ text: 'Answer briefly.\n\nUse British spelling.' }]);
    expect(record.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'My name is Ada.' }, { text: 'I write programs.' }, { text: 'For engines.' }] },
      { role: 'model', parts: [{ text: 'Hello Ada!' }] },
      { role: 'user', parts: [{ text: `What is my name? [fake:reply tag=${tag}]` }] },
    ]);
    expect(record.body.generationConfig).toEqual({ temperature: 0.3, topP: 0.9, maxOutputTokens: 100, stopSequences: ['\n\n', 'END'], seed: 7 });
  });

  it('keeps working with the temperature and top_p OpenAI clients send, on a model that ignores them (they are not sent)', async () => {
    // sampling=reject: the fake refuses them with a 400, as Gemini's next models will.
    const { tag, body } = ask('[fake:reply sampling=reject]', { temperature: 0.7, top_p: 1 });
    expect((await completions(body)).status).toBe(200);
    const [record] = await fakeRequests(tag);
    expect(record.body.generationConfig).toEqual({ maxOutputTokens: 4096 });
  });

  it('takes a single stop string, and max_tokens as the older name of max_completion_tokens', async () => {
    const { tag, body } = ask('[fake:reply]', { stop: 'END', max_tokens: 50 });
    expect((await completions(body)).status).toBe(200);
    const [record] = await fakeRequests(tag);
    expect(record.body.generationConfig).toEqual({ maxOutputTokens: 50, stopSequences: ['END'] });
  });

  describe('reasoning_effort', () => {
    it('sends a level as Gemini\'s thinkingLevel, asking for the thought summary, and the fake spends that level\'s thoughts', async () => {
      const { tag, body } = ask('[fake:reply]', { reasoning_effort: 'high' });
      expect((await completions(body)).status).toBe(200);
      const [record] = await fakeRequests(tag);
      expect(record.body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingLevel: 'HIGH', includeThoughts: true } });
      // The fake's HIGH (docs/fake-gemini.md, "Thinking and usage").
      expect(record.thoughtsTokenCount).toBe(480);
    });

    it('sends none as the least thinking the model allows: its lowest level', async () => {
      const low = ask('[fake:reply]', { reasoning_effort: 'none' });
      expect((await completions(low.body)).status).toBe(200);
      const [onFlash] = await fakeRequests(low.tag);
      expect(onFlash.body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingLevel: 'LOW' } });
      expect(onFlash.thoughtsTokenCount).toBe(48);

      const minimal = ask('[fake:reply]', { model: 'gemini-3.5-flash-lite', reasoning_effort: 'none' });
      expect((await completions(minimal.body)).status).toBe(200);
      const [onLite] = await fakeRequests(minimal.tag);
      expect(onLite.body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingLevel: 'MINIMAL' } });
      expect(onLite.thoughtsTokenCount).toBe(0);
    });

    it('takes null as not given', async () => {
      const { tag, body } = ask('[fake:reply]', { reasoning_effort: null });
      expect((await completions(body)).status).toBe(200);
      const [record] = await fakeRequests(tag);
      expect(record.body.generationConfig).toEqual({ maxOutputTokens: 4096 });
    });
  });

  it('answers a chat.completion object without stream', async () => {
    const { tag, body } = ask('[fake:reply chunks=3]');
    const answer = await completions(body);
    expect(answer.status).toBe(200);
    expect(answer.response.headers.get('content-type')).toMatch(/^application\/json/);
    const [record] = await fakeRequests(tag);
    const completion = answer.json();
    const prompt = completion.usage.prompt_tokens;
    // OpenAI counts reasoning in completion_tokens; Gemini's thought tokens are that.
    const reasoning = record.thoughtsTokenCount;
    expect(reasoning).toBeGreaterThan(0);
    const completionTokens = Math.ceil(record.sentText.length / 4) + reasoning;
    expect(completion).toEqual({
      id: expect.stringMatching(/^chatcmpl-[0-9a-f]{32}$/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'gemini-3.8-flash',
      choices: [{ index: 0, message: { role: 'assistant', content: record.sentText, refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: prompt, completion_tokens: completionTokens, total_tokens: prompt + completionTokens, completion_tokens_details: { reasoning_tokens: reasoning } },
    });
    expect(prompt).toBeGreaterThan(0);
    expect(Math.abs(completion.created - Date.now() / 1000)).toBeLessThan(60);
  });

  it('streams chat.completion.chunk frames: role first, text, the finish, then [DONE]', async () => {
    const { tag, body } = ask('[fake:reply chunks=3]', { stream: true });
    const answer = await completions(body);
    expect(answer.status).toBe(200);
    expect(answer.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(answer.response.headers.get('cache-control')).toBe('no-cache, no-transform');
    const frames = dataFrames(answer.body);
    const [record] = await fakeRequests(tag);
    const pieces = frames.slice(0, -2) as Chunk[];
    const { id, created } = frames[0] as Chunk;
    expect(id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    const head = { id, object: 'chat.completion.chunk', created, model: 'gemini-3.8-flash' };
    expect(pieces).toHaveLength(3);
    expect(pieces[0]).toEqual({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: expect.any(String) }, finish_reason: null, logprobs: null }] });
    expect(pieces[1]).toEqual({ ...head, choices: [{ index: 0, delta: { content: expect.any(String) }, finish_reason: null, logprobs: null }] });
    expect(pieces.map((p) => p.choices[0].delta.content).join('')).toBe(record.sentText);
    expect(frames.at(-2)).toEqual({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }] });
    expect(frames.at(-1)).toBe('[DONE]');
  });

  it('streams a one-chunk answer (sent whole) in the same frames: role and text, the finish, the usage chunk, [DONE]', async () => {
    // signature=none: the one chunk carries the finish, as 2.5 models sent it, so the answer is over with it.
    const { tag, body } = ask('[fake:reply chunks=1 signature=none]', { stream: true, stream_options: { include_usage: true } });
    const answer = await completions(body);
    expect(answer.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const frames = dataFrames(answer.body);
    const [record] = await fakeRequests(tag);
    const { id, created } = frames[0] as Chunk;
    const head = { id, object: 'chat.completion.chunk', created, model: 'gemini-3.8-flash' };
    expect(frames).toHaveLength(4);
    expect(frames[0]).toEqual({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: record.sentText }, finish_reason: null, logprobs: null }], usage: null });
    expect(frames[1]).toEqual({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }], usage: null });
    expect(frames[2]).toMatchObject({ ...head, choices: [], usage: { completion_tokens: Math.ceil(record.sentText.length / 4) + record.thoughtsTokenCount } });
    expect(frames[3]).toBe('[DONE]');
  });

  it('ends with a usage chunk (choices: []) before [DONE] with stream_options.include_usage, and usage: null on the others', async () => {
    const { tag, body } = ask('[fake:reply chunks=2]', { stream: true, stream_options: { include_usage: true } });
    const frames = dataFrames((await completions(body)).body);
    const [record] = await fakeRequests(tag);
    expect(frames.at(-1)).toBe('[DONE]');
    const usage = frames.at(-2) as Chunk;
    const completionTokens = Math.ceil(record.sentText.length / 4) + record.thoughtsTokenCount;
    expect(usage).toMatchObject({ object: 'chat.completion.chunk', choices: [] });
    expect(usage.usage).toEqual({
      prompt_tokens: expect.any(Number),
      completion_tokens: completionTokens,
      total_tokens: expect.any(Number),
      completion_tokens_details: { reasoning_tokens: record.thoughtsTokenCount },
    });
    for (const chunk of frames.slice(0, -2) as Chunk[]) expect(chunk.usage).toBeNull();
    expect((frames.at(-3) as Chunk).choices[0].finish_reason).toBe('stop');
  });

  it.each([
    ['MAX_TOKENS', 'length', '[fake:reply chunks=8]', { max_tokens: 10 }],
    ['SAFETY', 'content_filter', '[fake:safety]', {}],
    ['RECITATION', 'content_filter', '[fake:recitation]', {}],
    ['OTHER', 'stop', '[fake:reply finish=OTHER]', {}],
    ['TOO_MANY_TOOL_CALLS', 'length', '[fake:reply finish=TOO_MANY_TOOL_CALLS]', {}],
  ])('maps Gemini’s %s to finish_reason %s, streamed and whole', async (_, finishReason, directive, extra) => {
    const streamed = dataFrames((await completions(ask(directive, { ...extra, stream: true }).body)).body);
    expect((streamed.at(-2) as Chunk).choices[0].finish_reason).toBe(finishReason);
    const whole = (await completions(ask(directive, extra).body)).json();
    expect(whole.choices[0].finish_reason).toBe(finishReason);
  });

  it('gives a grounded answer’s sources as url_citation annotations, on the message and on the finishing chunk', async () => {
    const sources = [
      { url: 'https://example.com/fake-source-1', title: 'example.com' },
      { url: 'https://example.org/fake-source-2', title: 'example.org' },
    ];
    const whole = (await completions(ask('[fake:grounding]').body)).json();
    const content: string = whole.choices[0].message.content;
    expect(whole.choices[0].message.annotations).toEqual(
      sources.map(({ url, title }) => ({ type: 'url_citation', url_citation: { url, title, start_index: 0, end_index: content.length } })),
    );
    const frames = dataFrames((await completions(ask('[fake:grounding]', { stream: true }).body)).body) as Chunk[];
    const last = frames.at(-2) as Chunk;
    const streamedLength = frames.slice(0, -2).map((f) => f.choices[0].delta.content).join('').length;
    expect(last.choices[0]).toMatchObject({ finish_reason: 'stop', delta: { annotations: sources.map((s) => ({ type: 'url_citation', url_citation: { ...s, start_index: 0, end_index: streamedLength } })) } });
  });

  it('ends a stream that fails mid-answer with an error frame in OpenAI’s shape, and no [DONE]', async () => {
    const frames = dataFrames((await completions(ask('[fake:error code=500]', { stream: true }).body)).body);
    expect((frames[0] as Chunk).choices[0].delta.content).toEqual(expect.any(String));
    expect(frames.at(-1)).toEqual({
      error: { message: 'Gemini failed mid-answer (500 INTERNAL)', type: 'server_error', code: 'upstream_unavailable', param: null },
    });
    expect(frames).not.toContain('[DONE]');
  });

  it('answers a whole request that fails mid-answer with the HTTP error', async () => {
    const answer = await completions(ask('[fake:drop]').body);
    expect(answer.status).toBe(502);
    expect(answer.json().error).toMatchObject({ type: 'server_error', code: 'upstream_disconnected', param: null });
  });

  it.each([
    ['429 with Retry-After for Gemini’s 429', '[fake:http status=429 retry=7s]', 429, { type: 'requests', code: 'rate_limit_exceeded' }, '7'],
    ['429 with Retry-After from Gemini’s message when it has no RetryInfo', '[fake:http status=429 retryinfo=none retry=2.5s]', 429, { type: 'requests', code: 'rate_limit_exceeded' }, '3'],
    ['503 for Gemini’s 503', '[fake:http status=503]', 503, { type: 'server_error', code: 'upstream_unavailable' }, null],
    ['502 for Gemini refusing the Worker’s key', '[fake:http status=403]', 502, { type: 'server_error', code: 'upstream_auth' }, null],
    ['400 content_filter for a blocked prompt', '[fake:blocked]', 400, { type: 'invalid_request_error', code: 'content_filter' }, null],
  ])('answers %s, streamed or not, as an HTTP error', async (_, directive, status, error, retryAfter) => {
    for (const stream of [true, false]) {
      const answer = await completions(ask(directive, { stream }).body);
      expect(answer.status).toBe(status);
      expect(answer.json().error).toMatchObject({ ...error, param: null });
      expect(answer.response.headers.get('retry-after')).toBe(retryAfter);
    }
  });

  it('tells the client not to retry Gemini’s 429 when the key’s project has no quota for the model (limit: 0)', async () => {
    const answer = await completions(ask('[fake:http status=429 limit=0 retry=30s]').body);
    expect(answer.status).toBe(429);
    expect(answer.json().error).toEqual({
      message: 'Gemini gives this key\'s project no quota for the model "gemini-3.8-flash" (429 Too Many Requests): the free tier does not cover it; enable billing for the project, or use another model',
      type: 'requests',
      code: 'rate_limit_exceeded',
      param: null,
    });
    expect(answer.response.headers.get('retry-after')).toBeNull();
    expect(answer.response.headers.get('x-should-retry')).toBe('false');
  });

  it('tells the client not to retry when Gemini refuses a standard key, and explains the fix without the key', async () => {
    const answer = await completions(ask('[fake:http status=401 reason=ACCESS_TOKEN_TYPE_UNSUPPORTED]').body);
    expect(answer.status).toBe(502);
    expect(answer.json().error).toMatchObject({ type: 'server_error', code: 'upstream_auth' });
    expect(answer.json().error.message).toMatch(/standard API key.*aistudio\.google\.com\/apikey.*wrangler secret put GEMINI_API_KEY$/);
    expect(answer.body).not.toContain('test-key-not-secret');
    expect(answer.response.headers.get('x-should-retry')).toBe('false');
  });

  it('answers a model Gemini does not serve with 404 model_not_found (NotFoundError), naming the replacement', async () => {
    // Closed to new projects: a 404 for this key; the catalogue knows what answers it for old ones.
    const via = worker({ ALLOWED_MODELS: `${env.ALLOWED_MODELS},gemini-2.5-flash` });
    const answer = await completions({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }] }, {}, via);
    expect(answer.status).toBe(404);
    expect(answer.json().error).toEqual({
      message: 'Gemini does not serve the model "gemini-2.5-flash" to this key (404 Not Found); use gemini-3.6-flash',
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: null,
    });
    expect(answer.response.headers.get('x-should-retry')).toBe('false');
  });

  it('keeps the model the client asked for in the answer when Gemini reports another as answering', async () => {
    const { body } = ask('[fake:reply]', { model: 'gemini-flash-latest' });
    const whole = (await completions(body)).json();
    expect(whole.model).toBe('gemini-flash-latest');
    const streamed = dataFrames((await completions({ ...body, stream: true })).body).filter((f): f is Chunk => typeof f === 'object');
    expect(streamed.length).toBeGreaterThan(1);
    for (const chunk of streamed) expect(chunk.model).toBe('gemini-flash-latest');
  });

  it('writes the request log line with the route, model and outcome, and never the key', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    const answer = await completions(ask('[fake:reply]', { stream: true }).body);
    const entry = JSON.parse(lines.find((l) => l.includes(answer.response.headers.get('x-request-id')!))!);
    expect(entry).toMatchObject({ route: '/v1/chat/completions', status: 200, model: 'gemini-3.8-flash', finishReason: 'STOP' });
    await completions(ask('[fake:reply]').body, { key: 'sk-wrong-key-but-long-enough' });
    for (const l of lines) {
      expect(l).not.toContain(KEY);
      expect(l).not.toContain('sk-wrong-key-but-long-enough');
    }
    expect(lines.some((l) => l.includes('"errorCode":"invalid_api_key"'))).toBe(true);
  });
});

describe('limits on /v1', () => {
  it('counts requests by API key, not address: one key from two addresses shares a window, another key has its own', async () => {
    const limited = worker({ RATE_LIMIT_PER_MINUTE: '2' });
    const { tag, body } = ask('[fake:reply chunks=1]');
    expect((await completions(body, { ip: '198.51.100.201' }, limited)).status).toBe(200);
    expect((await completions(body, { ip: '198.51.100.202' }, limited)).status).toBe(200);
    const refused = await completions(body, { ip: '198.51.100.203' }, limited);
    expect(refused.status).toBe(429);
    expect(Number(refused.response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.json().error).toEqual({
      message: expect.stringMatching(/^at most 2 requests a minute; retry in \d+ s$/),
      type: 'requests',
      code: 'rate_limit_exceeded',
      param: null,
    });
    expect(await fakeRequests(tag)).toHaveLength(2);
    expect((await completions(body, { ip: '198.51.100.203', key: OTHER_KEY }, limited)).status).toBe(200);
  });

  it('refuses a spent daily budget as 429 insufficient_quota, and tells the client not to retry', async () => {
    const budget = worker({ DAILY_TOKEN_BUDGET: '30', OPENAI_COMPAT_KEYS: 'sk-test-openai-compat-budget' });
    const first = await completions(ask('[fake:reply chunks=4]').body, { key: 'sk-test-openai-compat-budget' }, budget);
    expect(first.status).toBe(200);
    const { tag, body } = ask('[fake:reply]');
    const refused = await completions(body, { key: 'sk-test-openai-compat-budget' }, budget);
    expect(refused.status).toBe(429);
    expect(refused.response.headers.get('x-should-retry')).toBe('false');
    expect(refused.json().error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    expect(await fakeRequests(tag)).toHaveLength(0);
  });

  it('refuses an invalid body before counting it', async () => {
    const limited = worker({ RATE_LIMIT_PER_MINUTE: '1', OPENAI_COMPAT_KEYS: 'sk-test-openai-compat-invalid' });
    const key = 'sk-test-openai-compat-invalid';
    expect((await completions({ model: 'gemini-3.8-flash', messages: [] }, { key }, limited)).status).toBe(400);
    expect((await completions(ask('[fake:reply]').body, { key }, limited)).status).toBe(200);
  });
});

describe('POST /v1/chat/completions with files', () => {
  const dataUrl = (type: string, bytes: Uint8Array) => `data:${type};base64,${base64(bytes)}`;
  /** A WAV file's header: RIFF, a size, WAVE. */
  const wav = (size = 3000) => bytesWith(new Uint8Array([0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x41, 0x56, 0x45, 0x66, 0x6d, 0x74, 0x20]), size, 5);

  async function answered(body: Record<string, unknown>) {
    const answer = await completions(body);
    expect(answer.status, answer.body).toBe(200);
    return (answer.json() as { choices: [{ message: { content: string } }] }).choices[0].message.content;
  }

  it('sends image_url (a data URL), file and input_audio parts to Gemini inline, in order, with their bytes intact', async () => {
    const tag = uniqueTag();
    const [image, doc, audio] = [png(4000), pdf(2), wav()];
    const content = await answered({
      model: 'gemini-3.8-flash',
      messages: [{ role: 'user', content: [
        { type: 'image_url', image_url: { url: dataUrl('image/png', image), detail: 'low' } },
        { type: 'text', text: `What are these? [fake:reply tag=${tag}]` },
        { type: 'file', file: { file_data: dataUrl('application/pdf', doc), filename: 'report.pdf' } },
        { type: 'input_audio', input_audio: { data: base64(audio), format: 'wav' } },
      ] }],
    });
    const [record] = await fakeRequests(tag);
    expect(record.files).toMatchObject([
      { turn: 0, mimeType: 'image/png', bytes: 4000, sha256: await sha256(image) },
      { turn: 0, mimeType: 'application/pdf', bytes: doc.byteLength, sha256: await sha256(doc) },
      { turn: 0, mimeType: 'audio/wav', bytes: audio.byteLength, sha256: await sha256(audio) },
    ]);
    const parts = record.body.contents[0].parts as Array<Record<string, unknown>>;
    expect(parts.map((p) => Object.keys(p)[0])).toEqual(['inlineData', 'text', 'inlineData', 'inlineData']);
    expect(content.split('\n')[0]).toBe(`[fake] received image/png, 4000 bytes, sha256 ${(await sha256(image)).slice(0, 16)}`);
  });

  it('sends the files of earlier user messages too, and takes a file_data of bare base64', async () => {
    const tag = uniqueTag();
    const [first, second] = [jpeg(2000), pdf(1)];
    await answered({
      model: 'gemini-3.8-flash',
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl('image/jpeg', first) } }, { type: 'text', text: 'What is this?' }] },
        { role: 'assistant', content: 'A picture.' },
        { role: 'user', content: [{ type: 'file', file: { file_data: base64(second), filename: 'a.pdf' } }, { type: 'text', text: `And this? [fake:reply tag=${tag}]` }] },
      ],
    });
    const [record] = await fakeRequests(tag);
    expect(record.files).toMatchObject([
      { turn: 0, role: 'user', mimeType: 'image/jpeg', sha256: await sha256(first) },
      { turn: 2, role: 'user', mimeType: 'application/pdf', sha256: await sha256(second) },
    ]);
  });

  it('fetches an https image_url, following https redirects by hand, and sends its bytes', async () => {
    const tag = uniqueTag();
    const image = png(3000, 9);
    const original = globalThis.fetch;
    const seen: Array<{ url: string; redirect?: string }> = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!url.startsWith('https://images.example/')) return original(input, init);
      seen.push({ url, redirect: init?.redirect });
      if (url.endsWith('/a.png')) return new Response(null, { status: 302, headers: { location: '/b.png' } });
      // Served as something else entirely: the bytes decide.
      return new Response(image, { headers: { 'content-type': 'application/octet-stream' } });
    });
    await answered({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: [{ type: 'text', text: `See [fake:reply tag=${tag}]` }, { type: 'image_url', image_url: { url: 'https://images.example/a.png' } }] }] });
    expect(seen).toEqual([{ url: 'https://images.example/a.png', redirect: 'manual' }, { url: 'https://images.example/b.png', redirect: 'manual' }]);
    const [record] = await fakeRequests(tag);
    expect(record.files).toMatchObject([{ mimeType: 'image/png', bytes: 3000, sha256: await sha256(image) }]);
  });

  const original = globalThis.fetch;
  /** The Worker's fetches of https://images.example/ answered by `serve`; the rest (Gemini) go out. */
  const serveImages = (serve: (url: string) => Response) =>
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      return url.startsWith('https://images.example/') ? serve(url) : original(input, init);
    });

  const half = Math.floor(262_144 / 2) + 1000;
  const field = 'messages[0].content[1].image_url.url';
  const cases: Array<[string, unknown, string, string, string | RegExp, ((url: string) => Response)?]> = [
    ['an image_url that is not base64', { type: 'image_url', image_url: { url: 'data:image/png;base64,not base64!' } }, field, 'invalid_request', `${field} must be base64`],
    ['a renamed executable', { type: 'file', file: { file_data: dataUrl('application/pdf', exe()), filename: 'report.pdf' } }, 'messages[0].content[1].file.file_data', 'unsupported_media_type', /^messages\[0\]\.content\[1\]\.file\.file_data: the file (was sent as application\/pdf but its content|is none of the accepted types)/],
    ['an SVG', { type: 'image_url', image_url: { url: dataUrl('image/svg+xml', SVG_WITH_SCRIPT) } }, field, 'unsupported_media_type', /HTML, SVG and XML files are not accepted/],
    ['a PDF as an image_url', { type: 'image_url', image_url: { url: dataUrl('application/pdf', pdf()) } }, field, 'invalid_request', `${field} must be an image, not application/pdf (send other files as "file" parts)`],
    ['an https link that redirects to http:', { type: 'image_url', image_url: { url: 'https://images.example/a.png' } }, field, 'invalid_request', `${field} redirects to a URL that is not https: (got http:)`, () => new Response(null, { status: 301, headers: { location: 'http://images.example/a.png' } })],
    ['an https link that redirects for ever', { type: 'image_url', image_url: { url: 'https://images.example/a.png' } }, field, 'invalid_request', `${field}: could not fetch the file: more than 3 redirects`, (url) => new Response(null, { status: 307, headers: { location: `${url}x` } })],
    ['an https link that answers 404', { type: 'image_url', image_url: { url: 'https://images.example/a.png' } }, field, 'invalid_request', `${field}: could not fetch the file: the server answered 404`, () => new Response('no', { status: 404 })],
    ['an https link to a file over MAX_INLINE_BYTES', { type: 'image_url', image_url: { url: 'https://images.example/a.png' } }, field, 'too_large', `${field}: the file must be at most 262144 bytes`, () => new Response(png(300_000))],
  ];
  it.each(cases)('refuses %s with a 400 naming the part, without calling Gemini', async (_, part, param, code, message, serve) => {
    const spy = serveImages(serve ?? (() => new Response('unexpected', { status: 500 })));
    const tag = uniqueTag();
    const answer = await completions({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: [{ type: 'text', text: `See [fake:reply tag=${tag}]` }, part] }] });
    spy.mockRestore();
    expect(answer.status).toBe(400);
    const { error } = answer.json();
    expect(error).toMatchObject({ type: 'invalid_request_error', code, param });
    if (typeof message === 'string') expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
    expect(await fakeRequests(tag)).toEqual([]);
  });

  it('fetches no link for a key a limit refuses, and counts no inline file it refuses (regression: links were fetched before admission)', async () => {
    const key = 'sk-test-openai-compat-links';
    const limited = worker({ RATE_LIMIT_PER_MINUTE: '1', OPENAI_COMPAT_KEYS: key });
    const spy = serveImages(() => new Response(png(3000, 4)));
    const links = () => spy.mock.calls.filter(([input]) => (input instanceof Request ? input.url : String(input)).startsWith('https://images.example/')).length;
    const asking = (tag: string, url: string) => ({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: [{ type: 'text', text: `See [fake:reply tag=${tag}]` }, { type: 'image_url', image_url: { url } }] }] });
    expect((await completions(asking(uniqueTag(), 'data:image/png;base64,not base64!'), { key }, limited)).status).toBe(400);
    expect((await completions(asking(uniqueTag(), 'https://images.example/counted.png'), { key }, limited)).status).toBe(200);
    expect(links()).toBe(1);
    const tag = uniqueTag();
    const refused = await completions(asking(tag, 'https://images.example/refused.png'), { key }, limited);
    expect(refused.status).toBe(429);
    expect(links()).toBe(1);
    expect(await fakeRequests(tag)).toEqual([]);
  });

  it('refuses four files in one message, and files over MAX_INLINE_BYTES together across messages', async () => {
    const tag = uniqueTag();
    const image = (seed: number, size = 100) => ({ type: 'image_url', image_url: { url: dataUrl('image/png', png(size, seed)) } });
    const four = await completions({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: [{ type: 'text', text: `See [fake:reply tag=${tag}]` }, image(1), image(2), image(3), image(4)] }] });
    expect(four.status).toBe(400);
    expect(four.json().error).toMatchObject({ code: 'unsupported_parameter', param: 'messages[0].content', message: 'messages[0].content must have at most 3 file parts' });
    const spread = await completions({
      model: 'gemini-3.8-flash',
      messages: [
        { role: 'user', content: [image(5, half), { type: 'text', text: 'One' }] },
        { role: 'assistant', content: 'Yes.' },
        { role: 'user', content: [image(6, half), { type: 'text', text: `Two [fake:reply tag=${tag}]` }] },
      ],
    });
    expect(spread.status).toBe(400);
    expect(spread.json().error).toMatchObject({ code: 'too_large', param: 'messages', message: 'messages: the files of one request must be at most 262144 bytes together' });
    expect(await fakeRequests(tag)).toEqual([]);
  });
});
