import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { ApiError } from '../../src/errors';
import { defaultAssistant } from '../../src/assistants/registry';
import { parseChatRequest, toGeminiCall, type ChatRequest } from '../../src/limits/chat-request';

/** The built-in assistant: no instructions, the deployment's models, any system. */
const DEFAULT = defaultAssistant();

const config = loadConfig({
  GEMINI_API_KEY: 'unit-test-key',
  GEMINI_MODEL: 'gemini-3.8-flash',
  ALLOWED_MODELS: 'gemini-3.8-flash,gemini-3.1-pro-preview',
  MAX_MESSAGE_CHARS: '100',
  MAX_OUTPUT_TOKENS: '4096',
});

/** The ApiError that parsing `body` throws, as plain fields. */
function rejection(body: unknown): { status: number; code: string; message: string } {
  try {
    parseChatRequest(body, config, DEFAULT);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const { status, code, message } = error as ApiError;
    return { status, code, message };
  }
  throw new Error(`expected parseChatRequest to reject ${JSON.stringify(body)}`);
}

const invalid = (message: string) => ({ status: 400, code: 'invalid_request', message });
const tooLarge = (message: string) => ({ status: 413, code: 'too_large', message });

const user = (text: string) => ({ role: 'user', text });
const model = (text: string) => ({ role: 'model', text });

type Case = [name: string, body: unknown, expected: { status: number; code: string; message: string }];

