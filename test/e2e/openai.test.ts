import OpenAI, { APIError, AuthenticationError, BadRequestError, InternalServerError, NotFoundError, RateLimitError } from 'openai';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from './dev-server';
import { fakeRecords, uniqueTag, waitForRecord } from './fake-records';

/**
 * The official `openai` client (7.x) against the Worker under real
 * `wrangler dev`, with the fake Gemini behind it: what a tool pointed at
 * `https://<worker>/v1` sees.
 */

const KEY = 'sk-e2e-openai-compat-main-0001';
/** A key of its own for the rate-limit test: the limits count by key. */
const LIMITED_KEY = 'sk-e2e-openai-compat-limited-02';
const RATE_LIMIT = 20;
/** A key of its own for the tool loops: they make several requests each. */
const TOOLS_KEY = 'sk-e2e-openai-compat-tools-0003';
/** The files' requests count against a key of their own: a refused link's request is admitted (its fetch comes after admission). */
const FILES_KEY = 'sk-e2e-openai-compat-files-0004';

let dev: DevServer;
let client: OpenAI;
/** A local https server (a self-signed certificate the Worker trusts through NODE_EXTRA_CA_CERTS) serving images and redirects. */
let images: Server;
let imagesUrl: string;
/** 3000 bytes that are a PNG by their magic numbers (the signature and an IHDR chunk's start), then filler. */
const IMAGE = (() => {
  const bytes = new Uint8Array(3000).map((_, i) => (i * 7919) % 251);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 16, 0, 0, 0, 16, 8, 6, 0, 0, 0]);
  return bytes;
})();
/** The file parts the fake received (fake-records.ts does not type them; test/fake-gemini.ts FakeFile does). */
const filesOf = (record: unknown) => (record as { files: Array<{ kind: string; mimeType: string; bytes: number; sha256: string }> }).files;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gemini-edge-https-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  images = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
    if (req.url === '/moved.png') res.writeHead(302, { location: '/cat.png' }).end();
    else if (req.url === '/to-http.png') res.writeHead(301, { location: `http://127.0.0.1:${(images.address() as { port: number }).port}/cat.png` }).end();
    else if (req.url === '/cat.png') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(IMAGE);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imagesUrl = `https://127.0.0.1:${(images.address() as { port: number }).port}`;
  dev = await startDevServer(['--var', `OPENAI_COMPAT_KEYS:${KEY},${LIMITED_KEY},${TOOLS_KEY},${FILES_KEY}`, '--var', `RATE_LIMIT_PER_MINUTE:${RATE_LIMIT}`, '--var', 'DAILY_TOKEN_BUDGET:0'], { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }, { limits: true });
  // No retries: each test sees the first answer, as an error class, at once.
  client = new OpenAI({ baseURL: `${dev.url}/v1`, apiKey: KEY, maxRetries: 0 });
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  images?.close();
});

const MODEL = 'gemini-3.8-flash';
/** A user message carrying a fake directive, with a tag to find its upstream call by. */
function prompt(directive: string, tag = uniqueTag()) {
  return { tag, content: `Question ${directive.replace(']', ` tag=${tag}]`)}` };
}

