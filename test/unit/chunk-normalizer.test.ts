import type { GenerateContentResponse } from '@google/generative-ai';
import { describe, expect, it } from 'vitest';
import { ChunkNormalizer, chunkProblem, type UpstreamItem } from '../../src/gemini/chunk-normalizer';
import { GeminiError } from '../../src/gemini/gemini-error';
import type { ChatEvent } from '../../src/protocol/events';

/**
 * Chunks as Gemini puts them on the wire: plain JSON, with string enums, no
 * `index` on newer models, and fields the SDK's types do not know.
 */
type WireItem = object | GeminiError;

/** Every stream ends with exactly one terminal event, done or error, and it comes last. */
function expectOneTerminalLast(events: ChatEvent[]): void {
  const terminals = events.filter((e) => e.type === 'done' || e.type === 'error');
  expect(terminals).toHaveLength(1);
  expect(events.at(-1)).toBe(terminals[0]);
}

/** What the adapter does with a normalizer: each item in turn, up to the first terminal event; `end()` once the items run out. */
function normalize(items: WireItem[], keepSignatures = false): ChatEvent[] {
  const normalizer = new ChunkNormalizer(undefined, keepSignatures);
  const events: ChatEvent[] = [];
  for (const item of items) {
    const event = normalizer.next(item as UpstreamItem);
    if (!event) continue;
    events.push(event);
    if (event.type === 'done' || event.type === 'error') return checked(events);
    for (let more = normalizer.take(); more; more = normalizer.take()) events.push(more);
  }
  events.push(normalizer.end());
  return checked(events);
}

function checked(events: ChatEvent[]): ChatEvent[] {
  expectOneTerminalLast(events);
  return events;
}

/** A 2025-style chunk: role model, no index, usage on every chunk, candidatesTokenCount only at the end. */
function modernChunk(text: string, extra: { finishReason?: string; candidatesTokenCount?: number } = {}) {
  const { finishReason, candidatesTokenCount } = extra;
  return {
    candidates: [{ content: { parts: [{ text }], role: 'model' }, ...(finishReason ? { finishReason } : {}) }],
    modelVersion: 'gemini-3.8-flash',
    responseId: 'resp-1',
    usageMetadata:
      candidatesTokenCount === undefined
        ? { promptTokenCount: 5, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 5 }], totalTokenCount: 5 }
        : {
            candidatesTokenCount,
            candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: candidatesTokenCount }],
            promptTokenCount: 4,
            promptTokensDetails: [{ modality: 'TEXT', tokenCount: 4 }],
            totalTokenCount: 4 + candidatesTokenCount,
          },
  };
}

/** An older-model chunk: index 0, no role, finishReason repeated on every chunk, no usage. */
function oldChunk(text: string, finishReason = 'STOP') {
  return {
    candidates: [
      {
        content: { parts: [{ text }] },
        finishReason,
        index: 0,
        safetyRatings: [{ category: 'HARM_CATEGORY_HATE_SPEECH', probability: 'NEGLIGIBLE' }],
      },
    ],
  };
}

/** A wire chunk as the SDK's type, for calling chunkProblem directly. */
const asChunk = (json: object) => json as GenerateContentResponse;

const noUsage = { promptTokenCount: 0, candidatesTokenCount: 0, totalTokenCount: 0 };

const inStreamError = (code: number, status: string, message: string) => ({ error: { code, message, status } });

