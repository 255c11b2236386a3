import { describe, expect, it } from 'vitest';
import { finishReasonOf, usageOf } from '../../src/protocol/openai';
import { OpenAiChunkFormat } from '../../src/stream/openai-format';
import { encodeSse, type SseInput } from '../../src/stream/sse-encoder';
import { collect, streamOf } from '../streams';

const usage = { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 };
const HEAD = '"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gemini-3.8-flash"';

async function wire(events: SseInput[], includeUsage = false): Promise<string> {
  const format = new OpenAiChunkFormat('chatcmpl-1', 1_700_000_000, 'gemini-3.8-flash', includeUsage);
  return (await collect(encodeSse(streamOf(events), { format }))).map((c) => new TextDecoder().decode(c)).join('');
}

describe('OpenAiChunkFormat', () => {
  it('writes chat.completion.chunk frames: the role once, on the first; the finish; then [DONE]', async () => {
    expect(await wire([{ type: 'text', text: 'Hel' }, { type: 'text', text: 'lo' }, { type: 'done', finishReason: 'STOP', usage }])).toBe(
      `data: {${HEAD},"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null,"logprobs":null}]}\n\n` +
        `data: {${HEAD},"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null,"logprobs":null}]}\n\n` +
        `data: {${HEAD},"choices":[{"index":0,"delta":{},"finish_reason":"stop","logprobs":null}]}\n\n` +
        'data: [DONE]\n\n',
    );
  });

  it('streams a thought summary as delta.reasoning_content before the content, the role on the first chunk', async () => {
    expect(await wire([{ type: 'thought', text: 'Think' }, { type: 'text', text: 'Hi' }, { type: 'done', finishReason: 'STOP', usage }])).toBe(
      `data: {${HEAD},"choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Think"},"finish_reason":null,"logprobs":null}]}\n\n` +
        `data: {${HEAD},"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null,"logprobs":null}]}\n\n` +
        `data: {${HEAD},"choices":[{"index":0,"delta":{},"finish_reason":"stop","logprobs":null}]}\n\n` +
        'data: [DONE]\n\n',
    );
  });

  it('with include_usage: usage null on each chunk, and a usage chunk with no choices before [DONE]', async () => {
    expect(await wire([{ type: 'text', text: 'Hi' }, { type: 'done', finishReason: 'MAX_TOKENS', usage }], true)).toBe(
      `data: {${HEAD},"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null,"logprobs":null}],"usage":null}\n\n` +
        `data: {${HEAD},"choices":[{"index":0,"delta":{},"finish_reason":"length","logprobs":null}],"usage":null}\n\n` +
        `data: {${HEAD},"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n` +
        'data: [DONE]\n\n',
    );
  });

  it('gives the role on the finishing chunk when no text came, and the sources as annotations over the text', async () => {
    const source = { title: 'Example', url: 'https://example.com/' };
    const frames = (await wire([{ type: 'done', finishReason: 'STOP', usage, sources: [source] }])).split('\n\n');
    expect(JSON.parse(frames[0].slice(6)).choices[0].delta).toEqual({
      role: 'assistant',
      annotations: [{ type: 'url_citation', url_citation: { url: 'https://example.com/', title: 'Example', start_index: 0, end_index: 0 } }],
    });
    const grounded = (await wire([{ type: 'text', text: 'Four.' }, { type: 'done', finishReason: 'STOP', usage, sources: [source] }])).split('\n\n');
    expect(JSON.parse(grounded[1].slice(6)).choices[0].delta.annotations[0].url_citation.end_index).toBe(5);
  });

  it('keeps the model the client asked for in every chunk, not the one Gemini reports as answering', async () => {
    const body = await wire([{ type: 'text', text: 'Hi' }, { type: 'done', finishReason: 'STOP', usage, model: 'gemini-3.5-flash-lite' }], true);
    const chunks = body.split('\n\n').filter((frame) => frame.startsWith('data: {')).map((frame) => JSON.parse(frame.slice(6)) as { model: string });
    expect(chunks).toHaveLength(3);
    for (const chunk of chunks) expect(chunk.model).toBe('gemini-3.8-flash');
    expect(body).not.toContain('gemini-3.5-flash-lite');
  });

  it('ends a TOO_MANY_TOOL_CALLS finish with no calls as length: a limit ended it', async () => {
    expect(await wire([{ type: 'done', finishReason: 'TOO_MANY_TOOL_CALLS', usage }])).toContain('"finish_reason":"length"');
  });

  it('streams a call as its id, type and name, then its arguments, and ends with tool_calls; the signature rides in the id', async () => {
    const body = await wire([
      { type: 'tool-call', toolCallId: 'call_AAAAAAAAAAAAAAAA', name: 'get_weather', args: { city: 'Oslo' }, signature: 'c2ln+/8=' },
      { type: 'tool-call', toolCallId: 'call_BBBBBBBBBBBBBBBB', name: 'get_weather', args: { city: 'Rome' } },
      { type: 'done', finishReason: 'STOP', usage },
    ]);
    const chunks = body.split('\n\n').filter((f) => f.startsWith('data: {')).map((f) => JSON.parse(f.slice(6)));
    expect(chunks.map((c) => c.choices[0].delta)).toEqual([
      { role: 'assistant', tool_calls: [{ index: 0, id: 'call_AAAAAAAAAAAAAAAA_s_c2ln-_8', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city":"Oslo"}' } }] },
      { tool_calls: [{ index: 1, id: 'call_BBBBBBBBBBBBBBBB', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
      { tool_calls: [{ index: 1, function: { arguments: '{"city":"Rome"}' } }] },
      {},
    ]);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
  });

  it('ends a failed function call (the adapter\'s tool_call_failed) with a server error and no [DONE]', async () => {
    const body = await wire([{ type: 'error', code: 'tool_call_failed', message: 'Gemini ended the answer on a malformed function call (MALFORMED_FUNCTION_CALL); asking again usually works' }]);
    expect(JSON.parse(body.split('\n\n')[0]!.slice(6)).error).toMatchObject({ type: 'server_error', code: 'tool_call_failed' });
    expect(body).not.toContain('[DONE]');
  });

  it('ends Gemini’s quota running out mid-answer with a rate_limit_exceeded error of type requests', async () => {
    const body = await wire([{ type: 'text', text: 'Hi' }, { type: 'error', code: 'upstream_quota', message: 'Gemini failed mid-answer (429 RESOURCE_EXHAUSTED)' }]);
    expect(JSON.parse(body.split('\n\n')[1]!.slice(6))).toEqual({
      error: { message: 'Gemini failed mid-answer (429 RESOURCE_EXHAUSTED)', type: 'requests', code: 'rate_limit_exceeded', param: null },
    });
  });

  it('ends with an error object in OpenAI’s shape and no [DONE] when the answer fails', async () => {
    const body = await wire([{ type: 'text', text: 'Hi' }, { type: 'error', code: 'upstream_timeout', message: 'Gemini sent nothing for 30000 ms (between chunks)' }]);
    expect(body.split('\n\n').slice(1)).toEqual([
      'data: {"error":{"message":"Gemini sent nothing for 30000 ms (between chunks)","type":"server_error","code":"upstream_timeout","param":null}}',
      '',
    ]);
  });
});

describe('finishReasonOf', () => {
  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['BLOCKLIST', 'content_filter'],
    ['PROHIBITED_CONTENT', 'content_filter'],
    ['SPII', 'content_filter'],
    ['LANGUAGE', 'content_filter'],
    ['OTHER', 'stop'],
    ['MALFORMED_FUNCTION_CALL', 'stop'],
    ['SOME_NEWER_REASON', 'stop'],
  ])('maps %s to %s', (gemini, openai) => {
    expect(finishReasonOf(gemini)).toBe(openai);
  });
});

describe('usageOf', () => {
  it('counts tool-use prompt tokens as prompt tokens, so prompt and completion add up to the total', () => {
    const result = usageOf({ promptTokenCount: 10, candidatesTokenCount: 4, toolUsePromptTokenCount: 300, totalTokenCount: 314 });
    expect(result).toEqual({ prompt_tokens: 310, completion_tokens: 4, total_tokens: 314 });
  });

  it('counts thinking tokens as completion tokens (OpenAI’s reasoning tokens) and reports cached prompt tokens', () => {
    expect(usageOf({ promptTokenCount: 10, candidatesTokenCount: 4, thoughtsTokenCount: 6, cachedContentTokenCount: 8, totalTokenCount: 20 })).toEqual({
      prompt_tokens: 10,
      completion_tokens: 10,
      total_tokens: 20,
      prompt_tokens_details: { cached_tokens: 8 },
      completion_tokens_details: { reasoning_tokens: 6 },
    });
  });

  it('reports a prompt with files by modality, a PDF\'s tokens as image tokens', () => {
    const usage = {
      promptTokenCount: 1700,
      candidatesTokenCount: 5,
      totalTokenCount: 1705,
      promptTokensDetails: [
        { modality: 'TEXT', tokenCount: 20 },
        { modality: 'IMAGE', tokenCount: 1120 },
        { modality: 'DOCUMENT', tokenCount: 560 },
      ],
    };
    expect(usageOf(usage).prompt_tokens_details).toEqual({ text_tokens: 20, image_tokens: 1680 });
    expect(usageOf({ ...usage, promptTokensDetails: [{ modality: 'AUDIO', tokenCount: 320 }], cachedContentTokenCount: 4 }).prompt_tokens_details).toEqual({ cached_tokens: 4, audio_tokens: 320 });
  });
});
