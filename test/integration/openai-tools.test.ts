import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import type { Env } from '../../src/env';
import { fakeRequests, uniqueTag, type FakeRecord } from '../fake-gemini';

/**
 * Function calling on the OpenAI-compatible API (issue 22), through the Worker against the fake
 * Gemini, which signs calls on 3.x models and refuses a call sent back without its signature.
 */

const KEY = 'sk-test-openai-tools-0001';
const configured = { ...env, OPENAI_COMPAT_KEYS: KEY } as Env;

async function completions(body: unknown) {
  const ctx = createExecutionContext();
  const request = new Request('http://worker/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'cf-connecting-ip': '203.0.113.9' },
    body: JSON.stringify(body),
  });
  const response = await app.fetch(request, configured, ctx);
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  return { status: response.status, text, json: () => JSON.parse(text) };
}

const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } }, required: ['city'], additionalProperties: false },
    strict: true,
  },
};
const TIME = { type: 'function', function: { name: 'get_time' } };

/** A request with tools whose user message carries a fake directive and a tag. */
function ask(directive: string, extra: Record<string, unknown> = {}) {
  const tag = uniqueTag();
  const body = { model: 'gemini-3.8-flash', messages: [{ role: 'user', content: `Weather? ${directive.replace(']', ` tag=${tag}]`)}` }] as unknown[], tools: [WEATHER, TIME], ...extra };
  return { tag, body };
}

async function lastRecord(tag: string): Promise<FakeRecord> {
  const records = await fakeRequests(tag);
  return records.at(-1)!;
}

interface StreamedCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

/** The calls of a streamed answer, put together as the `openai` client's helpers do: by index. */
function streamedCalls(body: string): { calls: StreamedCall[]; finish: string | null; content: string } {
  const calls: StreamedCall[] = [];
  let finish: string | null = null;
  let content = '';
  for (const block of body.split('\n\n')) {
    if (!block.startsWith('data: {')) continue;
    const chunk = JSON.parse(block.slice(6));
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    content += choice.delta.content ?? '';
    for (const delta of choice.delta.tool_calls ?? []) {
      const call = (calls[delta.index] ??= { id: '', type: '', function: { name: '', arguments: '' } });
      if (delta.id) call.id = delta.id;
      if (delta.type) call.type = delta.type;
      if (delta.function?.name) call.function.name = delta.function.name;
      call.function.arguments += delta.function?.arguments ?? '';
    }
    finish = choice.finish_reason ?? finish;
  }
  return { calls, finish, content };
}