describe('parseChatRequest', () => {
  describe('valid bodies', () => {
    it('fills in the default model, empty history and no settings for a minimal body', () => {
      expect(parseChatRequest({ message: 'Hello' }, config, DEFAULT)).toStrictEqual({
        message: 'Hello',
        model: 'gemini-3.8-flash',
        assistant: DEFAULT,
        system: undefined,
        history: [],
        generationConfig: {},
      } satisfies ChatRequest);
    });

    it('keeps every field of a full body', () => {
      const body = {
        message: 'And in French?',
        model: 'gemini-3.1-pro-preview',
        system: 'Answer briefly.',
        history: [user('Say hi'), model('Hi!')],
        generationConfig: { temperature: 0.7, topP: 0.9, topK: 40, maxOutputTokens: 256 },
      };
      expect(parseChatRequest(body, config, DEFAULT)).toStrictEqual({
        message: 'And in French?',
        model: 'gemini-3.1-pro-preview',
        assistant: DEFAULT,
        system: 'Answer briefly.',
        history: [
          { role: 'user', text: 'Say hi' },
          { role: 'model', text: 'Hi!' },
        ],
        generationConfig: { temperature: 0.7, topP: 0.9, topK: 40, maxOutputTokens: 256 },
      } satisfies ChatRequest);
    });

    it('keeps the message exactly as sent, surrounding whitespace included', () => {
      expect(parseChatRequest({ message: '  two lines\nof text \n' }, config, DEFAULT).message).toBe('  two lines\nof text \n');
    });

    it('accepts a message, system and history text of exactly maxMessageChars', () => {
      const max = 'x'.repeat(100);
      const request = parseChatRequest({ message: max, system: max, history: [user(max), model(max)] }, config, DEFAULT);
      expect(request.message).toBe(max);
      expect(request.system).toBe(max);
      expect(request.history.map((e) => e.text)).toEqual([max, max]);
    });

    it('drops a blank system instruction', () => {
      expect(parseChatRequest({ message: 'Hi', system: '  \n ' }, config, DEFAULT).system).toBeUndefined();
    });

    it('accepts a longer alternating history', () => {
      const history = [user('1'), model('2'), user('3'), model('4')];
      expect(parseChatRequest({ message: '5', history }, config, DEFAULT).history).toEqual(history);
    });

    it('accepts the bounds of each generation setting', () => {
      expect(
        parseChatRequest({ message: 'Hi', generationConfig: { temperature: 0, topP: 0, topK: 1, maxOutputTokens: 1 } }, config, DEFAULT)
          .generationConfig,
      ).toStrictEqual({ temperature: 0, topP: 0, topK: 1, maxOutputTokens: 1 });
      expect(
        parseChatRequest(
          { message: 'Hi', generationConfig: { temperature: 2, topP: 1, topK: 1000, maxOutputTokens: 4096 } },
          config,
          DEFAULT,
        ).generationConfig,
      ).toStrictEqual({ temperature: 2, topP: 1, topK: 1000, maxOutputTokens: 4096 });
    });

    it('accepts an empty history and an empty generationConfig', () => {
      const request = parseChatRequest({ message: 'Hi', history: [], generationConfig: {} }, config, DEFAULT);
      expect(request.history).toEqual([]);
      expect(request.generationConfig).toStrictEqual({});
    });
  });

  describe('the body', () => {
    it.each<Case>([
      ['a string', 'hello', invalid('request body must be a JSON object')],
      ['a number', 42, invalid('request body must be a JSON object')],
      ['an array', [{ message: 'hi' }], invalid('request body must be a JSON object')],
      ['null', null, invalid('request body must be a JSON object')],
      ['undefined', undefined, invalid('request body must be a JSON object')],
      [
        'an object with an unknown field',
        { message: 'hi', prompt: 'hi' },
        invalid('unknown field "prompt"; allowed: message, files, model, system, history, generationConfig, thinking, assistant'),
      ],
    ])('rejects %s', (_name, body, expected) => {
      expect(rejection(body)).toEqual(expected);
    });
  });

  describe('message', () => {
    it.each<Case>([
      ['missing', {}, invalid('message is required')],
      ['not a string', { message: 42 }, invalid('message must be a string')],
      ['null', { message: null }, invalid('message must be a string')],
      ['empty', { message: '' }, invalid('message must not be empty or blank')],
      ['blank', { message: ' \n\t ' }, invalid('message must not be empty or blank')],
      ['over maxMessageChars', { message: 'x'.repeat(101) }, tooLarge('message must be at most 100 characters')],
      ['NUL characters only', { message: '\u0000\u0000' }, invalid('message must contain visible text, not only control or format characters')],
      ['control characters only', { message: '\u001b\u0007\u0008\u007f' }, invalid('message must contain visible text, not only control or format characters')],
      ['zero-width characters only', { message: '\u200b\u200d\ufeff' }, invalid('message must contain visible text, not only control or format characters')],
      ['a lone high surrogate', { message: 'hi \ud83d there' }, invalid('message must be valid Unicode text (it has a lone surrogate)')],
      ['a lone low surrogate', { message: '\ude00' }, invalid('message must be valid Unicode text (it has a lone surrogate)')],
    ])('rejects a message that is %s', (_name, body, expected) => {
      expect(rejection(body)).toEqual(expected);
    });

    it('accepts control characters among visible text, and whole surrogate pairs', () => {
      expect(parseChatRequest({ message: 'tab\there, emoji 🌍, a NUL\u0000 inside' }, config, DEFAULT).message).toBe('tab\there, emoji 🌍, a NUL\u0000 inside');
    });
  });

  describe('model', () => {
    it('rejects a model that is not a string', () => {
      expect(rejection({ message: 'hi', model: 7 })).toEqual(invalid('model must be a string'));
    });

    it('rejects a model that is not allowed with model_not_allowed, listing the allowed ones', () => {
      expect(rejection({ message: 'hi', model: 'gemini-1.0-ultra' })).toEqual({
        status: 400,
        code: 'model_not_allowed',
        message: 'model "gemini-1.0-ultra" is not allowed; allowed: gemini-3.8-flash, gemini-3.1-pro-preview',
      });
    });

    it('matches model names exactly', () => {
      expect(rejection({ message: 'hi', model: ' gemini-2.5-pro' }).code).toBe('model_not_allowed');
      expect(rejection({ message: 'hi', model: 'Gemini-2.5-Pro' }).code).toBe('model_not_allowed');
    });
  });

  describe('system', () => {
    it.each<Case>([
      ['not a string', { message: 'hi', system: ['Be brief'] }, invalid('system must be a string')],
      ['over maxMessageChars', { message: 'hi', system: 's'.repeat(101) }, tooLarge('system must be at most 100 characters')],
      ['not valid Unicode', { message: 'hi', system: 'Be \udc00 brief' }, invalid('system must be valid Unicode text (it has a lone surrogate)')],
    ])('rejects a system instruction that is %s', (_name, body, expected) => {
      expect(rejection(body)).toEqual(expected);
    });
  });

  describe('history', () => {
    it.each<Case>([
      ['not an array', { history: 'user: hi' }, invalid('history must be an array of { role, text }')],
      ['an object', { history: { 0: user('hi') } }, invalid('history must be an array of { role, text }')],
      ['holding a string entry', { history: ['hi', model('hello')] }, invalid('history[0] must be a JSON object')],
      ['holding a null entry', { history: [user('hi'), null] }, invalid('history[1] must be a JSON object')],
      ['holding an array entry', { history: [['user', 'hi']] }, invalid('history[0] must be a JSON object')],
      [
        'holding an entry with an unknown field',
        { history: [user('hi'), { role: 'model', text: 'hello', parts: [] }] },
        invalid('unknown field "history[1].parts"; allowed: role, text'),
      ],
      [
        'holding an entry with a bad role',
        { history: [{ role: 'assistant', text: 'hi' }] },
        invalid('history[0].role must be "user" or "model"'),
      ],
      [
        'holding an entry with no role',
        { history: [{ text: 'hi' }] },
        invalid('history[0].role must be "user" or "model"'),
      ],
      [
        'starting with model',
        { history: [model('hello'), user('hi')] },
        invalid('history[0].role must be "user": history alternates user/model, starting with user'),
      ],
      [
        'not alternating',
        { history: [user('hi'), user('anyone?')] },
        invalid('history[1].role must be "model": history alternates user/model, starting with user'),
      ],
      [
        'not alternating further on',
        { history: [user('1'), model('2'), model('3'), user('4')] },
        invalid('history[2].role must be "user": history alternates user/model, starting with user'),
      ],
      [
        'not ending with model',
        { history: [user('1'), model('2'), user('3')] },
        invalid('history must end with a "model" entry: the new message is the next user turn'),
      ],
      ['holding an entry with no text', { history: [{ role: 'user' }, model('2')] }, invalid('history[0].text is required')],
      [
        'holding an entry whose text is not a string',
        { history: [user('1'), { role: 'model', text: 2 }] },
        invalid('history[1].text must be a string'),
      ],
      [
        'holding an entry with blank text',
        { history: [user('1'), model('  ')] },
        invalid('history[1].text must not be empty or blank'),
      ],
      [
        'holding an entry with text over maxMessageChars',
        { history: [user('1'), model('y'.repeat(101))] },
        tooLarge('history[1].text must be at most 100 characters'),
      ],
    ])('rejects a history %s', (_name, fields, expected) => {
      expect(rejection({ message: 'hi', ...(fields as object) })).toEqual(expected);
    });
  });

  describe('generationConfig', () => {
    it.each<Case>([
      ['not an object', { generationConfig: 'creative' }, invalid('generationConfig must be a JSON object')],
      ['an array', { generationConfig: [0.5] }, invalid('generationConfig must be a JSON object')],
      ['null', { generationConfig: null }, invalid('generationConfig must be a JSON object')],
      [
        'holding an unknown field',
        { generationConfig: { temperature: 1, seed: 7 } },
        invalid('unknown field "generationConfig.seed"; allowed: temperature, topP, topK, maxOutputTokens'),
      ],
      [
        'holding a temperature below 0',
        { generationConfig: { temperature: -0.1 } },
        invalid('generationConfig.temperature must be between 0 and 2'),
      ],
      [
        'holding a temperature above 2',
        { generationConfig: { temperature: 2.01 } },
        invalid('generationConfig.temperature must be between 0 and 2'),
      ],
      [
        'holding a temperature that is a string',
        { generationConfig: { temperature: '0.5' } },
        invalid('generationConfig.temperature must be a number'),
      ],
      ['holding a topP below 0', { generationConfig: { topP: -0.5 } }, invalid('generationConfig.topP must be between 0 and 1')],
      ['holding a topP above 1', { generationConfig: { topP: 1.5 } }, invalid('generationConfig.topP must be between 0 and 1')],
      ['holding a topP of null', { generationConfig: { topP: null } }, invalid('generationConfig.topP must be a number')],
      ['holding a fractional topK', { generationConfig: { topK: 2.5 } }, invalid('generationConfig.topK must be a whole number')],
      ['holding a topK of 0', { generationConfig: { topK: 0 } }, invalid('generationConfig.topK must be between 1 and 1000')],
      [
        'holding maxOutputTokens over the MAX_OUTPUT_TOKENS cap',
        { generationConfig: { maxOutputTokens: 4097 } },
        invalid('generationConfig.maxOutputTokens must be between 1 and 4096'),
      ],
      [
        'holding maxOutputTokens of 0',
        { generationConfig: { maxOutputTokens: 0 } },
        invalid('generationConfig.maxOutputTokens must be between 1 and 4096'),
      ],
      [
        'holding fractional maxOutputTokens',
        { generationConfig: { maxOutputTokens: 10.5 } },
        invalid('generationConfig.maxOutputTokens must be a whole number'),
      ],
    ])('rejects a generationConfig %s', (_name, fields, expected) => {
      expect(rejection({ message: 'hi', ...(fields as object) })).toEqual(expected);
    });
  });

  describe('thinking', () => {
    it('takes a level or a budget, and show', () => {
      expect(parseChatRequest({ message: 'Hi', thinking: { level: 'low' } }, config, DEFAULT).thinking).toStrictEqual({ level: 'low' });
      expect(parseChatRequest({ message: 'Hi', thinking: { budget: 0 } }, config, DEFAULT).thinking).toStrictEqual({ budget: 0 });
      expect(parseChatRequest({ message: 'Hi', thinking: { level: 'high', show: true } }, config, DEFAULT).thinking).toStrictEqual({ level: 'high', show: true });
      expect(parseChatRequest({ message: 'Hi', thinking: { show: false } }, config, DEFAULT).thinking).toStrictEqual({ show: false });
      expect(parseChatRequest({ message: 'Hi', thinking: {} }, config, DEFAULT).thinking).toStrictEqual({});
      expect(parseChatRequest({ message: 'Hi' }, config, DEFAULT).thinking).toBeUndefined();
    });

    it.each<Case>([
      ['not an object', { thinking: 'high' }, invalid('thinking must be a JSON object')],
      ['both a level and a budget', { thinking: { level: 'low', budget: 1024 } }, invalid('thinking must have "level" or "budget", not both')],
      ['an unknown key', { thinking: { level: 'low', summary: true } }, invalid('unknown field "thinking.summary"; allowed: level, budget, show')],
      ['a show that is not a boolean', { thinking: { show: 'yes' } }, invalid('thinking.show must be true or false')],
      ['an unknown level', { thinking: { level: 'max' } }, invalid('thinking.level must be one of "minimal", "low", "medium", "high"')],
      ['an upper-case level', { thinking: { level: 'LOW' } }, invalid('thinking.level must be one of "minimal", "low", "medium", "high"')],
      ['a negative budget', { thinking: { budget: -1 } }, invalid('thinking.budget must be a whole number of tokens, 0 or more')],
      ['a fractional budget', { thinking: { budget: 10.5 } }, invalid('thinking.budget must be a whole number of tokens, 0 or more')],
      ['a budget that is a string', { thinking: { budget: '1024' } }, invalid('thinking.budget must be a whole number of tokens, 0 or more')],
      [
        'a level the model does not offer',
        { thinking: { level: 'minimal' } },
        invalid('thinking.level "minimal" is not offered by gemini-3.8-flash; allowed: low, medium, high'),
      ],
      ['a budget over the model\'s output ceiling', { thinking: { budget: 65_537 } }, invalid('thinking.budget must be between 0 and 65536 for gemini-3.8-flash')],
    ])('rejects %s', (_name, fields, expected) => {
      expect(rejection({ message: 'hi', ...(fields as object) })).toEqual(expected);
    });

    it('sends the model\'s thinkingConfig to Gemini', () => {
      const request = parseChatRequest({ message: 'Hi', model: 'gemini-3.1-pro-preview', thinking: { level: 'high' } }, config, DEFAULT);
      expect(toGeminiCall(request, config).generationConfig).toStrictEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingLevel: 'HIGH' } });
    });

    it('asks Gemini for thought summaries with show, with or without a level', () => {
      const shown = parseChatRequest({ message: 'Hi', thinking: { show: true } }, config, DEFAULT);
      expect(toGeminiCall(shown, config).generationConfig).toStrictEqual({ maxOutputTokens: 4096, thinkingConfig: { includeThoughts: true } });
      const both = parseChatRequest({ message: 'Hi', thinking: { level: 'low', show: true } }, config, DEFAULT);
      expect(toGeminiCall(both, config).generationConfig).toStrictEqual({ maxOutputTokens: 4096, thinkingConfig: { thinkingLevel: 'LOW', includeThoughts: true } });
    });

    it('falls back on the deployment\'s THINKING_LEVEL and SHOW_THOUGHTS, which a request overrides', () => {
      const deployed = { ...config, thinking: { level: 'high' as const, show: true } };
      const plain = parseChatRequest({ message: 'Hi' }, deployed, DEFAULT);
      expect((toGeminiCall(plain, deployed).generationConfig as { thinkingConfig?: unknown }).thinkingConfig).toStrictEqual({ thinkingLevel: 'HIGH', includeThoughts: true });
      const own = parseChatRequest({ message: 'Hi', thinking: { budget: 512, show: false } }, deployed, DEFAULT);
      expect((toGeminiCall(own, deployed).generationConfig as { thinkingConfig?: unknown }).thinkingConfig).toStrictEqual({ thinkingBudget: 512 });
    });

    it('moves a deployment level the model does not offer to its nearest level, rather than refusing the caller', () => {
      const deployed = { ...config, thinking: { level: 'minimal' as const, show: false } };
      const request = parseChatRequest({ message: 'Hi' }, deployed, DEFAULT);
      expect((toGeminiCall(request, deployed).generationConfig as { thinkingConfig?: unknown }).thinkingConfig).toStrictEqual({ thinkingLevel: 'LOW' });
    });
  });
});