describe('ChunkNormalizer', () => {
  describe('answers that finish', () => {
    it('emits one text event per chunk, then done with the last finish reason and usage (modern format)', () => {
      const events = normalize([
        modernChunk('The'),
        modernChunk(' sky is'),
        modernChunk(' blue.', { finishReason: 'STOP', candidatesTokenCount: 6 }),
      ]);
      expect(events).toEqual([
        { type: 'text', text: 'The' },
        { type: 'text', text: ' sky is' },
        { type: 'text', text: ' blue.' },
        { type: 'done', finishReason: 'STOP', usage: { promptTokenCount: 4, candidatesTokenCount: 6, totalTokenCount: 10 }, model: 'gemini-3.8-flash' },
      ]);
    });

    it('emits exactly one done at the end when finishReason STOP is repeated on every chunk (old format)', () => {
      const events = normalize([oldChunk('**Cats:**'), oldChunk(' are'), oldChunk(' independent.')]);
      expect(events).toEqual([
        { type: 'text', text: '**Cats:**' },
        { type: 'text', text: ' are' },
        { type: 'text', text: ' independent.' },
        { type: 'done', finishReason: 'STOP', usage: noUsage },
      ]);
    });

    it('keeps the text and reports RECITATION when the final candidate has no content', () => {
      const events = normalize([
        oldChunk('Quoted text'),
        oldChunk(' and more quoted text'),
        { candidates: [{ finishReason: 'RECITATION', index: 0 }] },
      ]);
      expect(events).toEqual([
        { type: 'text', text: 'Quoted text' },
        { type: 'text', text: ' and more quoted text' },
        { type: 'done', finishReason: 'RECITATION', usage: noUsage },
      ]);
    });

    it('keeps the partial text when Gemini stops for SAFETY', () => {
      const events = normalize([
        modernChunk('Here is how'),
        modernChunk(' to', { finishReason: 'SAFETY', candidatesTokenCount: 3 }),
      ]);
      expect(events).toEqual([
        { type: 'text', text: 'Here is how' },
        { type: 'text', text: ' to' },
        { type: 'done', finishReason: 'SAFETY', usage: { promptTokenCount: 4, candidatesTokenCount: 3, totalTokenCount: 7 }, model: 'gemini-3.8-flash' },
      ]);
    });

    it('passes an unknown finishReason value through as Gemini gave it', () => {
      const events = normalize([oldChunk('One', 'STOP'), oldChunk(' two', 'FAKE_ENUM')]);
      expect(events).toEqual([
        { type: 'text', text: 'One' },
        { type: 'text', text: ' two' },
        { type: 'done', finishReason: 'FAKE_ENUM', usage: noUsage },
      ]);
    });

    it('keeps the finish reason when a later chunk (grounding metadata, empty content) has none', () => {
      const events = normalize([
        modernChunk('Answer.', { finishReason: 'STOP', candidatesTokenCount: 2 }),
        { candidates: [{ content: {}, groundingMetadata: { groundingChunks: [] } }] },
      ]);
      expect(events).toEqual([
        { type: 'text', text: 'Answer.' },
        { type: 'done', finishReason: 'STOP', usage: { promptTokenCount: 4, candidatesTokenCount: 2, totalTokenCount: 6 }, model: 'gemini-3.8-flash' },
      ]);
    });
  });

  describe('text', () => {
    it('joins several text parts of one chunk into one text event', () => {
      const events = normalize([
        { candidates: [{ content: { parts: [{ text: 'Hel' }, { text: 'lo' }, { text: ', world' }], role: 'model' } }] },
        { candidates: [{ content: { parts: [{ text: '!' }], role: 'model' }, finishReason: 'STOP' }] },
      ]);
      expect(events).toEqual([
        { type: 'text', text: 'Hello, world' },
        { type: 'text', text: '!' },
        { type: 'done', finishReason: 'STOP', usage: noUsage },
      ]);
    });

    it('makes thought events of parts marked thought: true, and keeps their text out of text events', () => {
      const events = normalize([
        { candidates: [{ content: { parts: [{ text: 'Let me think…', thought: true }], role: 'model' } }] },
        {
          candidates: [
            {
              content: { parts: [{ text: 'Planning.', thought: true }, { text: 'Answer' }, { text: ' here' }], role: 'model' },
              finishReason: 'STOP',
            },
          ],
        },
      ]);
      expect(events).toEqual([
        { type: 'thought', text: 'Let me think…' },
        { type: 'thought', text: 'Planning.' },
        { type: 'text', text: 'Answer here' },
        { type: 'done', finishReason: 'STOP', usage: noUsage },
      ]);
    });

    it('keeps Gemini\'s order when a chunk mixes thoughts and text more than once', () => {
      const parts = [{ text: 'a', thought: true }, { text: 'b', thought: true }, { text: 'B' }, { text: 'c', thought: true }, { text: 'C' }];
      expect(normalize([{ candidates: [{ content: { parts }, finishReason: 'STOP' }] }])).toEqual([
        { type: 'thought', text: 'ab' },
        { type: 'text', text: 'B' },
        { type: 'thought', text: 'c' },
        { type: 'text', text: 'C' },
        { type: 'done', finishReason: 'STOP', usage: noUsage },
      ]);
    });

    it('puts a thought signature on the event of the part it came on, and never joins a signed part with another', () => {
      const parts = [{ text: 'One', thoughtSignature: 'c2ln' }, { text: ' two' }, { text: ' three' }];
      expect(normalize([{ candidates: [{ content: { parts }, finishReason: 'STOP' }] }])).toEqual([
        { type: 'text', text: 'One', signature: 'c2ln' },
        { type: 'text', text: ' two three' },
        { type: 'done', finishReason: 'STOP', usage: noUsage },
      ]);
    });

    it('makes an event of a signed part without text (Gemini 3\'s closing event) only for a reader that keeps signatures', () => {
      const closing = { candidates: [{ content: { parts: [{ text: '', thoughtSignature: 'c2ln' }], role: 'model' }, finishReason: 'STOP' }] };
      const items = [modernChunk('Hi'), closing];
      expect(normalize(items).map((e) => e.type)).toEqual(['text', 'done']);
      expect(normalize(items, true).slice(0, 2)).toEqual([
        { type: 'text', text: 'Hi' },
        { type: 'text', text: '', signature: 'c2ln' },
      ]);
    });

    it('emits no text event for empty text, empty parts, missing content, parts without text or no candidates', () => {
      const events = normalize([
        { candidates: [{ content: { parts: [{ text: '' }], role: 'model' } }] },
        { candidates: [{ content: { parts: [], role: 'model' } }] },
        { candidates: [{ content: { role: 'model' } }] },
        { candidates: [] },
        { usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 } },
        { candidates: [{ content: { parts: [{ text: 'Only this' }], role: 'model' }, finishReason: 'STOP' }] },
      ]);
      expect(events).toEqual([
        { type: 'text', text: 'Only this' },
        { type: 'done', finishReason: 'STOP', usage: { promptTokenCount: 1, candidatesTokenCount: 0, totalTokenCount: 1 } },
      ]);
    });

    it('passes multibyte text through unchanged', () => {
      const events = normalize([oldChunk('秋风瑟瑟，'), oldChunk('Grüße 🌍👩‍👩‍👧')]);
      expect(events).toEqual([
        { type: 'text', text: '秋风瑟瑟，' },
        { type: 'text', text: 'Grüße 🌍👩‍👩‍👧' },
        { type: 'done', finishReason: 'STOP', usage: noUsage },
      ]);
    });
  });

  describe('model', () => {
    const chunk = (text: string, modelVersion?: unknown, finishReason?: string) => ({
      candidates: [{ content: { parts: [{ text }], role: 'model' }, ...(finishReason ? { finishReason } : {}) }],
      ...(modelVersion === undefined ? {} : { modelVersion }),
    });

    it('ends with done naming the model Gemini reported, the last one it named (a rerouted call shows its target)', () => {
      const events = normalize([chunk('A', 'gemini-3.5-flash-lite'), chunk('B', 'gemini-3.5-flash-lite-001', 'STOP')]);
      expect(events.at(-1)).toEqual({ type: 'done', finishReason: 'STOP', usage: noUsage, model: 'gemini-3.5-flash-lite-001' });
    });

    it('keeps the model when later chunks (grounding, usage) name none', () => {
      const events = normalize([chunk('A', 'gemini-3.8-flash', 'STOP'), { usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 } }]);
      expect((events.at(-1) as { model?: string }).model).toBe('gemini-3.8-flash');
    });

    it('has no model field when Gemini names none, or names it with something other than a string', () => {
      for (const version of [undefined, '', 42, { id: 'x' }]) {
        const done = normalize([chunk('A', version, 'STOP')]).at(-1)!;
        expect(done.type).toBe('done');
        expect(Object.keys(done)).not.toContain('model');
      }
    });
  });

  describe('usage', () => {
    it('includes thoughtsTokenCount and cachedContentTokenCount when Gemini reports them', () => {
      const events = normalize([
        {
          candidates: [{ content: { parts: [{ text: 'Hi' }], role: 'model' }, finishReason: 'STOP' }],
          usageMetadata: {
            promptTokenCount: 120,
            candidatesTokenCount: 2,
            totalTokenCount: 162,
            thoughtsTokenCount: 40,
            cachedContentTokenCount: 100,
          },
        },
      ]);
      expect(events.at(-1)).toEqual({
        type: 'done',
        finishReason: 'STOP',
        usage: {
          promptTokenCount: 120,
          candidatesTokenCount: 2,
          totalTokenCount: 162,
          thoughtsTokenCount: 40,
          cachedContentTokenCount: 100,
        },
      });
    });

    it('includes toolUsePromptTokenCount when Gemini reports it, and leaves out a zero', () => {
      const chunk = (toolUsePromptTokenCount: number) => ({
        candidates: [{ content: { parts: [{ text: 'Found it' }], role: 'model' }, finishReason: 'STOP' }],
        usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 2, totalTokenCount: 312, toolUsePromptTokenCount },
      });
      expect(normalize([chunk(300)]).at(-1)).toEqual({
        type: 'done',
        finishReason: 'STOP',
        usage: { promptTokenCount: 10, candidatesTokenCount: 2, totalTokenCount: 312, toolUsePromptTokenCount: 300 },
      });
      expect(normalize([chunk(0)]).at(-1)).toEqual({
        type: 'done',
        finishReason: 'STOP',
        usage: { promptTokenCount: 10, candidatesTokenCount: 2, totalTokenCount: 312 },
      });
    });

    it('leaves thoughtsTokenCount and cachedContentTokenCount out when they are not reported', () => {
      const events = normalize([modernChunk('Hi', { finishReason: 'STOP', candidatesTokenCount: 1 })]);
      const done = events.at(-1);
      expect(done).toEqual({
        type: 'done',
        finishReason: 'STOP',
        usage: { promptTokenCount: 4, candidatesTokenCount: 1, totalTokenCount: 5 },
        model: 'gemini-3.8-flash',
      });
      expect(Object.keys((done as { usage: object }).usage)).toEqual(['promptTokenCount', 'candidatesTokenCount', 'totalTokenCount']);
    });

    it('uses the usage of the last chunk that reported one', () => {
      const events = normalize([
        modernChunk('A'),
        modernChunk('B', { finishReason: 'STOP', candidatesTokenCount: 2 }),
        { usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 3, totalTokenCount: 7 } },
      ]);
      expect(events.at(-1)).toEqual({
        type: 'done',
        finishReason: 'STOP',
        usage: { promptTokenCount: 4, candidatesTokenCount: 3, totalTokenCount: 7 },
        model: 'gemini-3.8-flash',
      });
    });

    it('defaults every count to 0 when Gemini reports no usage', () => {
      const events = normalize([oldChunk('Cheyenne')]);
      expect(events).toEqual([
        { type: 'text', text: 'Cheyenne' },
        { type: 'done', finishReason: 'STOP', usage: { promptTokenCount: 0, candidatesTokenCount: 0, totalTokenCount: 0 } },
      ]);
    });

    it('defaults a missing candidatesTokenCount to 0', () => {
      const events = normalize([
        {
          candidates: [{ content: { parts: [{ text: 'Cut' }], role: 'model' }, finishReason: 'MAX_TOKENS' }],
          usageMetadata: { promptTokenCount: 5, totalTokenCount: 5 },
        },
      ]);
      expect(events.at(-1)).toEqual({
        type: 'done',
        finishReason: 'MAX_TOKENS',
        usage: { promptTokenCount: 5, candidatesTokenCount: 0, totalTokenCount: 5 },
      });
    });
  });

  describe('grounding', () => {
    /** The grounding chunk as the recording has it: content {}, metadata, no finishReason. */
    const groundingChunk = (chunks: object[]) => ({
      candidates: [{ content: {}, index: 0, groundingMetadata: { searchEntryPoint: { renderedContent: '<div></div>' }, groundingChunks: chunks, webSearchQueries: ['q'] } }],
      usageMetadata: { promptTokenCount: 8, candidatesTokenCount: 106, totalTokenCount: 114 },
    });

    it('ends with done carrying the web sources, once each, in Gemini’s order', () => {
      const events = normalize([
        oldChunk('The current'),
        oldChunk(' price.'),
        groundingChunk([
          { web: { uri: 'https://a.example/1', title: 'a.example' } },
          { web: { uri: 'https://b.example/2', title: 'b.example' } },
          { web: { uri: 'https://a.example/1', title: 'a.example' } },
        ]),
      ]);
      expect(events.map((e) => e.type)).toEqual(['text', 'text', 'done']);
      expect(events.at(-1)).toMatchObject({
        finishReason: 'STOP',
        sources: [
          { title: 'a.example', url: 'https://a.example/1' },
          { title: 'b.example', url: 'https://b.example/2' },
        ],
      });
    });

    it('leaves out a source without a URL and titles one without a title by its URL', () => {
      const events = normalize([oldChunk('x'), groundingChunk([{ web: { title: 'no uri' } }, { retrievedContext: {} }, { web: { uri: 'https://c.example/' } }])]);
      expect((events.at(-1) as { sources?: unknown }).sources).toEqual([{ title: 'https://c.example/', url: 'https://c.example/' }]);
    });

    it('has no sources field when the answer was not grounded', () => {
      const events = normalize([oldChunk('plain')]);
      expect(events.at(-1)).not.toHaveProperty('sources');
    });
  });

  describe('failures', () => {
    it('ends with one upstream_unavailable error on an in-stream 500 error object, ignoring the chunks after it', () => {
      const events = normalize([
        modernChunk('Partial'),
        modernChunk(' answer'),
        inStreamError(500, 'INTERNAL', 'An internal error has occurred.'),
        modernChunk(' never shown'),
        modernChunk('.', { finishReason: 'STOP', candidatesTokenCount: 4 }),
      ]);
      expect(events).toEqual([
        { type: 'text', text: 'Partial' },
        { type: 'text', text: ' answer' },
        {
          type: 'error',
          code: 'upstream_unavailable',
          message: 'Gemini failed mid-answer (500 INTERNAL)',
        },
      ]);
    });

    it('ends with upstream_quota (Gemini\'s quota, not our rate_limited) on an in-stream 429 error object', () => {
      const events = normalize([
        modernChunk('Hel'),
        inStreamError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).'),
      ]);
      expect(events).toEqual([
        { type: 'text', text: 'Hel' },
        {
          type: 'error',
          code: 'upstream_quota',
          message: 'Gemini failed mid-answer (429 RESOURCE_EXHAUSTED)',
        },
      ]);
    });

    it.each([
      [503, 'UNAVAILABLE', 'upstream_unavailable'],
      [504, 'DEADLINE_EXCEEDED', 'upstream_unavailable'],
      [403, 'PERMISSION_DENIED', 'upstream_auth'],
      [400, 'INVALID_ARGUMENT', 'upstream_error'],
    ] as const)('maps an in-stream %i %s error object to %s', async (code, status, expected) => {
      const events = normalize([inStreamError(code, status, 'details')]);
      expect(events).toEqual([
        { type: 'error', code: expected, message: `Gemini failed mid-answer (${code} ${status})` },
      ]);
    });

    it.each([
      [
        new GeminiError('stream', 'The connection to Gemini broke off mid-answer', { code: 'upstream_disconnected' }),
        'upstream_disconnected',
      ],
      [new GeminiError('stream', 'Gemini sent a malformed stream', { code: 'upstream_malformed' }), 'upstream_malformed'],
      [new GeminiError('stream', 'Something odd'), 'upstream_error'],
      [new GeminiError('timeout', 'Gemini sent nothing for 30000 ms (between chunks)'), 'upstream_timeout'],
      [new GeminiError('aborted', 'The client closed the connection'), 'cancelled'],
      [new GeminiError('network', 'Could not reach Gemini'), 'upstream_unavailable'],
    ] as const)('ends with an error event coded %s when the adapter yields a GeminiError', async (failure, expected) => {
      const events = normalize([modernChunk('So far'), failure]);
      expect(events).toEqual([
        { type: 'text', text: 'So far' },
        { type: 'error', code: expected, message: failure.message },
      ]);
    });

    it('ends with upstream_incomplete when the stream ends without a finish reason', () => {
      const events = normalize([modernChunk('Half'), modernChunk(' an answer')]);
      expect(events).toEqual([
        { type: 'text', text: 'Half' },
        { type: 'text', text: ' an answer' },
        { type: 'error', code: 'upstream_incomplete', message: 'Gemini ended the answer without a finish reason' },
      ]);
    });

    it('ends with upstream_incomplete when the stream carries no chunk at all', () => {
      const events = normalize([]);
      expect(events).toEqual([
        { type: 'error', code: 'upstream_incomplete', message: 'Gemini ended the answer without a finish reason' },
      ]);
    });

    it('ends with a blocked error naming the reason when the prompt is blocked and there are no candidates', () => {
      const events = normalize([
        {
          promptFeedback: {
            blockReason: 'SAFETY',
            safetyRatings: [{ category: 'HARM_CATEGORY_HATE_SPEECH', probability: 'HIGH' }],
          },
        },
        modernChunk('never shown', { finishReason: 'STOP', candidatesTokenCount: 2 }),
      ]);
      expect(events).toEqual([
        { type: 'error', code: 'blocked', message: 'Gemini blocked the prompt (blockReason SAFETY)' },
      ]);
    });
  });
});

