import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { fakeRequests, uniqueTag } from '../fake-gemini';
import { seededRandom } from '../random';

/**
 * Generated bad bodies, from a seeded generator (a failure names its seed
 * and case): every one gets a 4xx JSON error, none reaches Gemini, and the
 * Worker answers normally afterwards. Test bindings: MAX_BODY_BYTES 65536,
 * MAX_MESSAGE_CHARS 2000.
 */

const SEED = 20261125;
const CASES = 600;
const TAG = uniqueTag('fuzz');
/** Put in every string the generator writes: had any request reached Gemini, the fake would record it under TAG. */
const DIRECTIVE = `[fake:reply tag=${TAG}]`;
const encoder = new TextEncoder();

interface BadBody {
  kind: string;
  body: Uint8Array | string;
  contentType?: string;
}

function generator(next: () => number) {
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T,>(items: readonly T[]): T => items[int(items.length)];
  const text = () => `${pick(['hi', 'What is SSE?', 'grüße 🌍', ''])} ${DIRECTIVE}`;
  const wrongTypes = [42, -1.5, null, true, false, [], [text()], {}, { text: text() }, 1e308];
  const nonStrings = wrongTypes;
  const json = (value: unknown) => JSON.stringify(value);

  const makers: Record<string, () => BadBody> = {
    'random bytes': () => ({ kind: 'random bytes', body: Uint8Array.from({ length: 1 + int(300) }, () => int(256)) }),
    'invalid UTF-8 inside JSON': () => {
      const head = encoder.encode(`{"message":"${DIRECTIVE} `);
      const bad = pick([[0xc3], [0xff, 0xfe], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]);
      return { kind: 'invalid UTF-8', body: Uint8Array.from([...head, ...bad, ...encoder.encode('"}')]) };
    },
    'truncated JSON': () => {
      const full = json({ message: text(), history: [] });
      return { kind: 'truncated JSON', body: full.slice(0, 1 + int(full.length - 2)) };
    },
    'deep nesting': () => {
      const depth = 10_000;
      const open = pick(['[', '{"a":']);
      const close = open === '[' ? ']' : '}';
      return { kind: 'deep nesting', body: `{"message":${open.repeat(depth)}1${close.repeat(depth)}}` };
    },
    'not an object': () => ({ kind: 'not an object', body: pick(['null', 'true', '1', '"hi"', '[]', `["${DIRECTIVE}"]`, '']) }),
    'wrong type for message': () => ({ kind: 'message type', body: json({ message: pick(nonStrings) }) }),
    'wrong type for model': () => ({ kind: 'model type', body: json({ message: text(), model: pick(nonStrings) }) }),
    'wrong type for system': () => ({ kind: 'system type', body: json({ message: text(), system: pick(nonStrings) }) }),
    'wrong history': () => ({
      kind: 'history',
      body: json({
        message: text(),
        history: pick<unknown>([
          text(),
          { role: 'user', text: text() },
          [{ role: 'user', text: text() }],
          [{ role: 'model', text: text() }, { role: 'user', text: text() }],
          [{ role: 'user', text: pick(nonStrings) }, { role: 'model', text: text() }],
          [{ role: 'system', text: text() }, { role: 'model', text: text() }],
          [{ role: 'user', text: text(), extra: 1 }, { role: 'model', text: text() }],
          [null, { role: 'model', text: text() }],
          [{ role: 'user', text: '\u0000' }, { role: 'model', text: text() }],
        ]),
      }),
    }),
    'bad generationConfig': () => ({
      kind: 'generationConfig',
      body: json({
        message: text(),
        generationConfig: pick<unknown>([
          [],
          text(),
          { temperature: pick([-0.1, 2.01, '1', null, 1e9]) },
          { topP: pick([-1, 1.5, 'high']) },
          { topK: pick([0, 1.5, 1001, -3]) },
          { maxOutputTokens: pick([0, 4097, 1e12, 2.5, '100']) },
          { candidateCount: 2 },
          { responseMimeType: 'application/json' },
        ]),
      }),
    }),
    'lone surrogate': () => {
      const lone = pick(['\\ud800', '\\udfff', '\\ud83d x', 'x \\ude00']);
      const field = pick(['message', 'system', 'history']);
      const body =
        field === 'history'
          ? `{"message":"${DIRECTIVE}","history":[{"role":"user","text":"${lone}"},{"role":"model","text":"ok"}]}`
          : field === 'system'
            ? `{"message":"${DIRECTIVE}","system":"${lone}"}`
            : `{"message":"${lone} ${DIRECTIVE}"}`;
      return { kind: 'lone surrogate', body };
    },
    'control characters only': () => ({
      kind: 'control only',
      body: json({ message: Array.from({ length: 1 + int(20) }, () => String.fromCharCode(pick([0, 1, 7, 8, 0x1b, 0x7f, 0x9b, 0x200b, 0xfeff]))).join('') }),
    }),
    'huge string': () => {
      const size = pick([2001, 5000, 70_000]);
      return { kind: 'huge string', body: json({ message: `${DIRECTIVE} ${'x'.repeat(size)}` }) };
    },
    'bad model': () => ({ kind: 'bad model', body: json({ message: text(), model: pick(['gpt-4', '', 'gemini-3.8-flash\u0000', '../../etc/passwd', 'GEMINI-3.8-FLASH', 'gemini-3.8-flash ']) }) }),
    'duplicate keys, the last one bad': () => ({ kind: 'duplicate keys', body: `{"message":"${DIRECTIVE}","message":${pick(['42', 'null', '""', '[]'])}}` }),
    'prototype pollution keys': () => {
      const key = pick(['__proto__', 'constructor', 'prototype']);
      const where = pick(['top', 'generationConfig', 'history']);
      const body =
        where === 'top'
          ? `{"message":"${DIRECTIVE}","${key}":{"polluted":true}}`
          : where === 'generationConfig'
            ? `{"message":"${DIRECTIVE}","generationConfig":{"${key}":{"temperature":1}}}`
            : `{"message":"${DIRECTIVE}","history":[{"role":"user","text":"a","${key}":{"x":1}},{"role":"model","text":"b"}]}`;
      return { kind: 'prototype keys', body };
    },
    'unknown field': () => ({ kind: 'unknown field', body: json({ message: text(), [pick(['Message', 'messages', 'prompt', 'tools', 'stream'])]: text() }) }),
    'wrong content type': () => ({
      kind: 'content type',
      body: json({ message: text() }),
      contentType: pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', '']),
    }),
  };
  const kinds = Object.keys(makers);
  return (i: number) => makers[kinds[i % kinds.length]]();
}