describe('POST /v1/chat/completions with tools', () => {
  it('declares the functions with their JSON Schema as parametersJsonSchema, and maps tool_choice to functionCallingConfig', async () => {
    const cases: Array<[unknown, unknown]> = [
      [undefined, { functionCallingConfig: { mode: 'AUTO' } }],
      ['auto', { functionCallingConfig: { mode: 'AUTO' } }],
      ['none', { functionCallingConfig: { mode: 'NONE' } }],
      ['required', { functionCallingConfig: { mode: 'ANY' } }],
      [{ type: 'function', function: { name: 'get_time' } }, { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_time'] } }],
    ];
    for (const [choice, toolConfig] of cases) {
      const { tag, body } = ask('[fake:reply]', choice === undefined ? {} : { tool_choice: choice });
      expect((await completions(body)).status).toBe(200);
      const record = await lastRecord(tag);
      expect(record.tools).toEqual([
        {
          functionDeclarations: [
            { name: 'get_weather', description: 'The weather in a city', parametersJsonSchema: WEATHER.function.parameters },
            { name: 'get_time' },
          ],
        },
      ]);
      expect(record.toolConfig).toEqual(toolConfig);
    }
  });

  it('sends no tools when there are none, and none of the call machinery', async () => {
    const { tag, body } = ask('[fake:reply chunks=1]', { tools: [], tool_choice: 'none', parallel_tool_calls: true });
    expect((await completions(body)).status).toBe(200);
    expect(await lastRecord(tag)).toMatchObject({ tools: null, toolConfig: null });
  });

  it('streams parallel calls as delta.tool_calls, the signature of the first riding in its id, and ends with tool_calls', async () => {
    const { tag, body } = ask('[fake:tools parallel=2 args={"city":"Oslo"}]', { stream: true });
    const answer = await completions(body);
    expect(answer.status).toBe(200);
    const { calls, finish, content } = streamedCalls(answer.text);
    expect(finish).toBe('tool_calls');
    expect(content).toBe('');
    expect(calls.map((c) => [c.type, c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ['function', 'get_weather', { city: 'Oslo' }],
      ['function', 'get_weather', { city: 'Oslo' }],
    ]);
    const record = await lastRecord(tag);
    const signature = record.functionCalls[0]!.thoughtSignature!;
    expect(calls[0]!.id).toBe(`${calls[0]!.id.slice(0, 21)}_s_${signature.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')}`);
    expect(calls[1]!.id).toMatch(/^call_[A-Za-z0-9_-]{16}$/);
    expect(answer.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('answers without stream with message.tool_calls, content null and finish_reason tool_calls', async () => {
    const { body } = ask('[fake:tools call=get_time,get_weather parallel=2]');
    const answer = await completions(body);
    expect(answer.status).toBe(200);
    const { message, finish_reason } = answer.json().choices[0];
    expect(finish_reason).toBe('tool_calls');
    expect(message.content).toBeNull();
    expect(message.tool_calls).toEqual([
      { id: expect.stringMatching(/^call_[A-Za-z0-9_-]{16}_s_[A-Za-z0-9_-]+$/), type: 'function', function: { name: 'get_time', arguments: '{}' } },
      { id: expect.stringMatching(/^call_[A-Za-z0-9_-]{16}$/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"city 2","days":2}' } },
    ]);
  });

  it('keeps only the first call with parallel_tool_calls: false, streamed and whole', async () => {
    const whole = await completions(ask('[fake:tools parallel=3]', { parallel_tool_calls: false }).body);
    expect(whole.json().choices[0].message.tool_calls).toHaveLength(1);
    const streamed = await completions(ask('[fake:tools parallel=3]', { parallel_tool_calls: false, stream: true }).body);
    expect(streamedCalls(streamed.text).calls).toHaveLength(1);
  });

  it('sends the calls and tool results back as functionCall and functionResponse parts, the signature restored, over two rounds', async () => {
    const { tag, body } = ask('[fake:tools parallel=2 rounds=2]');
    const messages = body.messages;
    for (let round = 0; round < 2; round++) {
      const answer = await completions({ ...body, messages });
      expect(answer.status).toBe(200);
      const { message } = answer.json().choices[0];
      expect(message.tool_calls).toHaveLength(2);
      messages.push(message);
      for (const [i, call] of (message.tool_calls as StreamedCall[]).entries()) {
        messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify({ sky: `clear ${round}.${i}` }) });
      }
    }
    const final = await completions({ ...body, messages });
    expect(final.status).toBe(200);
    const { message, finish_reason } = final.json().choices[0];
    expect(finish_reason).toBe('stop');
    expect(message.content).toMatch(/^\[fake\] get_weather returned \{"output":\{"sky":"clear 1\.0"\}\}\n\[fake\] get_weather returned \{"output":\{"sky":"clear 1\.1"\}\}\n/);

    const records = await fakeRequests(tag);
    expect(records.map((r) => r.httpStatus)).toEqual([200, 200, 200]);
    // Both steps' signatures came back, each exactly as the fake signed it.
    expect(records[2]!.signaturesReturned).toBe(2);
    const contents = records[2]!.body.contents;
    expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'user', 'model', 'user']);
    expect(contents[1]!.parts).toEqual([
      { functionCall: { name: 'get_weather', args: records[0]!.functionCalls[0]!.args }, thoughtSignature: records[0]!.functionCalls[0]!.thoughtSignature },
      { functionCall: { name: 'get_weather', args: records[0]!.functionCalls[1]!.args } },
    ]);
    expect(contents[2]!.parts).toEqual([
      { functionResponse: { name: 'get_weather', response: { output: { sky: 'clear 0.0' } } } },
      { functionResponse: { name: 'get_weather', response: { output: { sky: 'clear 0.1' } } } },
    ]);
    expect(contents[3]!.parts[0]!.thoughtSignature).toBe(records[1]!.functionCalls[0]!.thoughtSignature);
  });

  it('sends a call whose id lost its signature with Gemini\'s documented skip value, and Gemini answers', async () => {
    const { tag, body } = ask('[fake:tools]');
    const { message } = (await completions(body)).json().choices[0];
    const call = message.tool_calls[0] as StreamedCall;
    // A history another API wrote: the same call under an id of its own.
    const bare = 'toolu_01A09q90qw90lq917835lq9';
    const answer = await completions({
      ...body,
      messages: [...body.messages, { ...message, tool_calls: [{ ...call, id: bare }] }, { role: 'tool', tool_call_id: bare, content: 'sunny' }],
    });
    expect(answer.status).toBe(200);
    const record = await lastRecord(tag);
    expect(record.httpStatus).toBe(200);
    expect(record.body.contents[1]!.parts[0]!.thoughtSignature).toBe('skip_thought_signature_validator');
    expect(record.signaturesSkipped).toBe(1);
    expect(record.signaturesReturned).toBe(0);
  });

  it('still gets the fake Gemini 3 refusal for a made-up signature: only the documented value passes', async () => {
    const { tag, body } = ask('[fake:tools]');
    const { message } = (await completions(body)).json().choices[0];
    const call = message.tool_calls[0] as StreamedCall;
    const forged = `${call.id.slice(0, 21)}_s_${btoa('not a signature Gemini made').replace(/=+$/, '')}`;
    const answer = await completions({
      ...body,
      messages: [...body.messages, { ...message, tool_calls: [{ ...call, id: forged }] }, { role: 'tool', tool_call_id: forged, content: 'sunny' }],
    });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect((await lastRecord(tag)).httpStatus).toBe(400);
  });

  it('sends an assistant message’s text beside its calls, and a plain-text tool result as its text', async () => {
    const { tag, body } = ask('[fake:tools]');
    const { message } = (await completions(body)).json().choices[0];
    const call = message.tool_calls[0] as StreamedCall;
    const answer = await completions({
      ...body,
      messages: [...body.messages, { ...message, content: 'Let me look.' }, { role: 'tool', tool_call_id: call.id, content: [{ type: 'text', text: 'sunny, ' }, { type: 'text', text: '21 °C' }] }],
    });
    expect(answer.status).toBe(200);
    const contents = (await lastRecord(tag)).body.contents;
    expect(contents[1]!.parts[0]).toEqual({ text: 'Let me look.' });
    expect(contents[1]!.parts[1]!.functionCall?.name).toBe('get_weather');
    expect(contents[2]!.parts).toEqual([{ functionResponse: { name: 'get_weather', response: { output: 'sunny, 21 °C' } } }]);
  });

  it.each([
    ['MALFORMED_FUNCTION_CALL', 'malformed function call'],
    ['UNEXPECTED_TOOL_CALL', 'did not allow'],
  ])('answers %s as a retryable 502 tool_call_failed, or an error frame when streamed', async (finish, words) => {
    const whole = await completions(ask(`[fake:tools finish=${finish}]`).body);
    expect(whole.status).toBe(502);
    expect(whole.json().error).toMatchObject({ type: 'server_error', code: 'tool_call_failed' });
    expect(whole.json().error.message).toContain(words);
    const streamed = await completions(ask(`[fake:tools finish=${finish}]`, { stream: true }).body);
    expect(streamed.status).toBe(200);
    expect(streamed.text).toContain('"code":"tool_call_failed"');
    expect(streamed.text).not.toContain('[DONE]');
  });

  it('answers TOO_MANY_TOOL_CALLS with no calls as finish_reason length', async () => {
    const answer = await completions(ask('[fake:tools finish=TOO_MANY_TOOL_CALLS]').body);
    expect(answer.json().choices[0]).toMatchObject({ finish_reason: 'length', message: { content: '' } });
  });
});