describe('chunkProblem', () => {
  it('turns an in-stream error object into an http GeminiError with its code, status and message', () => {
    const problem = chunkProblem(asChunk(inStreamError(500, 'INTERNAL', 'Internal error encountered.')));
    expect(problem).toBeInstanceOf(GeminiError);
    expect(problem).toMatchObject({
      kind: 'http',
      status: 500,
      statusText: 'INTERNAL',
      message: 'Gemini failed mid-answer (500 INTERNAL)',
    });
  });

  it('leaves out what an in-stream error object lacks', () => {
    expect(chunkProblem(asChunk({ error: { code: 503 } }))).toMatchObject({
      kind: 'http',
      status: 503,
      statusText: undefined,
      message: 'Gemini failed mid-answer (503)',
    });
  });

  it('leaves out the parentheses when an in-stream error object has neither code nor status', () => {
    expect(chunkProblem(asChunk({ error: { message: 'x' } }))?.message).toBe('Gemini failed mid-answer');
  });

  it('turns a blocked prompt with no candidates into a blocked GeminiError carrying the reason', () => {
    const problem = chunkProblem(asChunk({ promptFeedback: { blockReason: 'OTHER', safetyRatings: [] } }));
    expect(problem).toBeInstanceOf(GeminiError);
    expect(problem).toMatchObject({
      kind: 'blocked',
      reason: 'OTHER',
      message: 'Gemini blocked the prompt (blockReason OTHER)',
    });
  });

  it('finds no problem in a blockReason that comes with candidates', () => {
    const chunk = { ...oldChunk('Answer'), promptFeedback: { blockReason: 'SAFETY', safetyRatings: [] } };
    expect(chunkProblem(asChunk(chunk))).toBeUndefined();
  });

  it.each([
    ['a text chunk', modernChunk('Hello')],
    ['a final chunk', modernChunk('.', { finishReason: 'STOP', candidatesTokenCount: 1 })],
    ['a usage-only chunk', { usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 } }],
    ['an empty chunk', {}],
  ])('finds no problem in %s', (_name, chunk) => {
    expect(chunkProblem(asChunk(chunk))).toBeUndefined();
  });
});

