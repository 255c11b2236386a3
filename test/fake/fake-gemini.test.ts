import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { GoogleGenerativeAI, GoogleGenerativeAIFetchError, type GenerateContentResponse, type GenerationConfig } from '@google/generative-ai';
import { GoogleAIFileManager } from '@google/generative-ai/server';
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

describe('function calling', () => {
  const WEATHER = {
    name: 'get_weather',
    description: 'The weather in a city',
    parametersJsonSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  };
  const withTools = (text: string, extra: object = {}) => ({ ...ask(text), tools: [{ functionDeclarations: [WEATHER, { name: 'get_time' }] }], ...extra });
  const callsOf = (chunks: any[]) => chunks.flatMap((c) => c.candidates?.[0]?.content?.parts ?? []).filter((p: any) => p.functionCall);

  it('calls the first declared function when the turn starts with the user, signed on 3.x, and records tools and tool config', async () => {
    const { text, tag } = tagged('[fake:tools]');
    const toolConfig = { functionCallingConfig: { mode: 'AUTO' } };
    const answer = await call('gemini-3.8-flash', withTools(text, { toolConfig }));
    expect(answer.status).toBe(200);
    const events = answer.events();
    const calls = callsOf(events);
    // On 3.x each call carries an id of its own (ai.google.dev function-calling: "Gemini 3 now always returns a unique id").
    expect(calls).toEqual([{ functionCall: { id: expect.stringMatching(/^[\w-]{8}$/), name: 'get_weather', args: { city: 'city 1' } }, thoughtSignature: expect.any(String) }]);
    expect(events.at(-1).candidates[0].finishReason).toBe('STOP');
    expect(record(tag)).toMatchObject({ tools: [{ functionDeclarations: [WEATHER, { name: 'get_time' }] }], toolConfig, functionCalls: [{ name: 'get_weather', thoughtSignature: calls[0].thoughtSignature }] });
  });

  it('makes parallel calls with the signature on the first only, with the chosen name and arguments', async () => {
    const { text } = tagged('[fake:tools call=get_time,get_weather parallel=3 args={"city":"Oslo"}]');
    const calls = callsOf((await call('gemini-3.8-flash', withTools(text))).events());
    expect(calls.map((c: any) => c.functionCall.name)).toEqual(['get_time', 'get_weather', 'get_time']);
    expect(calls.map((c: any) => c.functionCall.args)).toEqual([{ city: 'Oslo' }, { city: 'Oslo' }, { city: 'Oslo' }]);
    expect(calls.map((c: any) => typeof c.thoughtSignature)).toEqual(['string', 'undefined', 'undefined']);
  });

  it('ends a 3.x call stream with the closing empty text event and the finish (gemini3 function-call recording)', async () => {
    const events = (await call('gemini-3.8-flash', withTools(tagged('[fake:tools]').text))).events();
    expect(events).toHaveLength(2);
    expect(events[0].candidates[0].finishReason).toBeUndefined();
    expect(events[1].candidates[0]).toEqual({ content: { parts: [{ text: '' }], role: 'model' }, finishReason: 'STOP', index: 0 });
  });

  it('signs a 2.5 call only when the model thought, and ends it on the call chunk', async () => {
    const thinking = (await call('gemini-2.5-flash-lite', withTools(tagged('[fake:tools]').text, { generationConfig: { thinkingConfig: { thinkingBudget: 1024 } } }), { key: EXISTING })).events();
    expect(thinking).toHaveLength(1);
    expect(callsOf(thinking)[0].thoughtSignature).toEqual(expect.any(String));
    const plain = (await call('gemini-2.5-flash-lite', withTools(tagged('[fake:tools]').text), { key: EXISTING })).events();
    expect(callsOf(plain)[0]).not.toHaveProperty('thoughtSignature');
    expect(plain[0].candidates[0].finishReason).toBe('STOP');
  });

  it('streams a call per chunk with each=1, and answers :generateContent with all the calls in one response', async () => {
    const { text } = tagged('[fake:tools parallel=2 each=1]');
    const events = (await call('gemini-3.8-flash', withTools(text))).events();
    expect(events).toHaveLength(3);
    expect(events.map((e: any) => e.candidates[0].finishReason)).toEqual([undefined, undefined, 'STOP']);
    const whole = (await call('gemini-3.8-flash', withTools(tagged('[fake:tools parallel=2]').text), { stream: false })).json();
    expect(callsOf([whole])).toHaveLength(2);
  });

  it('the real SDK reads the calls (functionCalls())', async () => {
    const client = new GoogleGenerativeAI(KEY).getGenerativeModel({ model: 'gemini-3.8-flash', tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'weather' }] }] }, { baseUrl: fake.url });
    const result = await client.generateContent(tagged('[fake:tools parallel=2]').text);
    expect(result.response.functionCalls()?.map((c) => c.name)).toEqual(['get_weather', 'get_weather']);
  });

  it('answers in text from the function responses, mentioning them, after a signed call turn', async () => {
    const first = tagged('[fake:tools parallel=2]');
    const calls = callsOf((await call('gemini-3.8-flash', withTools(first.text))).events());
    const body = withTools(first.text);
    body.contents.push(
      { role: 'model', parts: calls },
      { role: 'user', parts: calls.map((c: any, i: number) => ({ functionResponse: { name: c.functionCall.name, response: { output: `sunny ${i}` } } })) } as any,
    );
    const answer = await call('gemini-3.8-flash', body);
    expect(answer.status).toBe(200);
    const records = fake.records.filter((r) => r.tag === first.tag);
    const last = records.at(-1)!;
    expect(last.functionCalls).toEqual([]);
    expect(last.sentText).toMatch(/^\[fake\] get_weather returned \{"output":"sunny 0"\}\n\[fake\] get_weather returned \{"output":"sunny 1"\}\n/);
    expect(last.signaturesReturned).toBe(1);
  });

  it('calls again in later steps of the turn with rounds=N, each step signed', async () => {
    const first = tagged('[fake:tools rounds=2]');
    const body = withTools(first.text);
    for (let step = 0; step < 2; step++) {
      const calls = callsOf((await call('gemini-3.8-flash', body)).events());
      expect(calls).toHaveLength(1);
      body.contents.push({ role: 'model', parts: calls }, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: step } } }] } as any);
    }
    expect((await call('gemini-3.8-flash', body)).status).toBe(200);
    const last = fake.records.filter((r) => r.tag === first.tag).at(-1)!;
    expect(last).toMatchObject({ functionCalls: [], signaturesReturned: 2 });
  });

  it('refuses a step of the turn whose call lost its signature, even when an earlier step kept its own', async () => {
    const first = tagged('[fake:tools rounds=2]');
    const body = withTools(first.text);
    const calls = callsOf((await call('gemini-3.8-flash', body)).events());
    body.contents.push({ role: 'model', parts: calls }, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: {} } }] } as any);
    const second = callsOf((await call('gemini-3.8-flash', body)).events());
    body.contents.push({ role: 'model', parts: [{ functionCall: second[0].functionCall }] } as any, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: {} } }] } as any);
    const answer = await call('gemini-3.8-flash', body);
    expect(answer.status).toBe(400);
    expect(answer.json().error.message).toMatch(/`default_api:get_weather` , position 1\./);
  });

  it('refuses function responses that do not match the calls in number (the real 400)', async () => {
    const first = tagged('[fake:tools parallel=2]');
    const body = withTools(first.text);
    const calls = callsOf((await call('gemini-3.8-flash', body)).events());
    body.contents.push({ role: 'model', parts: calls }, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: {} } }] } as any);
    expect((await call('gemini-3.8-flash', body)).json()).toEqual(
      invalid('Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.'),
    );
  });

  it('does not call with mode NONE, always calls with ANY (from allowedFunctionNames)', async () => {
    const none = tagged('[fake:tools]');
    await call('gemini-3.8-flash', withTools(none.text, { toolConfig: { functionCallingConfig: { mode: 'NONE' } } }));
    expect(record(none.tag)).toMatchObject({ functionCalls: [] });
    expect(record(none.tag).sentText).not.toBe('');
    const any = tagged('[fake:reply]');
    await call('gemini-3.8-flash', withTools(any.text, { toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_time'] } } }));
    expect(record(any.tag).functionCalls).toEqual([{ id: expect.any(String), name: 'get_time', args: {}, thoughtSignature: expect.any(String) }]);
  });

  it('refuses declarations Gemini refuses: a bad name, both parameter forms', async () => {
    const bad = await call('gemini-3.8-flash', { ...ask('Hi'), tools: [{ functionDeclarations: [{ name: 'get weather' }] }] });
    expect(bad.status).toBe(400);
    expect(bad.json().error.details[0].fieldViolations[0].field).toBe('tools[0].function_declarations[0].name');
    const both = await call('gemini-3.8-flash', { ...ask('Hi'), tools: [{ functionDeclarations: [{ ...WEATHER, parameters: { type: 'OBJECT' } }] }] });
    expect(both.status).toBe(400);
    expect(both.json().error.message).toMatch(/mutually exclusive/);
  });

  it.each(['MALFORMED_FUNCTION_CALL', 'UNEXPECTED_TOOL_CALL', 'TOO_MANY_TOOL_CALLS'])('ends with finish=%s on a candidate with no content', async (finish) => {
    const events = (await call('gemini-3.8-flash', withTools(tagged(`[fake:tools finish=${finish}]`).text))).events();
    expect(events).toHaveLength(1);
    expect(events[0].candidates[0]).toEqual({ finishReason: finish, index: 0 });
  });

  it('answers in text without tools, whatever the directive', async () => {
    const { text, tag } = tagged('[fake:tools]');
    await call('gemini-3.8-flash', ask(text));
    expect(record(tag).functionCalls).toEqual([]);
    expect(record(tag).sentText).toMatch(/^Hello from the fake Gemini/);
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

// ---------------------------------------------------------------------------------------------
// Files: inlineData and fileData parts, the Files API (docs/fake-gemini.md, "Files").
// ---------------------------------------------------------------------------------------------

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** The File resource's sha256Hash: base64 of the hex digest, as the real API writes it (cookbook recording). */
const sha256Hash = (bytes: Buffer) => Buffer.from(sha256(bytes)).toString('base64');
/** Deterministic bytes that are not text (the fake does not decode images). */
const blob = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 17) % 256));
const inline = (mimeType: string, bytes: Buffer) => ({ inlineData: { mimeType, data: bytes.toString('base64') } });
/** A PDF whose page tree holds `pages` page objects (and one /Pages node, which is not a page). */
const pdf = (pages: number) =>
  Buffer.from(
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Count ${pages} >> endobj\n` +
      Array.from({ length: pages }, (_, i) => `${i + 3} 0 obj << /Type /Page /Parent 2 0 R >> endobj\n`).join('') +
      '%%EOF\n',
    'latin1',
  );
/** A 16 kHz mono 16-bit WAV of `seconds` of silence (byte rate 32000). */
const wav = (seconds: number) => {
  const data = 32000 * seconds;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16000, 24);
  header.writeUInt32LE(32000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data, 40);
  return Buffer.concat([header, Buffer.alloc(data)]);
};
const streamText = (events: any[]) => answerText(events);
const line = (mimeType: string, bytes: Buffer, name?: string) =>
  `[fake] received ${mimeType}, ${bytes.length} bytes, sha256 ${sha256(bytes).slice(0, 16)}${name ? ` from ${name}` : ''}\n`;
const noFile = (id: string) => ({ error: { code: 403, message: `You do not have permission to access the File ${id} or it may not exist.`, status: 'PERMISSION_DENIED' } });

/** The docs' resumable upload, by hand: start, then the bytes with "upload, finalize". */
async function upload(bytes: Buffer, mimeType: string, { key = KEY, url = fake.url, displayName = 'DOCUMENT' } = {}) {
  const start = await fetch(`${url}/upload/v1beta/files`, {
    method: 'POST',
    headers: {
      'x-goog-api-key': key,
      'X-Goog-Upload-Protocol': 'resumable',
      'X-Goog-Upload-Command': 'start',
      'X-Goog-Upload-Header-Content-Length': String(bytes.length),
      'X-Goog-Upload-Header-Content-Type': mimeType,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ file: { display_name: displayName } }),
  });
  const uploadUrl = start.headers.get('x-goog-upload-url');
  if (!uploadUrl) return { start, finalize: undefined, file: undefined as any };
  const finalize = await fetch(uploadUrl, {
    method: 'POST',
    headers: { 'Content-Length': String(bytes.length), 'X-Goog-Upload-Offset': '0', 'X-Goog-Upload-Command': 'upload, finalize' },
    body: new Uint8Array(bytes),
  });
  const json = (await finalize.json()) as any;
  return { start, finalize, file: json.file };
}
const getFile = async (name: string, key = KEY, url = fake.url) => {
  const response = await fetch(`${url}/v1beta/${name}`, { headers: { 'x-goog-api-key': key } });
  return { status: response.status, body: (await response.json()) as any };
};
const fakeFiles = async (url = fake.url) => (await (await fetch(`${url}/__fake/files`)).json()) as any[];

describe('files sent inline', () => {
  it('records each inline file with its decoded size and hash, and names it at the start of the answer', async () => {
    const { text, tag } = tagged();
    const image = blob(1234);
    const events = (await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [inline('image/png', image), { text }] }] })).events();
    const files = record(tag).files;
    expect(files).toEqual([{ turn: 0, role: 'user', kind: 'inline', mimeType: 'image/png', bytes: 1234, sha256: sha256(image), tokens: 1120, modality: 'IMAGE' }]);
    // Without the file the same message gets the same text, minus the received line.
    const plain = tagged();
    const without = (await call('gemini-3.8-flash', ask(plain.text))).events();
    expect(streamText(events)).toBe(line('image/png', image) + streamText(without));
  });

  it('keeps the answer text of a request without files unchanged', async () => {
    const events = (await call('gemini-3.8-flash', ask('Hello'))).events();
    expect(streamText(events).startsWith('Hello from the fake Gemini (no API key is set). Your message was 5 characters long.')).toBe(true);
  });

  it('lists the files of every turn in order, and names in the answer only the last user turn\'s', async () => {
    const { text, tag } = tagged();
    const first = blob(100, 2);
    const doc = pdf(2);
    const second = blob(200, 3);
    const body = {
      contents: [
        { role: 'user', parts: [{ text: 'Look' }, inline('image/jpeg', first), inline('application/pdf', doc)] },
        { role: 'model', parts: [{ text: 'I see.' }] },
        { role: 'user', parts: [inline('image/webp', second), { text }] },
      ],
    };
    const events = (await call('gemini-3.8-flash', body)).events();
    expect(record(tag).files.map((f) => [f.turn, f.role, f.kind, f.mimeType, f.bytes, f.sha256])).toEqual([
      [0, 'user', 'inline', 'image/jpeg', 100, sha256(first)],
      [0, 'user', 'inline', 'application/pdf', doc.length, sha256(doc)],
      [2, 'user', 'inline', 'image/webp', 200, sha256(second)],
    ]);
    const answer = streamText(events);
    expect(answer.startsWith(line('image/webp', second) + 'Hello from the fake Gemini')).toBe(true);
    expect(answer).not.toContain('image/jpeg');
  });

  it('starts a :generateContent answer with the received lines too', async () => {
    const image = blob(10);
    const response = await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [inline('image/heic', image), { text: 'Hi' }] }] }, { stream: false });
    expect(response.json().candidates[0].content.parts.at(-1).text.startsWith(line('image/heic', image))).toBe(true);
  });

  it.each([
    ['image/gif'],
    ['image/jpg'],
    ['application/octet-stream'],
    ['text/plain; charset=utf-8'],
  ])('refuses %s with 400 "Unsupported MIME type"', async (mimeType) => {
    const response = await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [inline(mimeType, blob(10)), { text: 'Hi' }] }] });
    expect(response.status).toBe(400);
    expect(response.json()).toEqual(invalid(`Unsupported MIME type: ${mimeType}`));
  });

  it.each(['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif', 'application/pdf', 'text/plain', 'text/markdown', 'text/md', 'audio/wav', 'audio/mp3', 'audio/mpeg'])(
    'accepts %s, a type the Worker sends',
    async (mimeType) => {
      const response = await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [inline(mimeType, blob(64)), { text: 'Hi' }] }] });
      expect(response.status).toBe(200);
    },
  );

  it('refuses data that is not base64 with the TYPE_BYTES 400 and a BadRequest field violation', async () => {
    const response = await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [{ text: 'Hi' }, { inlineData: { mimeType: 'image/png', data: 'data:image/png;base64,AAAA' } }] }] });
    expect(response.status).toBe(400);
    const description = `Invalid value at 'contents[0].parts[1].inline_data.data' (TYPE_BYTES), Base64 decoding failed for "data:image/png;base64,AAAA"`;
    expect(response.json()).toEqual({
      error: {
        code: 400,
        message: description,
        status: 'INVALID_ARGUMENT',
        details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'contents[0].parts[1].inline_data.data', description }] }],
      },
    });
  });

  it('accepts URL-safe and unpadded base64 (the proto JSON rule)', async () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xfe, 0x01]);
    const { text, tag } = tagged();
    const data = bytes.toString('base64url');
    expect(data).toMatch(/[-_]/);
    const response = await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data } }, { text }] }] });
    expect(response.status).toBe(200);
    expect(record(tag).files[0].sha256).toBe(sha256(bytes));
  });

  it('runs through the real SDK: inline parts in generateContentStream', async () => {
    const { text, tag } = tagged();
    const image = blob(321, 9);
    const model = new GoogleGenerativeAI(KEY).getGenerativeModel({ model: 'gemini-3.8-flash' }, { baseUrl: fake.url });
    const result = await model.generateContentStream([{ inlineData: { mimeType: 'image/png', data: image.toString('base64') } }, text]);
    let answer = '';
    for await (const chunk of result.stream) answer += chunk.text();
    await result.response;
    expect(answer.startsWith(line('image/png', image))).toBe(true);
    expect(record(tag).files[0]).toMatchObject({ kind: 'inline', bytes: 321, sha256: sha256(image) });
  });
});

describe('the inline limit', () => {
  let small: Awaited<ReturnType<typeof startFakeGemini>>;
  beforeAll(async () => {
    small = await startFakeGemini({ inlineLimitBytes: 4096, pdfInlineLimitBytes: 1000 });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('refuses a request payload over the limit with the 400 "Request payload size exceeds the limit"', async () => {
    const body = { contents: [{ role: 'user', parts: [inline('image/png', blob(3500)), { text: 'Hi' }] }] };
    expect(JSON.stringify(body).length).toBeGreaterThan(4096);
    const response = await call('gemini-3.8-flash', body, { url: small.url });
    expect(response.status).toBe(400);
    expect(response.json()).toEqual(invalid('Request payload size exceeds the limit: 4096 bytes.'));
    expect(small.records.at(-1)?.httpStatus).toBe(400);
  });

  it('counts the whole payload: text alone can exceed it', async () => {
    const response = await call('gemini-3.8-flash', ask('x'.repeat(5000)), { url: small.url });
    expect(response.json()).toEqual(invalid('Request payload size exceeds the limit: 4096 bytes.'));
  });

  it('accepts a payload at the limit', async () => {
    const response = await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [inline('image/png', blob(2000)), { text: 'Hi' }] }] }, { url: small.url });
    expect(response.status).toBe(200);
  });

  it('refuses an inline PDF over the PDF limit, though the payload fits', async () => {
    const response = await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [inline('application/pdf', Buffer.concat([pdf(1), blob(1100)])), { text: 'Hi' }] }] }, { url: small.url });
    expect(response.status).toBe(400);
    expect(response.json().error.status).toBe('INVALID_ARGUMENT');
    expect(response.json().error.message).toContain('over the limit of 1000 bytes');
  });

  it('defaults to 100 MiB and lets a test lower it at run time', async () => {
    const options = async (method: string, body?: unknown) =>
      (await (await fetch(`${fake.url}/__fake/files/options`, { method, ...(body ? { body: JSON.stringify(body) } : {}) })).json()) as any;
    expect(await options('GET')).toEqual({ inlineLimitBytes: 104857600, pdfInlineLimitBytes: 52428800, fileTtlMs: 172800000, processingPolls: 0 });
    await options('POST', { inlineLimitBytes: 1000 });
    try {
      const response = await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [inline('image/png', blob(1000)), { text: 'Hi' }] }] });
      expect(response.json()).toEqual(invalid('Request payload size exceeds the limit: 1000 bytes.'));
    } finally {
      expect((await options('DELETE')).inlineLimitBytes).toBe(104857600);
    }
  });
});

describe('the Files API', () => {
  it('takes a resumable upload: start answers the upload URL, "upload, finalize" answers the File with X-Goog-Upload-Status: final', async () => {
    const bytes = pdf(3);
    const before = Date.now();
    const { start, finalize, file } = await upload(bytes, 'application/pdf', { displayName: 'report' });
    expect(start.status).toBe(200);
    expect(start.headers.get('x-goog-upload-status')).toBe('active');
    expect(start.headers.get('x-goog-upload-url')).toMatch(new RegExp(`^${fake.url}/upload/v1beta/files\\?upload_id=`));
    expect(finalize?.status).toBe(200);
    expect(finalize?.headers.get('x-goog-upload-status')).toBe('final');
    expect(file).toEqual({
      name: expect.stringMatching(/^files\/[a-z0-9]{12}$/),
      displayName: 'report',
      mimeType: 'application/pdf',
      sizeBytes: String(bytes.length),
      createTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      updateTime: expect.any(String),
      expirationTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/),
      sha256Hash: sha256Hash(bytes),
      uri: `${fake.url}/v1beta/${file.name}`,
      state: 'ACTIVE',
      source: 'UPLOADED',
    });
    const ttl = Date.parse(file.expirationTime) - Date.parse(file.createTime);
    expect(ttl).toBe(48 * 3600 * 1000);
    expect(Date.parse(file.createTime)).toBeGreaterThanOrEqual(before - 1);
    // GET answers the same resource; DELETE answers {} and the file is gone.
    expect(await getFile(file.name)).toEqual({ status: 200, body: file });
    const listed = (await (await fetch(`${fake.url}/v1beta/files?key=${KEY}`)).json()) as any;
    expect(listed.files.map((f: any) => f.name)).toContain(file.name);
    const deleted = await fetch(`${fake.url}/v1beta/${file.name}`, { method: 'DELETE', headers: { 'x-goog-api-key': KEY } });
    expect([deleted.status, await deleted.json()]).toEqual([200, {}]);
    expect(await getFile(file.name)).toEqual({ status: 403, body: noFile(file.name.slice('files/'.length)) });
  });

  it('takes the bytes in several chunks at the right offsets, and refuses a wrong offset', async () => {
    const bytes = blob(300, 4);
    const start = await fetch(`${fake.url}/upload/v1beta/files`, {
      method: 'POST',
      headers: { 'x-goog-api-key': KEY, 'X-Goog-Upload-Protocol': 'resumable', 'X-Goog-Upload-Command': 'start', 'X-Goog-Upload-Header-Content-Length': '300', 'X-Goog-Upload-Header-Content-Type': 'image/png' },
    });
    const uploadUrl = start.headers.get('x-goog-upload-url')!;
    const chunk = (offset: number, command: string, bytesOf: Buffer) =>
      fetch(uploadUrl, { method: 'POST', headers: { 'X-Goog-Upload-Offset': String(offset), 'X-Goog-Upload-Command': command }, body: new Uint8Array(bytesOf) });
    const first = await chunk(0, 'upload', bytes.subarray(0, 100));
    expect([first.status, first.headers.get('x-goog-upload-status')]).toEqual([200, 'active']);
    expect((await chunk(50, 'upload', bytes.subarray(100, 200))).status).toBe(400);
    const last = await chunk(100, 'upload, finalize', bytes.subarray(100));
    expect(last.headers.get('x-goog-upload-status')).toBe('final');
    expect(((await last.json()) as any).file.sha256Hash).toBe(sha256Hash(bytes));
  });

  it('checks the key on uploads like the model methods do', async () => {
    expect((await upload(blob(10), 'image/png', { key: 'AIzaSyStandard' })).start.status).toBe(401);
    expect((await upload(blob(10), 'image/png', { key: 'invalid-key' })).start.status).toBe(400);
    const none = await fetch(`${fake.url}/upload/v1beta/files`, { method: 'POST', headers: { 'X-Goog-Upload-Protocol': 'resumable', 'X-Goog-Upload-Command': 'start' } });
    expect(none.status).toBe(403);
    expect((await getFile('files/abc', 'AIzaSyStandard')).status).toBe(401);
  });

  it('records the bytes of a fileData part by the uploaded file, with its uri, and names it in the answer', async () => {
    const bytes = pdf(4);
    const { file } = await upload(bytes, 'application/pdf');
    const { text, tag } = tagged();
    const events = (await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [{ fileData: { mimeType: 'application/pdf', fileUri: file.uri } }, { text }] }] })).events();
    expect(record(tag).files).toEqual([
      { turn: 0, role: 'user', kind: 'uri', mimeType: 'application/pdf', bytes: bytes.length, sha256: sha256(bytes), uri: file.uri, name: file.name, fileMimeType: 'application/pdf', tokens: 4 * 560, modality: 'DOCUMENT' },
    ]);
    expect(streamText(events).startsWith(line('application/pdf', bytes, file.name) + 'Hello from the fake Gemini')).toBe(true);
  });

  it('reads a fileData part without a mimeType as the file\'s type, and refuses a file of a type Gemini does not read', async () => {
    const bytes = blob(50, 6);
    const png = (await upload(bytes, 'image/png')).file;
    const { text, tag } = tagged();
    expect((await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [{ fileData: { fileUri: png.uri } }, { text }] }] })).status).toBe(200);
    expect(record(tag).files[0].mimeType).toBe('image/png');
    const odd = (await upload(bytes, 'application/octet-stream')).file;
    expect(odd.state).toBe('ACTIVE');
    const response = await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [{ fileData: { fileUri: odd.uri } }, { text: 'Hi' }] }] });
    expect([response.status, response.json()]).toEqual([400, invalid('Unsupported MIME type: application/octet-stream')]);
  });

  it('answers 403 PERMISSION_DENIED for a file URI that does not exist', async () => {
    const response = await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [{ fileData: { mimeType: 'image/png', fileUri: `${fake.url}/v1beta/files/nosuchfile00` } }, { text: 'Hi' }] }] });
    expect(response.status).toBe(403);
    expect(response.json()).toEqual(noFile('nosuchfile00'));
  });

  it('answers 403 for a file of another key\'s project, on generateContent and on GET', async () => {
    const { file } = await upload(blob(40, 7), 'image/png');
    const id = file.name.slice('files/'.length);
    const response = await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [{ fileData: { mimeType: 'image/png', fileUri: file.uri } }, { text: 'Hi' }] }] }, { key: 'other-project-key' });
    expect([response.status, response.json()]).toEqual([403, noFile(id)]);
    expect(await getFile(file.name, 'other-project-key')).toEqual({ status: 403, body: noFile(id) });
    expect((await getFile(file.name)).status).toBe(200);
  });

  it('answers 403 for an expired file (/__fake/files/expire), lists it as expired, and counts a re-upload of the same bytes', async () => {
    const bytes = blob(77, 8);
    const { file } = await upload(bytes, 'image/png');
    const id = file.name.slice('files/'.length);
    const part = { contents: [{ role: 'user', parts: [{ fileData: { mimeType: 'image/png', fileUri: file.uri } }, { text: 'Hi' }] }] };
    expect((await call('gemini-3.8-flash', part)).status).toBe(200);
    const expire = await fetch(`${fake.url}/__fake/files/expire`, { method: 'POST', body: JSON.stringify({ name: file.name }) });
    expect(await expire.json()).toEqual({ expired: [file.name] });
    const response = await call('gemini-3.8-flash', part);
    expect([response.status, response.json()]).toEqual([403, noFile(id)]);
    expect((await getFile(file.name)).status).toBe(403);
    const again = (await upload(bytes, 'image/png')).file;
    const listed = await fakeFiles();
    expect(listed.find((f) => f.name === file.name)).toMatchObject({ uri: file.uri, mimeType: 'image/png', size: 77, sha256: sha256(bytes), uploads: 1, expired: true });
    expect(listed.find((f) => f.name === again.name)).toMatchObject({ size: 77, sha256: sha256(bytes), uploads: 2, expired: false });
  });

  it('expires every file at once, and after fileTtlMs', async () => {
    const short = await startFakeGemini({ fileTtlMs: 200 });
    try {
      const a = (await upload(blob(5), 'image/png', { url: short.url })).file;
      expect(Date.parse(a.expirationTime) - Date.parse(a.createTime)).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect((await getFile(a.name, KEY, short.url)).status).toBe(403);
      const b = (await upload(blob(6), 'image/png', { url: short.url })).file;
      const c = (await upload(blob(7), 'image/png', { url: short.url })).file;
      const all = (await (await fetch(`${short.url}/__fake/files/expire`, { method: 'POST' })).json()) as any;
      expect(all.expired).toEqual(expect.arrayContaining([a.name, b.name, c.name]));
      expect((await fakeFiles(short.url)).every((f) => f.expired)).toBe(true);
    } finally {
      await short.close();
    }
  });

  it('answers 400 FAILED_PRECONDITION for a file still PROCESSING, which turns ACTIVE on the N-th poll', async () => {
    const slow = await startFakeGemini({ processingPolls: 2 });
    try {
      const { file } = await upload(blob(30), 'image/png', { url: slow.url });
      expect(file.state).toBe('PROCESSING');
      const id = file.name.slice('files/'.length);
      const part = { contents: [{ role: 'user', parts: [{ fileData: { mimeType: 'image/png', fileUri: file.uri } }, { text: 'Hi' }] }] };
      const response = await call('gemini-3.8-flash', part, { url: slow.url });
      expect(response.status).toBe(400);
      expect(response.json()).toEqual({ error: { code: 400, message: `The File ${id} is not in an ACTIVE state and usage is not allowed.`, status: 'FAILED_PRECONDITION' } });
      expect((await getFile(file.name, KEY, slow.url)).body.state).toBe('PROCESSING');
      expect((await getFile(file.name, KEY, slow.url)).body.state).toBe('ACTIVE');
      expect((await call('gemini-3.8-flash', part, { url: slow.url })).status).toBe(200);
    } finally {
      await slow.close();
    }
  });

  it('works with the real SDK\'s GoogleAIFileManager (multipart upload, get, list, delete) and a fileData part', async () => {
    const bytes = wav(2);
    const manager = new GoogleAIFileManager(KEY, { baseUrl: fake.url });
    const uploaded = await manager.uploadFile(bytes, { mimeType: 'audio/wav', displayName: 'clip' });
    expect(uploaded.file).toMatchObject({ mimeType: 'audio/wav', displayName: 'clip', sizeBytes: String(bytes.length), state: 'ACTIVE' });
    expect((await manager.getFile(uploaded.file.name)).sha256Hash).toBe(sha256Hash(bytes));
    expect((await manager.listFiles()).files.map((f) => f.name)).toContain(uploaded.file.name);
    const { text, tag } = tagged();
    const model = new GoogleGenerativeAI(KEY).getGenerativeModel({ model: 'gemini-3.8-flash' }, { baseUrl: fake.url });
    const result = await model.generateContent([{ fileData: { mimeType: 'audio/wav', fileUri: uploaded.file.uri } }, text]);
    expect(result.response.text().startsWith(line('audio/wav', bytes, uploaded.file.name))).toBe(true);
    expect(record(tag).files[0]).toMatchObject({ kind: 'uri', sha256: sha256(bytes), tokens: 64, modality: 'AUDIO' });
    await manager.deleteFile(uploaded.file.name);
    await expect(manager.getFile(uploaded.file.name)).rejects.toThrow(/403/);
  });
});

describe('file tokens in usage', () => {
  it('counts each file by modality in promptTokenCount and promptTokensDetails (Gemini 3 defaults)', async () => {
    const text = 'Compare these.';
    const textFile = Buffer.from('a'.repeat(400));
    const body = {
      contents: [
        {
          role: 'user',
          parts: [inline('image/png', blob(100)), inline('image/jpeg', blob(200)), inline('application/pdf', pdf(3)), inline('audio/wav', wav(2)), inline('text/plain', textFile), { text }],
        },
      ],
    };
    const events = (await call('gemini-3.8-flash', body)).events();
    const usage = last(events).usageMetadata;
    const textTokens = Math.ceil(text.length / 4) + 100;
    // Each modality where it first appears in the request.
    expect(usage.promptTokensDetails).toEqual([
      { modality: 'IMAGE', tokenCount: 2 * 1120 },
      { modality: 'DOCUMENT', tokenCount: 3 * 560 },
      { modality: 'AUDIO', tokenCount: 64 },
      { modality: 'TEXT', tokenCount: textTokens },
    ]);
    expect(usage.promptTokenCount).toBe(64 + 1680 + 2240 + textTokens);
    expect(usage.totalTokenCount).toBe(usage.promptTokenCount + usage.candidatesTokenCount + (usage.thoughtsTokenCount ?? 0));
    expect(events.every((e) => e.usageMetadata.promptTokenCount === usage.promptTokenCount)).toBe(true);
  });

  it('counts an MP3 by its bit rate and a 2.5 model\'s images and pages at 258', async () => {
    // One MPEG-1 Layer III frame header at 128 kbit/s, then padding: 16000 bytes = 1 s.
    const mp3 = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x00]), Buffer.alloc(16000 - 4)]);
    const events = (await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [inline('audio/mpeg', mp3), { text: 'Hi' }] }] })).events();
    expect(last(events).usageMetadata.promptTokensDetails[0]).toEqual({ modality: 'AUDIO', tokenCount: 32 });
    const old = (await call('gemini-2.5-flash-lite', { contents: [{ role: 'user', parts: [inline('image/png', blob(9)), inline('application/pdf', pdf(2)), { text: 'Hi' }] }] }, { key: EXISTING })).events();
    expect(last(old).usageMetadata.promptTokensDetails).toEqual([
      { modality: 'IMAGE', tokenCount: 258 },
      { modality: 'DOCUMENT', tokenCount: 516 },
      { modality: 'TEXT', tokenCount: 1 },
    ]);
  });

  it('lists TEXT first when the text comes first, as in the cookbook\'s audio recording, and no TEXT without text', async () => {
    const text = 'Summarize this clips';
    const first = (await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [{ text }, inline('audio/wav', wav(3))] }] })).events();
    expect(last(first).usageMetadata.promptTokensDetails).toEqual([
      { modality: 'TEXT', tokenCount: Math.ceil(text.length / 4) },
      { modality: 'AUDIO', tokenCount: 96 },
    ]);
    const only = (await call('gemini-3.8-flash', { contents: [{ role: 'user', parts: [inline('image/png', blob(5))] }] })).events();
    expect(last(only).usageMetadata.promptTokensDetails).toEqual([{ modality: 'IMAGE', tokenCount: 1120 }]);
    expect(last(only).usageMetadata.promptTokenCount).toBe(1120);
  });

  it('counts the files of earlier turns too', async () => {
    const body = {
      contents: [
        { role: 'user', parts: [inline('image/png', blob(10)), { text: 'One' }] },
        { role: 'model', parts: [{ text: 'Seen.' }] },
        { role: 'user', parts: [{ text: 'Two' }] },
      ],
    };
    const events = (await call('gemini-3.8-flash', body)).events();
    expect(last(events).usageMetadata.promptTokensDetails.find((d: any) => d.modality === 'IMAGE')).toEqual({ modality: 'IMAGE', tokenCount: 1120 });
    expect(streamText(events).startsWith('Hello from the fake Gemini')).toBe(true);
  });
});