describe('toGeminiCall', () => {
  it('builds contents from the history, then the new user message, and passes model and system', () => {
    const request = parseChatRequest(
      {
        message: 'And the moon?',
        model: 'gemini-3.1-pro-preview',
        system: 'Answer in one sentence.',
        history: [user('Why is the sky blue?'), model('Rayleigh scattering.')],
      },
      config,
      DEFAULT,
    );
    expect(toGeminiCall(request, config)).toStrictEqual({
      model: 'gemini-3.1-pro-preview',
      system: 'Answer in one sentence.',
      contents: [
        { role: 'user', parts: [{ text: 'Why is the sky blue?' }] },
        { role: 'model', parts: [{ text: 'Rayleigh scattering.' }] },
        { role: 'user', parts: [{ text: 'And the moon?' }] },
      ],
      generationConfig: { maxOutputTokens: 4096 },
    });
  });

  it('sends only the user message and no system instruction for a minimal request', () => {
    const request = parseChatRequest({ message: 'Hello' }, config, DEFAULT);
    expect(toGeminiCall(request, config)).toStrictEqual({
      model: 'gemini-3.8-flash',
      system: undefined,
      contents: [{ role: 'user', parts: [{ text: 'Hello' }] }],
      generationConfig: { maxOutputTokens: 4096 },
    });
  });

  it('sets maxOutputTokens to the MAX_OUTPUT_TOKENS cap when the request gives none, keeping the sampling settings for a model that honours them', () => {
    const request = parseChatRequest({ message: 'Hi', model: 'gemini-3.1-pro-preview', generationConfig: { temperature: 0.2, topK: 5 } }, config, DEFAULT);
    expect(toGeminiCall(request, config).generationConfig).toStrictEqual({ temperature: 0.2, topK: 5, maxOutputTokens: 4096 });
  });

  it("keeps the request's maxOutputTokens when it gives one", () => {
    const request = parseChatRequest({ message: 'Hi', model: 'gemini-3.1-pro-preview', generationConfig: { maxOutputTokens: 300, topP: 0.5 } }, config, DEFAULT);
    expect(toGeminiCall(request, config).generationConfig).toStrictEqual({ topP: 0.5, maxOutputTokens: 300 });
  });

  it('does not send sampling settings to a model that ignores them (Gemini deprecated them on 2026-07-21)', () => {
    const request = parseChatRequest({ message: 'Hi', generationConfig: { temperature: 0.2, topP: 0.5, topK: 5 } }, config, DEFAULT);
    expect(request.model).toBe('gemini-3.8-flash');
    expect(toGeminiCall(request, config).generationConfig).toStrictEqual({ maxOutputTokens: 4096 });
  });

  it("uses the model's own ceiling when MAX_OUTPUT_TOKENS is not set", () => {
    const open = loadConfig({});
    expect(toGeminiCall(parseChatRequest({ message: 'Hi' }, open, DEFAULT), open).generationConfig).toStrictEqual({ maxOutputTokens: 65_536 });
    expect(() => parseChatRequest({ message: 'Hi', generationConfig: { maxOutputTokens: 65_537 } }, open, DEFAULT)).toThrow(
      'generationConfig.maxOutputTokens must be between 1 and 65536',
    );
  });

  it('uses the cap of the config it is given', () => {
    const small = loadConfig({ MAX_OUTPUT_TOKENS: 512 });
    const request = parseChatRequest({ message: 'Hi' }, small, DEFAULT);
    expect(toGeminiCall(request, small).generationConfig).toStrictEqual({ maxOutputTokens: 512 });
  });
});
