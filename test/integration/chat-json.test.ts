import { createExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import { fakeRequests, uniqueTag, waitForRecord } from '../fake-gemini';

async function ask(directive: string, extra: Record<string, unknown> = {}) {
  const tag = uniqueTag();
  const response = await exports.default.fetch('http://worker/api/chat', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: `Question ${directive.replace(']', ` tag=${tag}]`)}`, ...extra }),
  });
  const [record] = await fakeRequests(tag);
  return { response, body: (await response.json()) as Record<string, any>, record };
}

describe('POST /api/chat', () => {
  it('answers with the whole text, the finish reason and token usage as one JSON object', async () => {
    const { response, body, record } = await ask('[fake:reply chunks=7]');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Object.keys(body)).toEqual(['text', 'finishReason', 'usage', 'model']);
    expect(body.text).toBe(record.sentText);
    // The model Gemini reported as answering (its modelVersion).
    expect(body.model).toBe('gemini-3.8-flash');
    expect(body.finishReason).toBe('STOP');
    expect(body.usage.candidatesTokenCount).toBe(Math.ceil(record.sentText.length / 4));
    // 3.8 Flash thinks by default: the thought tokens are in the total.
    expect(body.usage.thoughtsTokenCount).toBe(record.thoughtsTokenCount);
    expect(body.usage.totalTokenCount).toBe(body.usage.promptTokenCount + body.usage.candidatesTokenCount + record.thoughtsTokenCount);
  });

  it('keeps multibyte text intact', async () => {
    const { body, record } = await ask('[fake:utf8]');
    expect(body.text).toBe(record.sentText);
  });

  it('returns the partial text of a SAFETY stop with its finish reason', async () => {
    const { response, body, record } = await ask('[fake:safety]');
    expect(response.status).toBe(200);
    expect(body.text).toBe(record.sentText);
    expect(body.finishReason).toBe('SAFETY');
  });

  it.each([
    ['a dropped connection', '[fake:drop]', 502, 'upstream_disconnected'],
    ['an in-stream error object', '[fake:error code=503]', 503, 'upstream_unavailable'],
    ['a malformed frame', '[fake:malformed]', 502, 'upstream_malformed'],
    ['an answer with no finish reason', '[fake:nofinish]', 502, 'upstream_incomplete'],
    ['Gemini’s quota running out', '[fake:http status=429]', 429, 'upstream_quota'],
    ['a blocked prompt', '[fake:blocked]', 422, 'blocked'],
  ])('answers an HTTP error for %s, even after some text arrived', async (_, directive, status, code) => {
    const { response, body } = await ask(directive);
    expect(response.status).toBe(status);
    expect(body.error.code).toBe(code);
  });

  // Deployed, the runtime aborts request.signal when the client leaves before the answer
  // (enable_request_signal); neither the test pool nor wrangler dev delivers that
  // (cloudflare/workers-sdk#6467), so the request is handed a signal of our own here.
  it('aborts Gemini when the request signal aborts before the answer is complete', async () => {
    const tag = uniqueTag();
    const controller = new AbortController();
    const request = new Request('http://worker/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: `Long [fake:reply chunks=100 delay=30 tag=${tag}]` }),
      signal: controller.signal,
    });
    const answer = app.fetch(request, env, createExecutionContext());
    setTimeout(() => controller.abort(), 300);
    const response = await answer;
    const record = await waitForRecord(tag, (r) => r.status !== 'streaming');
    expect(record.aborted).toBe(true);
    expect(record.chunksSent).toBeLessThan(100);
    // Nobody reads it, but it is still a clear answer in the log: the client closed the request.
    expect(response.status).toBe(499);
  });
});