/** Calls `run` and returns what it threw. */
async function thrown(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('the openai client against /v1', () => {
  it('lists the models, and retrieves one', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['gemini-3.8-flash', 'gemini-3.5-flash-lite', 'gemini-3.1-pro-preview']);
    expect(await client.models.retrieve('gemini-3.1-pro-preview')).toMatchObject({ id: 'gemini-3.1-pro-preview', object: 'model', owned_by: 'google' });
  });

  it('streams an answer whose joined deltas are the fake’s text, with a usage chunk at the end', async () => {
    const { tag, content } = prompt('[fake:reply chunks=6]');
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(record.sentText);
    expect(chunks.filter((c) => c.choices[0]?.delta.content)).toHaveLength(6);
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
    const usage = chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    // Gemini's thought tokens are OpenAI's reasoning tokens, counted in completion_tokens.
    expect(usage.usage).toMatchObject({
      completion_tokens: Math.ceil(record.sentText.length / 4) + record.thoughtsTokenCount,
      completion_tokens_details: { reasoning_tokens: record.thoughtsTokenCount },
      total_tokens: expect.any(Number),
    });
    expect(usage.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('passes reasoning_effort on as Gemini\'s thinking level, and reports its thoughts as reasoning tokens', async () => {
    const { tag, content } = prompt('[fake:reply chunks=2]');
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], reasoning_effort: 'low' });
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(record.body.generationConfig).toMatchObject({ thinkingConfig: { thinkingLevel: 'LOW' } });
    // The fake's LOW (docs/fake-gemini.md, "Thinking and usage").
    expect(record.thoughtsTokenCount).toBe(48);
    expect(completion.usage!.completion_tokens_details).toMatchObject({ reasoning_tokens: 48 });
    // The thought summary, apart from the answer: the field OpenAI-compatible clients read.
    const message = completion.choices[0].message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    expect(message.reasoning_content).toContain('step 1 of 2');
    expect(message.content).toBe(record.sentText);

    // The usual multi-turn loop echoes the whole message back, reasoning_content included: accepted, and not sent to Gemini.
    const next = prompt('[fake:reply chunks=2]');
    const followUp = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content }, message, { role: 'user', content: next.content }],
      reasoning_effort: 'low',
    });
    expect(followUp.choices[0].message.content).toBeTruthy();
    const [sent] = await fakeRecords(dev.fakeUrl!, next.tag);
    expect(sent.body.contents[1]).toEqual({ role: 'model', parts: [{ text: record.sentText }] });
  });

  it('streams the thought summary as delta.reasoning_content before the content, and none with reasoning_effort none', async () => {
    const { tag, content } = prompt('[fake:reply chunks=3 thoughts=3]');
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], stream: true, reasoning_effort: 'medium' });
    const deltas: { content?: string | null; reasoning_content?: string }[] = [];
    for await (const chunk of stream) for (const choice of chunk.choices) deltas.push(choice.delta);
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    const reasoning = deltas.filter((d) => d.reasoning_content).map((d) => d.reasoning_content).join('');
    for (const step of [1, 2, 3]) expect(reasoning).toContain(`step ${step} of 3`);
    expect(deltas.findIndex((d) => d.reasoning_content)).toBeLessThan(deltas.findIndex((d) => d.content));
    expect(deltas.map((d) => d.content ?? '').join('')).toBe(record.sentText);

    const none = prompt('[fake:reply chunks=2]');
    const quiet = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: none.content }], stream: true, reasoning_effort: 'none' });
    for await (const chunk of quiet) for (const choice of chunk.choices) expect(choice.delta).not.toHaveProperty('reasoning_content');
  });

  it('answers a whole completion without stream', async () => {
    const { tag, content } = prompt('[fake:reply chunks=3]');
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }] });
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(completion.object).toBe('chat.completion');
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.model).toBe(MODEL);
    expect(completion.choices[0].message).toMatchObject({ role: 'assistant', content: record.sentText });
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
  });

  it('sends a multi-turn conversation to Gemini as a system instruction and alternating turns', async () => {
    const { tag, content } = prompt('[fake:reply chunks=1]');
    await client.chat.completions.create({
      model: 'gemini-3.1-pro-preview',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'My name is Ada.' },
        { role: 'assistant', content: 'Hello Ada.' },
        { role: 'user', content: [{ type: 'text', text: content }] },
      ],
      temperature: 0.2,
      max_completion_tokens: 64,
    });
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(record.model).toBe('gemini-3.1-pro-preview');
    expect(record.body.systemInstruction?.parts).toEqual([{ text: 'You are terse.' }]);
    expect(record.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'My name is Ada.' }] },
      { role: 'model', parts: [{ text: 'Hello Ada.' }] },
      { role: 'user', parts: [{ text: content }] },
    ]);
  });

  it('stops Gemini when the caller aborts mid-stream', async () => {
    const { tag, content } = prompt('[fake:reply chunks=80 delay=40]');
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], stream: true }, { signal: controller.signal });
    let pieces = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content && ++pieces === 2) controller.abort();
      }
    } catch (error) {
      // The client ends the loop quietly or throws its abort error, depending on where the abort lands.
      expect((error as Error).name).toMatch(/Abort/);
    }
    expect(pieces).toBe(2);
    const record = await waitForRecord(dev.fakeUrl!, tag, (r) => r.status !== 'streaming');
    expect(record.aborted).toBe(true);
    expect(record.chunksSent).toBeLessThan(80);
  });

  it('reports length and content_filter finish reasons', async () => {
    const long = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: prompt('[fake:reply chunks=8]').content }], max_tokens: 5 });
    expect(long.choices[0].finish_reason).toBe('length');
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: prompt('[fake:safety]').content }], stream: true });
    const reasons: (string | null)[] = [];
    for await (const chunk of stream) reasons.push(chunk.choices[0]?.finish_reason ?? null);
    expect(reasons.at(-1)).toBe('content_filter');
  });

  it('gives a grounded answer’s sources as url_citation annotations, whole and streamed', async () => {
    const expected = [
      { type: 'url_citation', url_citation: { url: 'https://example.com/fake-source-1', title: 'example.com', start_index: 0, end_index: expect.any(Number) } },
      { type: 'url_citation', url_citation: { url: 'https://example.org/fake-source-2', title: 'example.org', start_index: 0, end_index: expect.any(Number) } },
    ];
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: prompt('[fake:grounding]').content }] });
    const { annotations, content } = completion.choices[0].message;
    expect(annotations).toEqual(expected);
    expect(annotations![0].url_citation.end_index).toBe(content!.length);
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: prompt('[fake:grounding]').content }], stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    // Not in the client's types for a delta: OpenAI's own streams put annotations there too.
    const last = chunks.at(-1)!.choices[0] as { delta: { annotations?: unknown }; finish_reason: string | null };
    expect(last.finish_reason).toBe('stop');
    expect(last.delta.annotations).toEqual(expected);
  });
});