describe('ChunkNormalizer: function calls (issue 22)', () => {
  const usage = { promptTokenCount: 5, candidatesTokenCount: 4, totalTokenCount: 9 };
  const signature = 'ZmFrZS1nZW1pbmkgdGhvdWdodCBzaWduYXR1cmUgZ2VtaW5pLTMuOC1mbGFzaCBy';
  const callChunk = (parts: object[], finishReason?: string) => ({
    candidates: [{ content: { parts, role: 'model' }, ...(finishReason ? { finishReason } : {}), index: 0 }],
    usageMetadata: usage,
  });

  it('makes a tool-call event per functionCall part, the signature on the one it came on, ids unique', () => {
    const events = normalize([
      callChunk(
        [
          { functionCall: { name: 'get_weather', args: { city: 'Oslo' } }, thoughtSignature: signature },
          { functionCall: { name: 'get_weather', args: { city: 'Rome' } } },
        ],
        'STOP',
      ),
    ]);
    expect(events).toEqual([
      { type: 'tool-call', toolCallId: expect.stringMatching(/^call_[A-Za-z0-9_-]{16}$/), name: 'get_weather', args: { city: 'Oslo' }, signature },
      { type: 'tool-call', toolCallId: expect.stringMatching(/^call_[A-Za-z0-9_-]{16}$/), name: 'get_weather', args: { city: 'Rome' } },
      { type: 'done', finishReason: 'STOP', usage },
    ]);
    const [a, b] = events as Array<{ toolCallId: string }>;
    expect(a!.toolCallId).not.toBe(b!.toolCallId);
  });

  it('keeps text before a call, and a one-part call chunk, with no signature kept when none came', () => {
    const events = normalize([
      callChunk([{ text: 'Let me look. ' }, { text: 'One moment.' }, { functionCall: { name: 'now' } }]),
      callChunk([{ functionCall: { name: 'now', args: {} } }], 'STOP'),
    ]);
    expect(events.map((e) => e.type)).toEqual(['text', 'tool-call', 'tool-call', 'done']);
    expect(events[0]).toEqual({ type: 'text', text: 'Let me look. One moment.' });
    // Gemini may leave args out for a function without parameters: the call's args are then {}.
    expect(events[1]).toMatchObject({ name: 'now', args: {} });
    expect(events[1]).not.toHaveProperty('signature');
  });

  it.each([
    ['MALFORMED_FUNCTION_CALL', /malformed function call/],
    ['UNEXPECTED_TOOL_CALL', /did not allow/],
  ])('ends a %s finish as the error tool_call_failed, on every protocol: the answer has nothing to show', (finishReason, message) => {
    const events = normalize([{ candidates: [{ finishReason, index: 0 }], usageMetadata: usage }]);
    expect(events).toEqual([{ type: 'error', code: 'tool_call_failed', message: expect.stringMatching(message) }]);
  });
});