let chatId: string;

beforeAll(async () => {
  const response = await exports.default.fetch('http://worker/api/chats', { method: 'POST' });
  chatId = ((await response.json()) as { id: string }).id;
});

describe('fuzzed bad bodies', () => {
  it(`answers each of ${CASES} with a 4xx JSON error, and none reaches Gemini (seed ${SEED})`, async () => {
    const make = generator(seededRandom(SEED));
    const routes = ['/api/chat/stream', '/api/chat', () => `/api/chats/${chatId}/messages`] as const;
    const failures: string[] = [];
    const counts = new Map<string, number>();
    for (let start = 0; start < CASES; start += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, CASES - start) }, async (_, j) => {
          const i = start + j;
          const bad = make(i);
          const route = routes[i % routes.length];
          const path = typeof route === 'function' ? route() : route;
          const headers: Record<string, string> = {};
          if (bad.contentType !== '') headers['content-type'] = bad.contentType ?? 'application/json';
          const response = await exports.default.fetch(`http://worker${path}`, { method: 'POST', headers, body: bad.body });
          const text = await response.text();
          let code: unknown;
          try {
            code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
          } catch {
            code = undefined;
          }
          counts.set(`${response.status} ${String(code)}`, (counts.get(`${response.status} ${String(code)}`) ?? 0) + 1);
          if (response.status < 400 || response.status >= 500 || typeof code !== 'string' || !response.headers.get('content-type')?.startsWith('application/json')) {
            failures.push(`case ${i} (${bad.kind}) on ${path}: ${response.status} ${text.slice(0, 200)}`);
          }
        }),
      );
    }
    expect(failures).toEqual([]);
    expect(await fakeRequests(TAG)).toEqual([]);
    // The generator reached every refusal it aims at.
    for (const expected of ['400 invalid_json', '400 invalid_request', '400 model_not_allowed', '413 too_large', '415 unsupported_media_type']) {
      expect([...counts.keys()]).toContain(expected);
    }
    // 600 requests take about 20 s alone, the default timeout; more while other suites run beside it.
  }, 90_000);

  it('leaves the Worker healthy: a good request still gets its answer', async () => {
    const tag = uniqueTag();
    const response = await exports.default.fetch('http://worker/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: `Still there? [fake:reply tag=${tag}]` }),
    });
    expect(response.status).toBe(200);
    expect(await fakeRequests(tag)).toHaveLength(1);
    const snapshot = await exports.default.fetch(`http://worker/api/chats/${chatId}`);
    expect(((await snapshot.json()) as { messages: unknown[] }).messages).toEqual([]);
  });
});