describe('files, sent by the openai client', () => {
  const filesClient = () => new OpenAI({ baseURL: `${dev.url}/v1`, apiKey: FILES_KEY, maxRetries: 0 });
  const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

  it('sends an image_url data URL to Gemini inline, its bytes intact', async () => {
    const { tag, content } = prompt('[fake:reply]');
    const url = `data:image/png;base64,${Buffer.from(IMAGE).toString('base64')}`;
    const completion = await filesClient().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: content }, { type: 'image_url', image_url: { url } }] }] });
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(filesOf(record)).toMatchObject([{ kind: 'inline', mimeType: 'image/png', bytes: 3000, sha256: sha(IMAGE) }]);
    expect(completion.choices[0].message.content!.split('\n')[0]).toBe(`[fake] received image/png, 3000 bytes, sha256 ${sha(IMAGE).slice(0, 16)}`);
  });

  it('fetches an https image_url over real TLS, following an https redirect', async () => {
    const { tag, content } = prompt('[fake:reply]');
    await filesClient().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: content }, { type: 'image_url', image_url: { url: `${imagesUrl}/moved.png` } }] }] });
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(filesOf(record)).toMatchObject([{ mimeType: 'image/png', bytes: 3000, sha256: sha(IMAGE) }]);
  });

  it('BadRequestError for an https image_url that redirects to http:, and for an http: one, before any upstream call', async () => {
    for (const url of [`${imagesUrl}/to-http.png`, imagesUrl.replace('https:', 'http:') + '/cat.png']) {
      const { tag, content } = prompt('[fake:reply]');
      const error = await thrown(() => filesClient().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: content }, { type: 'image_url', image_url: { url } }] }] }));
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).param).toBe('messages[0].content[1].image_url.url');
      expect((error as BadRequestError).message).toMatch(/https: .*\(got http:\)/);
      expect(await fakeRecords(dev.fakeUrl!, tag)).toEqual([]);
    }
  });
});

describe('errors, as the openai client’s classes', () => {
  it('BadRequestError for a field the API refuses, naming it in param, before any upstream call', async () => {
    const { tag, content } = prompt('[fake:reply]');
    const error = await thrown(() => client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], n: 2 }));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', code: 'unsupported_parameter', param: 'n' });
    expect(await fakeRecords(dev.fakeUrl!, tag)).toHaveLength(0);
  });

  it('AuthenticationError for a wrong key', async () => {
    const stranger = new OpenAI({ baseURL: `${dev.url}/v1`, apiKey: 'sk-e2e-wrong-key-not-listed', maxRetries: 0 });
    const error = await thrown(() => stranger.models.list());
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'invalid_api_key' });
  });

  it('NotFoundError for a model not in ALLOWED_MODELS', async () => {
    const error = await thrown(() => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
  });

  it('RateLimitError with Retry-After for Gemini’s 429', async () => {
    const error = await thrown(() => client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: prompt('[fake:http status=429 retry=3s]').content }], stream: true }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect((error as RateLimitError).headers.get('retry-after')).toBe('3');
  });

  it('RateLimitError with Retry-After from Gemini’s "Please retry in" when its 429 has no RetryInfo', async () => {
    const error = await thrown(() =>
      client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: prompt('[fake:http status=429 retryinfo=none retry=4.31s]').content }] }),
    );
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, type: 'requests', code: 'rate_limit_exceeded' });
    expect((error as RateLimitError).headers.get('retry-after')).toBe('5');
    expect((error as RateLimitError).message).toMatch(/try again in 5 s$/);
  });

  it('RateLimitError that a retrying client does not retry when the project has no quota for the model (limit: 0)', async () => {
    const retrying = new OpenAI({ baseURL: `${dev.url}/v1`, apiKey: KEY, maxRetries: 2 });
    const { tag, content } = prompt('[fake:http status=429 limit=0 retry=1s]');
    const error = await thrown(() => retrying.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }] }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).message).toMatch(/no quota for the model "gemini-3\.8-flash"/);
    expect(await fakeRecords(dev.fakeUrl!, tag)).toHaveLength(1);
  });

  it('RateLimitError with Retry-After for the Worker’s own limit, counted by key', async () => {
    const limited = new OpenAI({ baseURL: `${dev.url}/v1`, apiKey: LIMITED_KEY, maxRetries: 0 });
    const ask = () => limited.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: prompt('[fake:reply chunks=1]').content }] });
    for (let i = 0; i < RATE_LIMIT; i++) await ask();
    const error = await thrown(ask);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, type: 'requests', code: 'rate_limit_exceeded' });
    expect(Number((error as RateLimitError).headers.get('retry-after'))).toBeGreaterThan(0);
    // The other key has its own window.
    expect((await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] })).choices).toHaveLength(1);
  });

  it('InternalServerError for Gemini’s 503', async () => {
    const error = await thrown(() => client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: prompt('[fake:http status=503]').content }] }));
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({ status: 503, type: 'server_error', code: 'upstream_unavailable' });
  });

  it('an APIError thrown from the stream when Gemini fails mid-answer, after the text so far', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: prompt('[fake:error code=503]').content }], stream: true });
    let text = '';
    const error = await thrown(async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    });
    expect(text.length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ code: 'upstream_unavailable', type: 'server_error', message: 'Gemini failed mid-answer (503 UNAVAILABLE)' });
  });
});

