import { spawn } from 'node:child_process';
import { GoogleGenerativeAI, GoogleGenerativeAIFetchError, type GenerateContentResponse, type GenerationConfig } from '@google/generative-ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MODELS, startFakeGemini, type FakeRecord } from '../../fake-gemini/server.mjs';

/**
 * The fake Gemini against the Gemini API of December 2026 (docs/fake-gemini.md), over a real
 * socket: raw fetch for exact statuses and bodies, the real SDK for streams.
 */

let fake: Awaited<ReturnType<typeof startFakeGemini>>;
beforeAll(async () => {
  fake = await startFakeGemini();
});
afterAll(async () => {
  await fake?.close();
});

const KEY = 'test-key';
const EXISTING = 'test-existing-key';
const FREE = 'test-free-key';

let tags = 0;
/** A message with a directive and a tag unique to this file, to find its record. */
function tagged(directive = '[fake:reply]'): { text: string; tag: string } {
  const tag = `fk${tags++}`;
  return { text: `Hello ${directive.replace(/\]$/, ` tag=${tag}]`)}`, tag };
}
const record = (tag: string): FakeRecord => {
  const found = fake.records.find((r) => r.tag === tag);
  if (!found) throw new Error(`no record for ${tag}`);
  return found;
};
const ask = (text: string, generationConfig?: Record<string, unknown>) => ({
  contents: [{ role: 'user', parts: [{ text }] }],
  ...(generationConfig ? { generationConfig } : {}),
});
const promptTokens = (text: string) => Math.ceil(text.length / 4);

interface Call {
  status: number;
  type: string | null;
  text: string;
  json: () => any;
  events: () => any[];
}

