import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { fakeRequests, uniqueTag } from '../fake-gemini';

/**
 * `thinking` on the native routes, through the Worker against the fake Gemini:
 * what reaches Gemini as `thinkingConfig`, and what the fake spends for it
 * (its fixed thought tokens per level: docs/fake-gemini.md, "Thinking and usage").
 */

const CHAT_ROUTES = ['/api/chat', '/api/chat/stream'] as const;

async function ask(path: string, fields: Record<string, unknown>) {
  const tag = uniqueTag();
  const response = await exports.default.fetch(`http://worker${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: `Think about it [fake:reply tag=${tag}]`, ...fields }),
  });
  const body = await response.text();
  return { tag, response, body, records: await fakeRequests(tag) };
}

describe.each(CHAT_ROUTES)('POST %s with thinking', (path) => {
  it('sends a level as Gemini\'s upper-case thinkingLevel, and the model thinks that much', async () => {
    const { response, records } = await ask(path, { model: 'gemini-3.8-flash', thinking: { level: 'low' } });
    expect(response.status).toBe(200);
    expect(records).toHaveLength(1);
    expect(records[0].body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingLevel: 'LOW' } });
    expect(records[0].thoughtsTokenCount).toBe(48);
  });

  it('sends a budget as thinkingBudget: 0 turns thinking off', async () => {
    const { response, records } = await ask(path, { model: 'gemini-3.5-flash-lite', thinking: { budget: 0 } });
    expect(response.status).toBe(200);
    expect(records[0].body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingBudget: 0 } });
    expect(records[0].thoughtsTokenCount).toBe(0);
  });

  it('sends no thinkingConfig without thinking: the model\'s default applies', async () => {
    const { records } = await ask(path, { model: 'gemini-3.8-flash' });
    expect(records[0].body.generationConfig).toEqual({ maxOutputTokens: 4096 });
    // 3.8 Flash's default level, MEDIUM.
    expect(records[0].thoughtsTokenCount).toBe(160);
  });

  it('refuses a level the model does not offer with a 400 naming the allowed ones, without calling Gemini', async () => {
    const { response, body, records } = await ask(path, { model: 'gemini-3.8-flash', thinking: { level: 'minimal' } });
    expect(response.status).toBe(400);
    expect(JSON.parse(body)).toEqual({
      error: { code: 'invalid_request', message: 'thinking.level "minimal" is not offered by gemini-3.8-flash; allowed: low, medium, high' },
    });
    expect(records).toEqual([]);
  });

  it('refuses a level and a budget together, without calling Gemini', async () => {
    const { response, body, records } = await ask(path, { thinking: { level: 'low', budget: 1024 } });
    expect(response.status).toBe(400);
    expect(JSON.parse(body).error.message).toBe('thinking must have "level" or "budget", not both');
    expect(records).toEqual([]);
  });
});