describe('the openai client running tools (issue 22)', () => {
  const tooling = () => new OpenAI({ baseURL: `${dev.url}/v1`, apiKey: TOOLS_KEY, maxRetries: 0 });
  const tools: OpenAI.ChatCompletionTool[] = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'The weather in a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
      },
    },
  ];
  /** The tool the loop runs: what the fake's answer must quote back. */
  const weather = (args: { city: string }, round: number) => JSON.stringify({ city: args.city, sky: `clear in round ${round}` });

  it('runs a two-round loop with parallel calls on a Gemini 3 model, streamed: each step’s signature survives in the call ids', async () => {
    const { tag, content } = prompt('[fake:tools parallel=2 rounds=2]');
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content }];
    for (let round = 0; round < 2; round++) {
      const stream = await tooling().chat.completions.create({ model: MODEL, messages, tools, stream: true });
      // Put the calls together by index, as agent frameworks do with the deltas.
      const calls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> = [];
      let finish: string | null = null;
      for await (const chunk of stream) {
        for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
          const call = (calls[delta.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
          if (delta.id) call.id = delta.id;
          if (delta.function?.name) call.function.name += delta.function.name;
          call.function.arguments += delta.function?.arguments ?? '';
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(finish).toBe('tool_calls');
      expect(calls.map((c) => c.function.name)).toEqual(['get_weather', 'get_weather']);
      messages.push({ role: 'assistant', content: null, tool_calls: calls });
      for (const call of calls) messages.push({ role: 'tool', tool_call_id: call.id, content: weather(JSON.parse(call.function.arguments), round) });
    }
    const final = await tooling().chat.completions.create({ model: MODEL, messages, tools });
    expect(final.choices[0].finish_reason).toBe('stop');
    expect(final.choices[0].message.content).toContain('[fake] get_weather returned {"output":{"city":"city 1","sky":"clear in round 1"}}');
    expect(final.choices[0].message.content).toContain('[fake] get_weather returned {"output":{"city":"city 2","sky":"clear in round 1"}}');
    const records = await fakeRecords(dev.fakeUrl!, tag);
    expect(records.map((r) => r.httpStatus)).toEqual([200, 200, 200]);
    // The last request carried both steps' signatures back, each exactly as Gemini (the fake) made it.
    expect(records[2]!.signaturesReturned).toBe(2);
  });

  it('drives the client’s own tool runner (runTools) to the answer, non-streamed', async () => {
    const { tag, content } = prompt('[fake:tools parallel=2]');
    const runner = tooling().chat.completions.runTools({
      model: MODEL,
      messages: [{ role: 'user', content }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'The weather in a city',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            parse: JSON.parse,
            function: (args: { city: string }) => weather(args, 0),
          },
        },
      ],
    });
    const answer = await runner.finalContent();
    expect(answer).toContain('[fake] get_weather returned {"output":{"city":"city 1","sky":"clear in round 0"}}');
    const records = await fakeRecords(dev.fakeUrl!, tag);
    expect(records.map((r) => r.httpStatus)).toEqual([200, 200]);
    expect(records[1]!.signaturesReturned).toBe(1);
  });

  it('raises a BadRequestError naming the field for a function Gemini could not declare, and calls no one', async () => {
    const { tag, content } = prompt('[fake:tools]');
    const error = await thrown(() => tooling().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], tools: [{ type: 'function', function: { name: 'get weather' } }] }));
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).param).toBe('tools[0].function.name');
    expect(await fakeRecords(dev.fakeUrl!, tag)).toEqual([]);
  });
});