/** A raw POST to a model method: the exact status, type and body. */
async function call(
  model: string,
  body: unknown,
  { key = KEY, stream = true, query = '', url = fake.url }: { key?: string; stream?: boolean; query?: string; url?: string } = {},
): Promise<Call> {
  const method = stream ? 'streamGenerateContent?alt=sse' : 'generateContent?';
  const response = await fetch(`${url}/v1beta/models/${model}:${method}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'x-goog-api-key': key } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    text,
    json: () => JSON.parse(text),
    events: () => text.split('\r\n\r\n').filter(Boolean).map((frame) => JSON.parse(frame.slice('data: '.length))),
  };
}

/** A GET on the model list or one model. */
async function get(path: string, key: string | null = KEY) {
  const response = await fetch(`${fake.url}/v1beta/${path}`, { headers: key ? { 'x-goog-api-key': key } : {} });
  return { status: response.status, body: (await response.json()) as any };
}

/** Every chunk the real SDK yields for one streamed answer. */
async function sdkStream(model: string, text: string, generationConfig: Record<string, unknown> = {}, key = KEY): Promise<any[]> {
  const client = new GoogleGenerativeAI(key).getGenerativeModel({ model, generationConfig: generationConfig as GenerationConfig }, { baseUrl: fake.url });
  const result = await client.generateContentStream(text);
  const chunks: GenerateContentResponse[] = [];
  for await (const chunk of result.stream) chunks.push(chunk);
  await result.response;
  return chunks;
}

/** The SDK's error for a refused stream. */
async function sdkError(model: string, text: string, generationConfig: Record<string, unknown> = {}, key = KEY) {
  try {
    await sdkStream(model, text, generationConfig, key);
  } catch (error) {
    return error as GoogleGenerativeAIFetchError;
  }
  throw new Error('the stream was not refused');
}

/**
 * An answer chunk's usage as Gemini writes it, in wire order (every 2.5 and 3.x stream recording):
 * the running candidatesTokenCount, the full thoughtsTokenCount.
 */
const answerUsage = (prompt: number, candidates: number, thoughts: number, toolUse = 0) => ({
  promptTokenCount: prompt,
  candidatesTokenCount: candidates,
  totalTokenCount: prompt + candidates + thoughts + toolUse,
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }],
  ...(toolUse ? { toolUsePromptTokenCount: toolUse, toolUsePromptTokensDetails: [{ modality: 'TEXT', tokenCount: toolUse }] } : {}),
  ...(thoughts ? { thoughtsTokenCount: thoughts } : {}),
});
/** The running candidatesTokenCount after each answer event (about four characters a token). */
const runningCandidates = (events: any[]) => {
  let chars = 0;
  return events.map((e) => Math.ceil((chars += e.candidates[0].content.parts[0].text.length) / 4));
};
/** Usage objects as wire JSON, so that key order counts. */
const wire = (objects: unknown[]) => objects.map((o) => JSON.stringify(o));
const answerText = (chunks: any[]) =>
  chunks.flatMap((c) => c.candidates?.[0]?.content?.parts ?? []).filter((p: any) => !p.thought).map((p: any) => p.text ?? '').join('');
const last = <T>(items: T[]) => items[items.length - 1];
const notFound = (message: string) => ({ error: { code: 404, message, status: 'NOT_FOUND' } });
const invalid = (message: string) => ({ error: { code: 400, message, status: 'INVALID_ARGUMENT' } });

const CURRENT = ['gemini-3.8-flash', 'gemini-3.6-flash', 'gemini-3.5-flash-lite', 'gemini-3.1-flash-lite', 'gemini-3.1-pro-preview', 'gemini-3-flash-preview'];
const ROUTED: Record<string, string> = {
  'gemini-3.7-flash': 'gemini-3.8-flash',
  'gemini-3.5-flash': 'gemini-3.6-flash',
  'gemini-3-pro-preview': 'gemini-3.1-pro-preview',
  'gemini-flash-latest': 'gemini-3.8-flash',
  'gemini-flash-lite-latest': 'gemini-3.5-flash-lite',
  'gemini-pro-latest': 'gemini-3.1-pro-preview',
};
/** The 2.5 family: the model a new user is told to use, the model an existing user gets. */
const LEGACY: Record<string, { suggest: string; answeredBy: string }> = {
  'gemini-2.5-flash': { suggest: 'gemini-3.6-flash', answeredBy: 'gemini-3.5-flash-lite' },
  'gemini-2.5-pro': { suggest: 'gemini-3.8-flash', answeredBy: 'gemini-3.8-flash' },
  'gemini-2.5-flash-lite': { suggest: 'gemini-3.5-flash-lite', answeredBy: 'gemini-2.5-flash-lite' },
};
const SHUT_DOWN = [
  'gemini-2.0-flash', 'gemini-2.0-flash-001', 'gemini-2.0-flash-lite', 'gemini-2.0-flash-lite-001',
  'gemini-1.5-pro', 'gemini-1.5-flash', 'gemini-1.5-flash-8b',
  'gemini-2.5-pro-preview-03-25', 'gemini-2.5-pro-preview-05-06', 'gemini-2.5-pro-preview-06-05',
  'gemini-2.5-flash-preview-09-2025', 'gemini-2.5-flash-lite-preview-09-2025', 'gemini-3.1-flash-lite-preview',
];
const LISTED = [...CURRENT, 'gemini-3.7-flash', 'gemini-3.5-flash', 'gemini-3-pro-preview', 'gemini-flash-latest', 'gemini-flash-lite-latest', 'gemini-pro-latest', ...Object.keys(LEGACY)];

describe('the model table', () => {
  it('holds exactly the current, rerouted, alias, 2.5 and shut-down IDs', () => {
    expect(Object.keys(FAKE_MODELS).sort()).toEqual([...LISTED, ...SHUT_DOWN].sort());
  });

  it.each(CURRENT)('answers %s as itself', async (model) => {
    const events = (await call(model, ask('Hi [fake:reply chunks=2]'))).events();
    expect(events.map((e) => e.modelVersion)).toEqual(Array(events.length).fill(model));
  });

  it.each(Object.entries(ROUTED))('answers %s as %s, and says so in modelVersion', async (model, target) => {
    const chunks = await sdkStream(model, 'Hi [fake:reply chunks=2]');
    expect(new Set(chunks.map((c) => c.modelVersion))).toEqual(new Set([target]));
  });

  it.each(Object.entries(LEGACY))('refuses %s to a new user with a 404 that names %j', async (model, { suggest }) => {
    const answer = await call(model, ask('Hi'));
    expect(answer.status).toBe(404);
    expect(answer.json()).toEqual(
      notFound(`This model models/${model} is no longer available to new users. Please update your code to use models/${suggest} for the latest features and improvements.`),
    );
  });

  it.each(Object.entries(LEGACY))('answers %s to an existing user as %j', async (model, { answeredBy }) => {
    const events = (await call(model, ask('Hi [fake:reply chunks=2]'), { key: EXISTING })).events();
    expect(last(events).modelVersion).toBe(answeredBy);
  });

  it.each(SHUT_DOWN)('answers 404 "no longer available" for the shut-down %s', async (model) => {
    const answer = await call(model, ask('Hi'), { key: EXISTING });
    expect(answer.status).toBe(404);
    expect(answer.json()).toEqual(
      notFound(`This model models/${model} is no longer available. Please update your code to use a newer model for the latest features and improvements.`),
    );
  });

  it('answers the classic "not found for API version v1beta" 404 for an unknown ID', async () => {
    const answer = await call('gemini-9-ultra', ask('Hi'));
    expect(answer.status).toBe(404);
    expect(answer.json()).toEqual(
      notFound('models/gemini-9-ultra is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.'),
    );
  });
});

describe('GET /v1beta/models', () => {
  it('lists the current models, the rerouted ones, the aliases and the 2.5 family, not the shut-down ones', async () => {
    const { status, body } = await get('models');
    expect(status).toBe(200);
    expect(body.models.map((m: any) => m.name)).toEqual(LISTED.map((id) => `models/${id}`));
    expect(body.nextPageToken).toBeUndefined();
  });

  it('pages with pageSize and pageToken until there is no nextPageToken', async () => {
    const names: string[] = [];
    const sizes: number[] = [];
    let token = '';
    do {
      const { body } = await get(`models?pageSize=4${token ? `&pageToken=${token}` : ''}`);
      names.push(...body.models.map((m: any) => m.name));
      sizes.push(body.models.length);
      token = body.nextPageToken ?? '';
    } while (token);
    expect(sizes).toEqual([4, 4, 4, 3]);
    expect(names).toEqual(LISTED.map((id) => `models/${id}`));
  });

  it('describes a model with the fields of a real list entry', async () => {
    const { status, body } = await get('models/gemini-3.8-flash');
    expect(status).toBe(200);
    expect(body).toEqual({
      name: 'models/gemini-3.8-flash',
      version: '3.8',
      displayName: 'Gemini 3.8 Flash',
      description: expect.any(String),
      inputTokenLimit: 1048576,
      outputTokenLimit: 65536,
      supportedGenerationMethods: ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent'],
      temperature: 1,
      topP: 0.95,
      topK: 64,
      maxTemperature: 2,
      thinking: true,
    });
  });

  it('gets a 2.5 model a new user cannot call (listed is not callable)', async () => {
    expect((await get('models/gemini-2.5-flash')).status).toBe(200);
    expect((await call('gemini-2.5-flash', ask('Hi'))).status).toBe(404);
  });

  it('answers 404 for a shut-down model', async () => {
    const { status, body } = await get('models/gemini-2.0-flash');
    expect(status).toBe(404);
    expect(body.error.status).toBe('NOT_FOUND');
  });

  it('checks the key like the model methods do', async () => {
    expect((await get('models', null)).status).toBe(403);
    const standard = await get('models', 'AIzaSyFakeStandardKey');
    expect(standard.status).toBe(401);
    expect(standard.body.error.details[0].metadata.method).toBe('google.ai.generativelanguage.v1beta.ModelService.ListModels');
    expect((await get('models/gemini-3.8-flash', 'invalid-key')).status).toBe(400);
  });
});

describe('API keys', () => {
  it('refuses a request without a key with 403 PERMISSION_DENIED', async () => {
    const answer = await call('gemini-3.8-flash', ask('Hi'), { key: '' });
    expect(answer.status).toBe(403);
    expect(answer.json().error.status).toBe('PERMISSION_DENIED');
  });

  it('refuses a key starting "invalid" with 400 API_KEY_INVALID', async () => {
    const answer = await call('gemini-3.8-flash', ask('Hi'), { key: 'invalid-key' });
    expect(answer.status).toBe(400);
    expect(answer.json().error).toMatchObject({ message: 'API key not valid. Please pass a valid API key.', details: [{ reason: 'API_KEY_INVALID' }] });
  });

  it('refuses a standard "AIza" key with the exact 401 ACCESS_TOKEN_TYPE_UNSUPPORTED body', async () => {
    const answer = await call('gemini-3.8-flash', ask('Hi'), { key: 'AIzaSyFakeStandardKey', stream: false });
    expect(answer.status).toBe(401);
    expect(answer.text).toBe(
      '{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.","status":"UNAUTHENTICATED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_TYPE_UNSUPPORTED","metadata":{"method":"google.ai.generativelanguage.v1beta.GenerativeService.GenerateContent","service":"generativelanguage.googleapis.com"}}]}}',
    );
  });

  it('names StreamGenerateContent in the 401 of a streamed request', async () => {
    const answer = await call('gemini-3.8-flash', ask('Hi'), { key: 'AIzaSyFakeStandardKey' });
    expect(answer.json().error.details[0].metadata.method).toBe('google.ai.generativelanguage.v1beta.GenerativeService.StreamGenerateContent');
  });

  it('refuses a key in both the header and the query with 400', async () => {
    const answer = await call('gemini-3.8-flash', ask('Hi'), { query: '&key=other-key' });
    expect(answer.status).toBe(400);
    expect(answer.json()).toEqual(invalid('Multiple authentication credentials received. Please pass only one.'));
  });

  it('takes a key from the query alone', async () => {
    expect((await call('gemini-3.8-flash', ask('Hi'), { key: '', query: `&key=${KEY}` })).status).toBe(200);
  });

  it.each(['gemini-3.1-pro-preview', 'gemini-pro-latest', 'gemini-3-pro-preview'])('gives a free-tier key 429 with limit 0 on %s', async (model) => {
    const answer = await call(model, ask('Hi'), { key: FREE });
    expect(answer.status).toBe(429);
    expect(answer.json().error.message).toContain('* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: gemini-3.1-pro-preview\n');
  });

  it('lets a free-tier key use a Flash model', async () => {
    expect((await call('gemini-3.8-flash', ask('Hi'), { key: FREE })).status).toBe(200);
  });

  it('records the project the key stands for', async () => {
    const { text, tag } = tagged();
    await call('gemini-2.5-flash', ask(text), { key: 'test-free-existing' });
    expect(record(tag)).toMatchObject({ tier: 'free', existingUser: true, modelVersion: 'gemini-3.5-flash-lite', httpStatus: 200 });
  });
});

describe('thinking', () => {
  const think = (thinkingConfig: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ thinkingConfig, ...extra });

  it('refuses a thinking level on a 2.5 model', async () => {
    const answer = await call('gemini-2.5-flash-lite', ask('Hi', think({ thinkingLevel: 'LOW' })), { key: EXISTING });
    expect(answer.status).toBe(400);
    expect(answer.json()).toEqual(invalid('Thinking level is not supported for this model.'));
  });

  it('refuses a thinking level on 2.5 Flash even when an existing user is answered by a 3.x model', async () => {
    const answer = await call('gemini-2.5-flash', ask('Hi', think({ thinkingLevel: 'LOW' })), { key: EXISTING });
    expect(answer.json()).toEqual(invalid('Thinking level is not supported for this model.'));
  });

  it('refuses a thinking budget and a thinking level together', async () => {
    const answer = await call('gemini-3.6-flash', ask('Hi', think({ thinkingLevel: 'LOW', thinkingBudget: 512 })));
    expect(answer.json()).toEqual(invalid('thinking_budget and thinking_level are not supported together'));
  });

  it.each(['gemini-3.8-flash', 'gemini-3.7-flash', 'gemini-3.1-pro-preview', 'gemini-pro-latest'])('refuses MINIMAL on %s, naming the level as sent, upper-cased', async (model) => {
    const answer = await call(model, ask('Hi', think({ thinkingLevel: 'minimal' })));
    expect(answer.status).toBe(400);
    expect(answer.json()).toEqual(invalid('Thinking level MINIMAL is not supported for this model. Please retry with other thinking level.'));
  });

  it('refuses an unknown thinking level with a BadRequest field violation', async () => {
    const answer = await call('gemini-3.8-flash', ask('Hi', think({ thinkingLevel: 'EXTREME' })));
    expect(answer.status).toBe(400);
    expect(answer.json().error.details[0]).toMatchObject({
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      fieldViolations: [{ field: 'generation_config.thinking_config.thinking_level' }],
    });
  });

  it.each([
    ['gemini-2.5-flash-lite', 256],
    ['gemini-2.5-flash-lite', 30000],
    ['gemini-2.5-pro', 0],
    ['gemini-2.5-pro', 64],
    ['gemini-2.5-flash', 24577],
  ])('refuses the budget of %s = %i', async (model, budget) => {
    const answer = await call(model, ask('Hi', think({ thinkingBudget: budget })), { key: EXISTING });
    expect(answer.json()).toEqual(invalid(`The thinking budget (${budget}) is invalid.`));
  });

  it.each([
    ['gemini-2.5-flash-lite', 0],
    ['gemini-2.5-flash-lite', 512],
    ['gemini-2.5-pro', 128],
    ['gemini-2.5-flash', -1],
    ['gemini-2.5-flash', 0],
  ])('accepts the budget of %s = %i', async (model, budget) => {
    expect((await call(model, ask('Hi', think({ thinkingBudget: budget })), { key: EXISTING })).status).toBe(200);
  });

  it.each([
    ['gemini-3.8-flash', 160],
    ['gemini-3.6-flash', 160],
    ['gemini-3.5-flash-lite', 0],
    ['gemini-3.1-flash-lite', 0],
    ['gemini-3.1-pro-preview', 480],
    ['gemini-3-flash-preview', 480],
  ])('spends the default level of %s: %i thought tokens', async (model, thoughts) => {
    const { text, tag } = tagged();
    const chunks = await sdkStream(model, text);
    expect(last(chunks).usageMetadata.thoughtsTokenCount ?? 0).toBe(thoughts);
    expect(record(tag).thoughtsTokenCount).toBe(thoughts);
  });

  it.each([
    ['MINIMAL', 0],
    ['LOW', 48],
    ['MEDIUM', 160],
    ['HIGH', 480],
  ])('spends %s thinking as %i thought tokens', async (level, thoughts) => {
    const chunks = await sdkStream('gemini-3.6-flash', 'Hi', think({ thinkingLevel: level }));
    expect(last(chunks).usageMetadata.thoughtsTokenCount ?? 0).toBe(thoughts);
  });

  it('honours a thinking budget on 3.x: 0 thinks not at all, 100 caps the thoughts', async () => {
    const none = await sdkStream('gemini-3.8-flash', 'Hi', think({ thinkingBudget: 0 }));
    expect(none.every((c) => c.usageMetadata.thoughtsTokenCount === undefined)).toBe(true);
    const capped = await sdkStream('gemini-3.8-flash', 'Hi', think({ thinkingBudget: 100 }));
    expect(last(capped).usageMetadata.thoughtsTokenCount).toBe(100);
  });

  it('counts thoughts in totalTokenCount on every chunk', async () => {
    const text = 'Hi [fake:reply chunks=4]';
    const chunks = await sdkStream('gemini-3.8-flash', text);
    const p = promptTokens(text);
    for (const { usageMetadata: u } of chunks) {
      expect(u.totalTokenCount).toBe(p + (u.candidatesTokenCount ?? 0) + 160);
      expect(u.promptTokenCount).toBe(p);
      expect(u.thoughtsTokenCount).toBe(160);
    }
    expect(last(chunks).usageMetadata.candidatesTokenCount).toBe(Math.ceil(answerText(chunks).length / 4));
  });

  it('gives the answer what thinking leaves of maxOutputTokens, then stops with MAX_TOKENS', async () => {
    const chunks = await sdkStream('gemini-3.8-flash', 'Hi [fake:reply chunks=10]', { maxOutputTokens: 200 });
    expect(answerText(chunks)).toHaveLength((200 - 160) * 4);
    expect(last(chunks).candidates[0].finishReason).toBe('MAX_TOKENS');
    expect(last(chunks).usageMetadata).toMatchObject({ candidatesTokenCount: 40, thoughtsTokenCount: 160 });
  });

  it('writes no answer text when thinking alone reaches maxOutputTokens', async () => {
    const text = 'Hi [fake:reply chunks=10]';
    const chunks = await sdkStream('gemini-3.1-pro-preview', text, { maxOutputTokens: 300 });
    expect(answerText(chunks)).toBe('');
    expect(chunks).toHaveLength(1);
    expect(chunks[0].candidates[0]).toEqual({ content: { role: 'model' }, finishReason: 'MAX_TOKENS', index: 0 });
    const p = promptTokens(text);
    expect(chunks[0].usageMetadata).toEqual({ promptTokenCount: p, totalTokenCount: p + 300, promptTokensDetails: [{ modality: 'TEXT', tokenCount: p }], thoughtsTokenCount: 300 });
  });

  it('sends thought summaries before the answer with includeThoughts', async () => {
    const { text, tag } = tagged('[fake:reply chunks=3]');
    const chunks = await sdkStream('gemini-3.8-flash', text, think({ includeThoughts: true }));
    const thoughtChunks = chunks.filter((c) => c.candidates[0].content.parts?.[0]?.thought);
    expect(chunks.slice(0, 2)).toEqual(thoughtChunks);
    expect(thoughtChunks.map((c) => c.candidates[0].content.parts[0].text)).toEqual([
      expect.stringMatching(/^\*\*Reading the request\*\*\n\n.+\n\n\n$/),
      expect.stringMatching(/^\*\*Planning the answer\*\*\n\n.+\n\n\n$/),
    ]);
    expect(record(tag)).toMatchObject({ thoughtChunksSent: 2, chunksSent: 3 });
  });

  it('gives 3.x thought events the prompt alone, then each answer chunk running candidates and all thoughts (gemini3 recording)', async () => {
    const text = 'Hi [fake:reply chunks=3]';
    const p = promptTokens(text);
    const events = (await call('gemini-3.8-flash', ask(text, think({ includeThoughts: true })))).events();
    expect(events).toHaveLength(6);
    const [thoughtEvents, answerEvents, closing] = [events.slice(0, 2), events.slice(2, 5), events[5]];
    expect(thoughtEvents.every((e) => e.candidates[0].content.parts[0].thought === true)).toBe(true);
    const promptOnly = { promptTokenCount: p, totalTokenCount: p, promptTokensDetails: [{ modality: 'TEXT', tokenCount: p }] };
    expect(wire(thoughtEvents.map((e) => e.usageMetadata))).toEqual(wire([promptOnly, promptOnly]));
    const running = runningCandidates(answerEvents);
    expect(running[0]).toBeLessThan(running[2]);
    expect(wire(answerEvents.map((e) => e.usageMetadata))).toEqual(wire(running.map((c) => answerUsage(p, c, 160))));
    expect(closing.candidates[0]).toMatchObject({ content: { parts: [{ text: '', thoughtSignature: expect.any(String) }] }, finishReason: 'STOP' });
    expect(wire([closing.usageMetadata])).toEqual(wire([answerUsage(p, running[2], 160)]));
  });

  it.each([
    ['gemini-3.8-flash', KEY],
    ['gemini-2.5-flash-lite', EXISTING],
  ])('puts "index": 0 on every %s candidate, after the finish reason (2.5 and 3.x recordings)', async (model, key) => {
    const events = (await call(model, ask('Hi [fake:reply chunks=3]', think({ includeThoughts: true, thinkingBudget: 1024 })), { key })).events();
    expect(events.length).toBeGreaterThan(3);
    for (const event of events) {
      const keys = Object.keys(event.candidates[0]);
      expect(keys).toEqual(event.candidates[0].finishReason ? ['content', 'finishReason', 'index'] : ['content', 'index']);
      expect(event.candidates[0].index).toBe(0);
    }
    const whole = (await call(model, ask('Hi [fake:reply chunks=3]'), { key, stream: false })).json();
    expect(Object.keys(whole.candidates[0])).toEqual(['content', 'finishReason', 'index']);
  });

  it('puts "index" between the finish reason and the safety ratings', async () => {
    const events = (await call('gemini-3.8-flash', ask('Hi [fake:safety]'))).events();
    expect(Object.keys(last(events).candidates[0])).toEqual(['content', 'finishReason', 'index', 'safetyRatings']);
  });

  it('gives 2.5 thought events the thoughts so far, then each answer chunk running candidates and all thoughts (2.5 recordings)', async () => {
    const text = 'Hi [fake:reply chunks=3]';
    const p = promptTokens(text);
    const events = (await call('gemini-2.5-flash-lite', ask(text, think({ includeThoughts: true, thinkingBudget: 1024 })), { key: EXISTING })).events();
    expect(events).toHaveLength(5);
    const [thoughtEvents, answerEvents] = [events.slice(0, 2), events.slice(2)];
    expect(wire(thoughtEvents.map((e) => e.usageMetadata))).toEqual(
      wire([80, 160].map((t) => ({ promptTokenCount: p, totalTokenCount: p + t, promptTokensDetails: [{ modality: 'TEXT', tokenCount: p }], thoughtsTokenCount: t }))),
    );
    expect(wire(answerEvents.map((e) => e.usageMetadata))).toEqual(wire(runningCandidates(answerEvents).map((c) => answerUsage(p, c, 160))));
    expect(answerEvents.map((e) => e.candidates[0].finishReason)).toEqual([undefined, undefined, 'STOP']);
  });

  it('puts all thoughts and running candidates on every 3.x answer chunk without includeThoughts (gemini3 file-search recording)', async () => {
    const text = 'Hi [fake:reply chunks=4]';
    const p = promptTokens(text);
    const events = (await call('gemini-3.6-flash', ask(text))).events();
    const answerEvents = events.slice(0, 4);
    const running = runningCandidates(answerEvents);
    expect(wire(answerEvents.map((e) => e.usageMetadata))).toEqual(wire(running.map((c) => answerUsage(p, c, 160))));
    expect(wire([last(events).usageMetadata])).toEqual(wire([answerUsage(p, running[3], 160)]));
  });

  it('writes no thoughtsTokenCount at all when a 3.x model did not think (gemini3 round-trip recording)', async () => {
    const text = 'Hi [fake:reply chunks=3]';
    const p = promptTokens(text);
    const events = (await call('gemini-3.5-flash-lite', ask(text))).events();
    const running = runningCandidates(events.slice(0, 3));
    expect(wire(events.map((e) => e.usageMetadata))).toEqual(wire([...running, running[2]].map((c) => answerUsage(p, c, 0))));
  });

  it('sends no thought part at all with thoughts=none, though the usage still counts thoughts', async () => {
    const chunks = await sdkStream('gemini-3.8-flash', 'Hi [fake:reply thoughts=none]', think({ includeThoughts: true }));
    expect(chunks.some((c) => c.candidates[0].content.parts?.some((p: any) => p.thought))).toBe(false);
    expect(last(chunks).usageMetadata.thoughtsTokenCount).toBe(160);
  });

  it('with unshown=wait, starts an answer without includeThoughts as late as one after its thought summaries', async () => {
    /** Milliseconds from the request to the first answer chunk the fake wrote, and the thought events sent. */
    const firstText = async (generationConfig: Record<string, unknown>) => {
      const { text, tag } = tagged('[fake:reply chunks=1 thoughts=3 delay=100 unshown=wait]');
      const started = performance.timeOrigin + performance.now();
      await sdkStream('gemini-3.8-flash', text, generationConfig);
      return { ms: record(tag).sentAt[0] - started, thoughts: record(tag).thoughtChunksSent };
    };
    const hidden = await firstText({});
    expect(hidden.thoughts).toBe(0);
    expect(hidden.ms).toBeGreaterThanOrEqual(3 * 100 - 2);
    // With includeThoughts the summaries take that time; the option adds none.
    const shown = await firstText(think({ includeThoughts: true }));
    expect(shown.thoughts).toBe(3);
    expect(shown.ms).toBeGreaterThanOrEqual(3 * 100 - 2);
    expect(shown.ms).toBeLessThan(2 * 3 * 100);
  });

  it('sends no thought summaries when the model did not think', async () => {
    const chunks = await sdkStream('gemini-3.5-flash-lite', 'Hi', think({ includeThoughts: true }));
    expect(chunks.some((c) => c.candidates[0].content.parts?.some((p: any) => p.thought))).toBe(false);
  });

  it('ends a thinking 3.x stream with an empty text part carrying the signature and the finish reason (gemini3 recording)', async () => {
    const chunks = await sdkStream('gemini-3.8-flash', 'Hi [fake:reply chunks=3]');
    expect(chunks).toHaveLength(4);
    expect(last(chunks).candidates[0]).toEqual({
      content: { parts: [{ text: '', thoughtSignature: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/) }], role: 'model' },
      finishReason: 'STOP',
      index: 0,
    });
    expect(last(chunks).usageMetadata.thoughtsTokenCount).toBe(160);
    expect(chunks.slice(0, 3).every((c) => c.candidates[0].finishReason === undefined)).toBe(true);
    expect(chunks.slice(0, 3).every((c) => c.candidates[0].content.parts.every((p: any) => p.thoughtSignature === undefined))).toBe(true);
  });

  it.each([
    ['gemini-3.5-flash-lite at its default MINIMAL', 'gemini-3.5-flash-lite', {}],
    ['thinkingBudget 0', 'gemini-3.8-flash', think({ thinkingBudget: 0 })],
  ])('ends a 3.x stream that did not think (%s) with an empty text part and no signature (gemini3 round-trip recording)', async (_, model, config) => {
    const events = (await call(model as string, ask('Hi [fake:reply chunks=3]', config))).events();
    expect(events).toHaveLength(4);
    expect(JSON.stringify(last(events).candidates)).toBe('[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}]');
    expect(events.slice(0, 3).every((e) => e.candidates[0].finishReason === undefined)).toBe(true);
    expect(JSON.stringify(events)).not.toContain('thoughtSignature');
    expect(JSON.stringify(events)).not.toContain('thoughtsTokenCount');
    const whole = (await call(model as string, ask('Hi [fake:reply chunks=3]', config), { stream: false })).json();
    expect(JSON.stringify(whole)).not.toContain('thoughtSignature');
  });

  it('ends a 3.x stream on its last text chunk with signature=none', async () => {
    const chunks = await sdkStream('gemini-3.8-flash', 'Hi [fake:reply chunks=3 signature=none]');
    expect(chunks).toHaveLength(3);
    expect(last(chunks).candidates[0].finishReason).toBe('STOP');
    expect(JSON.stringify(chunks)).not.toContain('thoughtSignature');
  });

  it('puts a 2.5 signature on the first answer part, and only when the model thought', async () => {
    const thinking = await sdkStream('gemini-2.5-flash-lite', 'Hi [fake:reply chunks=3]', think({ thinkingBudget: 1024 }), EXISTING);
    expect(thinking).toHaveLength(3);
    expect(thinking.map((c) => typeof c.candidates[0].content.parts[0].thoughtSignature)).toEqual(['string', 'undefined', 'undefined']);
    expect(last(thinking).usageMetadata.thoughtsTokenCount).toBe(160);
    const plain = await sdkStream('gemini-2.5-flash-lite', 'Hi [fake:reply chunks=3]', {}, EXISTING);
    expect(JSON.stringify(plain)).not.toContain('thoughtSignature');
  });

  it('answers :generateContent with one thought part, then the answer part carrying the signature', async () => {
    const text = 'Hi [fake:reply chunks=2]';
    const answer = (await call('gemini-3.8-flash', ask(text, think({ includeThoughts: true })), { stream: false })).json();
    const parts = answer.candidates[0].content.parts;
    expect(parts.map((p: any) => Object.keys(p))).toEqual([['text', 'thought'], ['text', 'thoughtSignature']]);
    expect(answer.usageMetadata.totalTokenCount).toBe(promptTokens(text) + answer.usageMetadata.candidatesTokenCount + 160);
    expect(answer.modelVersion).toBe('gemini-3.8-flash');
  });
});

describe('sampling parameters', () => {
  const sampling = { temperature: 0.2, topK: 3 };

  it.each(['gemini-3.8-flash', 'gemini-3.6-flash', 'gemini-3.5-flash-lite', 'gemini-flash-latest'])('accepts and ignores them on %s, and records which were sent', async (model) => {
    const { text, tag } = tagged();
    expect((await call(model, ask(text, sampling))).status).toBe(200);
    expect(record(tag)).toMatchObject({ ignored: ['temperature', 'topK'], honoured: [] });
  });

  it('ignores them on gemini-2.5-flash, which an existing user gets from 3.5 Flash-Lite', async () => {
    const { text, tag } = tagged();
    await call('gemini-2.5-flash', ask(text, { topP: 0.5 }), { key: EXISTING });
    expect(record(tag)).toMatchObject({ ignored: ['topP'], honoured: [] });
  });

  it.each(['gemini-3.1-flash-lite', 'gemini-3.1-pro-preview', 'gemini-3-flash-preview'])('honours them on %s', async (model) => {
    const { text, tag } = tagged();
    await call(model, ask(text, sampling));
    expect(record(tag)).toMatchObject({ ignored: [], honoured: ['temperature', 'topK'] });
  });

  it('refuses them with 400 under sampling=reject, as future generations will', async () => {
    const answer = await call('gemini-3.8-flash', ask('Hi [fake:reply sampling=reject]', { topP: 0.9 }));
    expect(answer.status).toBe(400);
    expect(answer.json().error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', message: expect.stringMatching(/^top_p is not supported for this model\./) });
  });

  it('still honours them on a model that honours them under sampling=reject', async () => {
    expect((await call('gemini-3.1-flash-lite', ask('Hi [fake:reply sampling=reject]', sampling))).status).toBe(200);
  });

  it('refuses them on every request of a server started with rejectSampling, unless sampling=accept', async () => {
    const strict = await startFakeGemini({ rejectSampling: true });
    try {
      expect((await call('gemini-3.8-flash', ask('Hi', { temperature: 1 }), { url: strict.url })).status).toBe(400);
      expect((await call('gemini-3.8-flash', ask('Hi'), { url: strict.url })).status).toBe(200);
      expect((await call('gemini-3.8-flash', ask('Hi [fake:reply sampling=accept]', { temperature: 1 }), { url: strict.url })).status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it('refuses them from the command line with --reject-sampling', async () => {
    const child = spawn(process.execPath, ['fake-gemini/cli.mjs', '--port', '0', '--delay', '0', '--reject-sampling'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let output = '';
        child.stdout.on('data', (data) => {
          output += data;
          const match = /listening on (\S+)/.exec(output);
          if (match) resolve(match[1]);
        });
        child.on('exit', () => reject(new Error(`the CLI exited: ${output}`)));
      });
      expect((await call('gemini-3.8-flash', ask('Hi', { temperature: 1 }), { url })).status).toBe(400);
    } finally {
      child.kill();
    }
  });
});

describe('other refusals of Gemini 3', () => {
  it('refuses candidateCount above 1 on 3.x', async () => {
    const answer = await call('gemini-3.6-flash', ask('Hi', { candidateCount: 2 }));
    expect(answer.json()).toEqual(invalid('Multiple candidates is not enabled for this model'));
  });

  it('accepts candidateCount 2 on 2.5 Flash-Lite', async () => {
    expect((await call('gemini-2.5-flash-lite', ask('Hi', { candidateCount: 2 }), { key: EXISTING })).status).toBe(200);
  });

  it('refuses maxOutputTokens above 65536 and accepts 65536', async () => {
    const answer = await call('gemini-3.8-flash', ask('Hi', { maxOutputTokens: 65537 }));
    expect(answer.json()).toEqual(invalid('The requested maxOutputTokens value of 65537 but the supported range is from 1 (inclusive) to 65537 (exclusive)'));
    expect((await call('gemini-3.8-flash', ask('Hi', { maxOutputTokens: 65536 }))).status).toBe(200);
  });

  it('refuses contents ending with a non-empty model turn (prefill) on 3.x, not on 2.5', async () => {
    const prefill = {
      contents: [
        { role: 'user', parts: [{ text: 'Hi' }] },
        { role: 'model', parts: [{ text: 'Sure, here' }] },
      ],
    };
    expect((await call('gemini-3.8-flash', prefill)).json()).toEqual(invalid('Requests ending with a model turn are not supported.'));
    expect((await call('gemini-2.5-flash', prefill, { key: EXISTING })).status).toBe(400);
    expect((await call('gemini-2.5-flash-lite', prefill, { key: EXISTING })).status).toBe(200);
  });
});

describe('thought signatures sent back', () => {
  /** The signature the fake signs a thinking answer of `model` with (its closing event on 3.x). */
  async function signatureFrom(model: string): Promise<string> {
    const events = (await call(model, ask('Hi'))).events();
    const signed = events.flatMap((e) => e.candidates?.[0]?.content?.parts ?? []).find((p: any) => p.thoughtSignature);
    expect(signed).toBeDefined();
    return signed.thoughtSignature as string;
  }
  const history = (signature: string, extra: object = {}) => ({
    contents: [
      { role: 'user', parts: [{ text: 'Hi' }] },
      { role: 'model', parts: [{ text: 'Hello!' }, { text: '', thoughtSignature: signature, ...extra }] },
      { role: 'user', parts: [{ text: `Again [fake:reply tag=sig${tags++}]` }] },
    ],
  });

  it('accepts its own signature back exactly as sent, and counts it', async () => {
    const signature = await signatureFrom('gemini-3.8-flash');
    const body = history(signature);
    const answer = await call('gemini-3.8-flash', body);
    expect(answer.status).toBe(200);
    const tag = /tag=(\w+)/.exec(body.contents[2]!.parts[0]!.text)![1]!;
    expect(record(tag)).toMatchObject({ signaturesReturned: 1, signaturesForeign: 0 });
  });

  it('refuses a truncated or made-up signature with a 400', async () => {
    const signature = await signatureFrom('gemini-3.8-flash');
    expect((await call('gemini-3.8-flash', history(signature.slice(0, 20)))).json()).toEqual(invalid('Corrupted thought signature.'));
    expect((await call('gemini-3.8-flash', history('bm90IGEgc2lnbmF0dXJl'))).json()).toEqual(invalid('Corrupted thought signature.'));
  });

  it('accepts a signature of another model family, and counts it as unused', async () => {
    const signature = await signatureFrom('gemini-3.1-pro-preview');
    const body = history(signature);
    expect((await call('gemini-3.5-flash-lite', body)).status).toBe(200);
    const tag = /tag=(\w+)/.exec(body.contents[2]!.parts[0]!.text)![1]!;
    expect(record(tag)).toMatchObject({ signaturesReturned: 1, signaturesForeign: 1 });
  });

  it('refuses a function call of the current turn without its signature on 3.x, naming it and its position', async () => {
    const body = {
      contents: [
        { role: 'user', parts: [{ text: 'Weather?' }] },
        { role: 'model', parts: [{ text: 'Let me look.' }, { functionCall: { name: 'get_weather', args: {} } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { sky: 'clear' } } }] },
      ],
    };
    const answer = await call('gemini-3.8-flash', body);
    expect(answer.status).toBe(400);
    expect(answer.json().error.message).toMatch(/^Function call is missing a thought_signature in functionCall parts\..*`default_api:get_weather` , position 2\./);
    // An earlier turn's call is not checked, and 2.5 checks none.
    expect((await call('gemini-3.8-flash', { contents: [...body.contents, { role: 'model', parts: [{ text: 'Clear.' }] }, { role: 'user', parts: [{ text: 'Thanks' }] }] })).status).toBe(200);
  });
});

describe('site assistant scenarios', () => {
  it('cite=… writes a sentence ending in [n] per number, in order, spread over the answer', async () => {
    const { text, tag } = tagged('[fake:reply cite=2,1 chunks=4 chunkchars=30]');
    await call('gemini-3.8-flash', ask(text));
    const sent = record(tag).sentText;
    expect(sent.match(/\[\d+\]/g)).toEqual(['[2]', '[1]']);
    expect(sent).toContain('Page 2 says so [2].');
    expect(sent.indexOf('[2]')).toBeLessThan(sent.indexOf('[1]'));
  });

  it('fallback answers with the sentence the instructions give for questions the pages do not answer', async () => {
    const { text, tag } = tagged('[fake:fallback]');
    const body = { ...ask(text), systemInstruction: { parts: [{ text: 'Be kind.\nIf the pages do not answer the question, point to the help desk.\n' }] } };
    await call('gemini-3.8-flash', body);
    expect(record(tag).sentText).toBe('Point to the help desk.');
    const bare = tagged('[fake:fallback]');
    await call('gemini-3.8-flash', ask(bare.text));
    expect(record(bare.tag).sentText).toBe("I don't know.");
  });
});

describe('[fake:http] and other errors', () => {
  const QUOTA =
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/rate-limit. \n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 15, model: gemini-3.8-flash';
  const HELP = { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] };
  const quotaFailure = (model: string) => ({
    '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
    violations: [
      {
        quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
        quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
        quotaDimensions: { model, location: 'global' },
        quotaValue: '15',
      },
    ],
  });

  it('answers 429 with the 2026 message and Help, QuotaFailure and RetryInfo details', async () => {
    const answer = await call('gemini-flash-latest', ask('Hi [fake:http status=429]'));
    expect(answer.status).toBe(429);
    expect(answer.json()).toEqual({
      error: {
        code: 429,
        message: `${QUOTA}\nPlease retry in 7.967587226s.`,
        status: 'RESOURCE_EXHAUSTED',
        details: [HELP, quotaFailure('gemini-3.8-flash'), { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }],
      },
    });
  });

  it('sets the delay of both the message and RetryInfo with retry=', async () => {
    const error = (await call('gemini-3.8-flash', ask('Hi [fake:http status=429 retry=12.5s]'))).json().error;
    expect(error.message).toBe(`${QUOTA}\nPlease retry in 12.5s.`);
    expect(last(error.details as any[])).toEqual({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '12s' });
  });

  it('leaves only the Help detail with retryinfo=none, still saying when to retry', async () => {
    const error = (await call('gemini-3.8-flash', ask('Hi [fake:http status=429 retryinfo=none]'))).json().error;
    expect(error.details).toEqual([HELP]);
    expect(error.message).toBe(`${QUOTA}\nPlease retry in 7.967587226s.`);
  });

  it('gives no retry hint anywhere with retry=none', async () => {
    const error = (await call('gemini-3.8-flash', ask('Hi [fake:http status=429 retry=none]'))).json().error;
    expect(error.details).toEqual([HELP]);
    expect(error.message).toBe(QUOTA);
  });

  it('answers 503 UNAVAILABLE with the "high demand" message', async () => {
    const answer = await call('gemini-3.8-flash', ask('Hi [fake:http status=503]'));
    expect(answer.status).toBe(503);
    expect(answer.json()).toEqual({
      error: { code: 503, message: 'This model is currently experiencing high demand. Spikes in demand are usually temporary. Please try again later.', status: 'UNAVAILABLE' },
    });
  });

  it('answers the alias backend 404 with [fake:backend404]', async () => {
    const answer = await call('gemini-flash-latest', ask('Hi [fake:backend404]'));
    expect(answer.json()).toEqual(notFound('Model not found: models/gemini-v4p1s-rev24-ajax-sentinel'));
  });

  it('labels an error on ?alt=sse text/event-stream with a JSON body, and a non-stream error application/json', async () => {
    const streamed = await call('gemini-3.8-flash', ask('Hi [fake:http status=503]'));
    expect(streamed.type).toBe('text/event-stream; charset=UTF-8');
    expect(streamed.text.startsWith('{"error":')).toBe(true);
    expect((await call('gemini-3.8-flash', ask('Hi [fake:http status=503]'), { stream: false })).type).toBe('application/json; charset=UTF-8');
  });

  it('surfaces a 429 in the SDK as a GoogleGenerativeAIFetchError with status and details', async () => {
    const error = await sdkError('gemini-3.8-flash', 'Hi [fake:http status=429]');
    expect(error).toBeInstanceOf(GoogleGenerativeAIFetchError);
    expect(error.status).toBe(429);
    expect(error.errorDetails?.map((d) => d['@type'])).toEqual([
      'type.googleapis.com/google.rpc.Help',
      'type.googleapis.com/google.rpc.QuotaFailure',
      'type.googleapis.com/google.rpc.RetryInfo',
    ]);
  });

  it('surfaces the 2.5 "new users" 404 in the SDK with its message', async () => {
    const error = await sdkError('gemini-2.5-flash', 'Hi');
    expect(error).toBeInstanceOf(GoogleGenerativeAIFetchError);
    expect(error.status).toBe(404);
    expect(error.message).toContain('This model models/gemini-2.5-flash is no longer available to new users.');
  });
});

describe('streamed chunks', () => {
  it('keeps the default reply at 5 text chunks, plus the 3.x signature event', async () => {
    const { text, tag } = tagged();
    const events = (await call('gemini-3.8-flash', ask(text))).events();
    expect(events).toHaveLength(6);
    expect(record(tag)).toMatchObject({ chunksSent: 5, sentAt: expect.any(Array), status: 'completed' });
    expect(record(tag).sentAt).toHaveLength(5);
  });

  it('puts usage with running candidates, the answering model and one responseId on every chunk', async () => {
    const { text, tag } = tagged('[fake:reply chunks=4]');
    const chunks = await sdkStream('gemini-3.7-flash', text);
    expect(chunks.every((c) => c.modelVersion === 'gemini-3.8-flash')).toBe(true);
    expect(new Set(chunks.map((c) => c.responseId)).size).toBe(1);
    expect(chunks[0].responseId).toBe(record(tag).responseId);
    expect(chunks[0].responseId).toMatch(/^[A-Za-z0-9_-]{23}$/);
    const running = runningCandidates(chunks.slice(0, 4));
    expect(chunks.map((c) => c.usageMetadata.candidatesTokenCount)).toEqual([...running, running[3]]);
    expect(record(tag)).toMatchObject({ model: 'gemini-3.7-flash', modelVersion: 'gemini-3.8-flash' });
  });

  it('gives each answer its own responseId', async () => {
    const [a, b] = await Promise.all([sdkStream('gemini-3.8-flash', 'Hi'), sdkStream('gemini-3.8-flash', 'Hi')]);
    expect(a[0].responseId).not.toBe(b[0].responseId);
  });

  it('counts toolUsePromptTokenCount of a grounded answer on every chunk and in the total', async () => {
    const text = 'Hi [fake:grounding]';
    const chunks = await sdkStream('gemini-3.8-flash', text);
    expect(chunks.every((c) => c.usageMetadata.toolUsePromptTokenCount === 412)).toBe(true);
    expect(chunks.every((c) => c.usageMetadata.toolUsePromptTokensDetails?.[0]?.tokenCount === 412)).toBe(true);
    const usage = last(chunks).usageMetadata;
    expect(usage.totalTokenCount).toBe(promptTokens(text) + usage.candidatesTokenCount + 160 + 412);
    expect(chunks.some((c) => c.candidates[0].groundingMetadata?.groundingChunks?.length === 3)).toBe(true);
  });

  it.each(['TOO_MANY_TOOL_CALLS', 'UNEXPECTED_TOOL_CALL', 'SOMETHING_NEW'])('passes finish=%s through as the finish reason', async (finish) => {
    const chunks = await sdkStream('gemini-3.8-flash', `Hi [fake:reply finish=${finish}]`);
    expect(last(chunks).candidates[0].finishReason).toBe(finish);
  });

  it('keeps the older scenarios: a SAFETY stop ends on its own text chunk, without a signature event', async () => {
    const events = (await call('gemini-3.8-flash', ask('Hi [fake:safety]'))).events();
    expect(events).toHaveLength(2);
    expect(last(events).candidates[0].finishReason).toBe('SAFETY');
  });
});
