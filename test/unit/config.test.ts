import { describe, expect, it, vi } from 'vitest';
import { ConfigError, GOOGLE_BASE_URL, loadConfig, type Config } from '../../src/config';
import type { Settings } from '../../src/env';

/** The ConfigError that loading `env` throws. */
function configError(env: Settings): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected loadConfig to throw for ${JSON.stringify(env)}`);
}

const DEFAULTS: Config = {
  apiKey: undefined,
  baseUrl: 'https://generativelanguage.googleapis.com',
  upstream: 'gemini',
  defaultModel: 'gemini-3.8-flash',
  allowedModels: ['gemini-3.8-flash'],
  maxOutputTokens: undefined,
  thinking: { level: undefined, show: false },
  modelWarnings: [],
  maxMessageChars: 32_000,
  maxBodyBytes: 1_048_576,
  upstreamTimeoutMs: 60_000,
  upstreamIdleTimeoutMs: 30_000,
  heartbeatMs: 15_000,
  maxContextChars: 100_000,
  resumeGraceMs: 10_000,
  allowedOrigins: new Set(),
  rateLimitPerMinute: 20,
  chatCreatePerMinute: 10,
  dailyTokenBudget: 200_000,
  maxFileBytes: 10_485_760,
  maxFilesPerMessage: 5,
  maxInlineBytes: 8_388_608,
  dailyUploadBytes: 104_857_600,
  deploymentBudget: { daily: 0, monthly: 0, reserve: 16_384, shards: 16, alertUrl: undefined },
  openaiCompatKeys: [],
  adminKey: undefined,
  adminShowTranscripts: false,
  turnstile: undefined,
  tools: { signingSecret: undefined, timeoutMs: 10_000, maxResponseBytes: 65_536, maxRounds: 5, pageTimeoutMs: 60_000 },
};

const NUMERIC = [
  ['MAX_OUTPUT_TOKENS', 'maxOutputTokens'],
  ['MAX_MESSAGE_CHARS', 'maxMessageChars'],
  ['MAX_BODY_BYTES', 'maxBodyBytes'],
  ['UPSTREAM_TIMEOUT_MS', 'upstreamTimeoutMs'],
  ['UPSTREAM_IDLE_TIMEOUT_MS', 'upstreamIdleTimeoutMs'],
  ['SSE_HEARTBEAT_MS', 'heartbeatMs'],
  ['MAX_CONTEXT_CHARS', 'maxContextChars'],
  ['RESUME_GRACE_MS', 'resumeGraceMs'],
  ['MAX_FILE_BYTES', 'maxFileBytes'],
  ['MAX_INLINE_BYTES', 'maxInlineBytes'],
] as const;

describe('loadConfig', () => {
  describe('defaults', () => {
    it('uses the documented defaults when nothing is set', () => {
      expect(loadConfig({})).toStrictEqual(DEFAULTS);
    });

    it('treats empty strings as unset', () => {
      const env: Settings = {
        GEMINI_API_KEY: '',
        GOOGLE_AI_API_KEY: '',
        GEMINI_BASE_URL: '',
        GEMINI_MODEL: '',
        ALLOWED_MODELS: '',
        MAX_OUTPUT_TOKENS: '',
        MAX_MESSAGE_CHARS: '',
        MAX_BODY_BYTES: '',
        UPSTREAM_TIMEOUT_MS: '',
        UPSTREAM_IDLE_TIMEOUT_MS: '',
        SSE_HEARTBEAT_MS: '',
      };
      expect(loadConfig(env)).toStrictEqual(DEFAULTS);
    });

    it('exports Google\'s API origin as the default base URL', () => {
      expect(GOOGLE_BASE_URL).toBe('https://generativelanguage.googleapis.com');
    });
  });

  describe('API key', () => {
    it('reads GEMINI_API_KEY', () => {
      expect(loadConfig({ GEMINI_API_KEY: 'key-a' }).apiKey).toBe('key-a');
    });

    it('accepts GOOGLE_AI_API_KEY as a fallback', () => {
      expect(loadConfig({ GOOGLE_AI_API_KEY: 'key-b' }).apiKey).toBe('key-b');
    });

    it('prefers GEMINI_API_KEY when both are set', () => {
      expect(loadConfig({ GEMINI_API_KEY: 'key-a', GOOGLE_AI_API_KEY: 'key-b' }).apiKey).toBe('key-a');
    });

    it('falls back to GOOGLE_AI_API_KEY when GEMINI_API_KEY is blank', () => {
      expect(loadConfig({ GEMINI_API_KEY: '   ', GOOGLE_AI_API_KEY: 'key-b' }).apiKey).toBe('key-b');
    });

    it('leaves apiKey undefined when every key is blank', () => {
      expect(loadConfig({ GEMINI_API_KEY: ' ', GOOGLE_AI_API_KEY: '\n\t' }).apiKey).toBeUndefined();
    });

    it('trims whitespace around the key', () => {
      expect(loadConfig({ GEMINI_API_KEY: '  key-a\n' }).apiKey).toBe('key-a');
    });
  });

  describe('models', () => {
    it('parses ALLOWED_MODELS trimmed and deduplicated, with GEMINI_MODEL first', () => {
      const config = loadConfig({
        GEMINI_MODEL: 'gemini-3.8-flash',
        ALLOWED_MODELS: ' gemini-3.1-pro-preview , gemini-3.8-flash,gemini-3.1-pro-preview,, gemini-3.5-flash-lite ,',
      });
      expect(config.defaultModel).toBe('gemini-3.8-flash');
      expect(config.allowedModels).toEqual(['gemini-3.8-flash', 'gemini-3.1-pro-preview', 'gemini-3.5-flash-lite']);
    });

    it('always allows GEMINI_MODEL, even when ALLOWED_MODELS leaves it out', () => {
      const config = loadConfig({ GEMINI_MODEL: 'gemini-3.1-pro-preview', ALLOWED_MODELS: 'gemini-3.8-flash' });
      expect(config.defaultModel).toBe('gemini-3.1-pro-preview');
      expect(config.allowedModels).toEqual(['gemini-3.1-pro-preview', 'gemini-3.8-flash']);
    });

    it('always allows the default model when GEMINI_MODEL is not set', () => {
      expect(loadConfig({ ALLOWED_MODELS: 'gemini-3.1-pro-preview' }).allowedModels).toEqual(['gemini-3.8-flash', 'gemini-3.1-pro-preview']);
    });

    it('trims GEMINI_MODEL', () => {
      expect(loadConfig({ GEMINI_MODEL: ' gemini-3.6-flash ' }).defaultModel).toBe('gemini-3.6-flash');
    });

    it('rejects a GEMINI_MODEL with spaces, naming the setting', () => {
      const error = configError({ GEMINI_MODEL: 'gemini 3.8 flash' });
      expect(error.message).toContain('GEMINI_MODEL');
      expect(error.message).toContain('"gemini 3.8 flash"');
    });

    it.each(['gemini pro', 'models/gemini-3.8-flash', '-gemini'])('rejects "%s" in ALLOWED_MODELS, naming the setting', (model) => {
      const error = configError({ ALLOWED_MODELS: `gemini-3.8-flash,${model}` });
      expect(error.message).toContain('ALLOWED_MODELS');
      expect(error.message).toContain(`"${model}"`);
    });

    it('refuses a retired GEMINI_MODEL, naming when it was shut down and its replacement', () => {
      expect(configError({ GEMINI_MODEL: 'gemini-2.0-flash' }).message).toBe(
        'GEMINI_MODEL names "gemini-2.0-flash", which Gemini shut down on 2026-06-01; use "gemini-3.8-flash" instead',
      );
    });

    it.each(['gemini-1.5-flash', 'gemini-2.5-pro-preview-06-05', 'gemini-3.1-flash-lite-preview'])(
      'refuses the retired model %s in ALLOWED_MODELS',
      (model) => {
        const message = configError({ ALLOWED_MODELS: `gemini-3.8-flash,${model}` }).message;
        expect(message.startsWith(`ALLOWED_MODELS names "${model}", which Gemini shut down on `)).toBe(true);
        expect(message).toMatch(/ on \d{4}-\d{2}-\d{2}; use "gemini-3[\w.-]+" instead$/);
      },
    );

    it('allows a rerouted model, with a warning naming the model that answers', () => {
      const config = loadConfig({ GEMINI_MODEL: 'gemini-flash-latest', ALLOWED_MODELS: 'gemini-2.5-flash,gemini-3.8-flash' });
      expect(config.allowedModels).toEqual(['gemini-flash-latest', 'gemini-2.5-flash', 'gemini-3.8-flash']);
      expect(config.modelWarnings).toEqual([
        "gemini-flash-latest is answered by gemini-3.8-flash (a rolling alias), at gemini-3.8-flash's price and rules; name gemini-3.8-flash to pin it",
        "gemini-2.5-flash is answered by gemini-3.5-flash-lite (only for projects that used gemini-2.5-flash before; new projects get a 404), at gemini-3.5-flash-lite's price and rules; name gemini-3.5-flash-lite to pin it",
      ]);
    });

    it('logs each warning once per set of bindings, as a model_lifecycle line', () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      try {
        const env: Settings = { GEMINI_MODEL: 'gemini-3.7-flash' };
        loadConfig(env);
        loadConfig(env);
        expect(warn.mock.calls.map(([line]) => JSON.parse(String(line)))).toEqual([
          {
            level: 'warn',
            event: 'model_lifecycle',
            message: "gemini-3.7-flash is answered by gemini-3.8-flash, at gemini-3.8-flash's price and rules; name gemini-3.8-flash to pin it",
          },
        ]);
      } finally {
        warn.mockRestore();
      }
    });

    it('allows a model it does not know (a newer one), without a warning', () => {
      const config = loadConfig({ GEMINI_MODEL: 'gemini-4.2-flash' });
      expect(config.defaultModel).toBe('gemini-4.2-flash');
      expect(config.modelWarnings).toEqual([]);
    });
  });

  describe('base URL and upstream', () => {
    it.each([
      ['http://127.0.0.1:8787', 'http://127.0.0.1:8787'],
      ['http://127.0.0.5:9000/', 'http://127.0.0.5:9000'],
      ['http://localhost:8787', 'http://localhost:8787'],
      ['https://localhost', 'https://localhost'],
      ['http://[::1]:8787', 'http://[::1]:8787'],
    ])('marks the loopback base URL %s as the fake upstream', (raw, baseUrl) => {
      const config = loadConfig({ GEMINI_BASE_URL: raw });
      expect(config.upstream).toBe('fake');
      expect(config.baseUrl).toBe(baseUrl);
    });

    it.each([
      'https://generativelanguage.googleapis.com',
      'https://gemini-proxy.example.com',
      'http://localhost.example.com',
      'http://127.0.0.1.example.com',
      'http://10.0.0.1:8080',
    ])('marks %s as the real gemini upstream', (raw) => {
      const config = loadConfig({ GEMINI_BASE_URL: raw });
      expect(config.upstream).toBe('gemini');
      expect(config.baseUrl).toBe(raw);
    });

    it.each([
      ['https://gemini-proxy.example.com/', 'https://gemini-proxy.example.com'],
      ['https://gemini-proxy.example.com/google//', 'https://gemini-proxy.example.com/google'],
      ['  http://127.0.0.1:8787/  ', 'http://127.0.0.1:8787'],
    ])('removes the trailing slash from %j', (raw, baseUrl) => {
      expect(loadConfig({ GEMINI_BASE_URL: raw }).baseUrl).toBe(baseUrl);
    });

    it.each(['not a url', 'ftp://x', 'file:///etc/passwd', '/v1beta'])('rejects GEMINI_BASE_URL %j, naming the setting', (raw) => {
      expect(configError({ GEMINI_BASE_URL: raw }).message).toBe('GEMINI_BASE_URL must be an absolute http(s) URL');
    });
  });

  describe('numeric settings', () => {
    it.each(NUMERIC)('reads %s from a string', (name, field) => {
      expect(loadConfig({ [name]: '4096' })[field]).toBe(4096);
    });

    it.each(NUMERIC)('reads %s from a number', (name, field) => {
      expect(loadConfig({ [name]: 2500 })[field]).toBe(2500);
    });

    it('trims whitespace around a numeric string', () => {
      expect(loadConfig({ MAX_MESSAGE_CHARS: ' 2000\n' }).maxMessageChars).toBe(2000);
    });

    it('treats a blank numeric setting as unset', () => {
      expect(loadConfig({ MAX_OUTPUT_TOKENS: '   ' }).maxOutputTokens).toBeUndefined();
    });

    it('leaves the other numeric settings at their defaults when one is set', () => {
      expect(loadConfig({ MAX_OUTPUT_TOKENS: '1024' })).toStrictEqual({ ...DEFAULTS, maxOutputTokens: 1024 });
    });

    const bad: Array<string | number> = ['abc', '0', '-5', '1.5', '12px', '0x10', '1e3', 0, -1, 1.5, Number.NaN];
    const cases = NUMERIC.flatMap(([name]) => bad.map((value) => [name, value] as const));
    it.each(cases)('rejects %s = %j with a ConfigError naming the setting', (name, value) => {
      expect(configError({ [name]: value }).message).toBe(`${name} must be a positive whole number, got "${value}"`);
    });
  });

  describe('limits', () => {
    it.each([
      ['RATE_LIMIT_PER_MINUTE', 'rateLimitPerMinute'],
      ['CHAT_CREATE_PER_MINUTE', 'chatCreatePerMinute'],
      ['DAILY_TOKEN_BUDGET', 'dailyTokenBudget'],
    ] as const)('reads %s, and 0 as "off"', (name, key) => {
      expect(loadConfig({ [name]: '7' })[key]).toBe(7);
      expect(loadConfig({ [name]: '0' })[key]).toBe(0);
      expect(configError({ [name]: '-1' }).message).toBe(`${name} must be a non-negative whole number (0 turns it off), got "-1"`);
    });
  });

  describe('settings that may hold a secret', () => {
    // Regression: a malformed SPEND_ALERT_URL was quoted in the error, which app.onError shows every caller.
    it.each([
      ['SPEND_ALERT_URL', 'hooks.example.com/services/T0/B0/webhook-secret-0123456789'],
      ['GEMINI_BASE_URL', 'gateway.example.com/token/gateway-secret-0123456789'],
      ['GEMINI_BASE_URL', 'ftp://user:gateway-secret-0123456789@gateway.example.com'],
      ['TURNSTILE_VERIFY_URL', 'verify.example.com/verify-secret-0123456789'],
    ])('names %s when malformed, never its value', (name, value) => {
      const turnstile = name.startsWith('TURNSTILE') ? { TURNSTILE_SITE_KEY: 'site', TURNSTILE_SECRET_KEY: 'secret' } : {};
      const { message } = configError({ ...turnstile, [name]: value });
      expect(message).toBe(`${name} must be an absolute http(s) URL`);
      expect(message).not.toContain('secret-0123456789');
    });
  });

  describe('ALLOWED_ORIGINS', () => {
    it('allows no other origin by default', () => {
      expect(loadConfig({}).allowedOrigins).toStrictEqual(new Set());
    });

    it('parses a comma list of exact origins, trimmed, ports kept', () => {
      const { allowedOrigins } = loadConfig({ ALLOWED_ORIGINS: ' https://example.com, http://localhost:5173 ,https://a.b.example:8443' });
      expect(allowedOrigins).toStrictEqual(new Set(['https://example.com', 'http://localhost:5173', 'https://a.b.example:8443']));
    });

    it('reads "*" as any origin', () => {
      expect(loadConfig({ ALLOWED_ORIGINS: ' * ' }).allowedOrigins).toBe('*');
    });

    it('refuses "*" mixed with origins', () => {
      expect(configError({ ALLOWED_ORIGINS: '*,https://example.com' }).message).toMatch(/^ALLOWED_ORIGINS must be "\*" alone/);
    });

    it.each([
      ['https://example.com/', 'https://example.com'],
      ['https://example.com/app', 'https://example.com'],
      ['https://Example.com', 'https://example.com'],
      ['https://example.com:443', 'https://example.com'],
    ])('refuses %s, naming the setting and the origin it meant', (given, meant) => {
      const { message } = configError({ ALLOWED_ORIGINS: `https://ok.example,${given}` });
      expect(message).toContain('ALLOWED_ORIGINS must list origins like "https://example.com"');
      expect(message).toContain(`got "${given}" (did you mean "${meant}"?)`);
    });

    it.each(['example.com', 'ftp://example.com', '*.example.com', 'null'])('refuses %s', (given) => {
      expect(configError({ ALLOWED_ORIGINS: given }).message).toContain(`got "${given}"`);
    });
  });

  describe('OPENAI_COMPAT_KEYS', () => {
    const key = (c: string) => c.repeat(20);

    it('is off (no keys) when unset or blank', () => {
      expect(loadConfig({}).openaiCompatKeys).toEqual([]);
      expect(loadConfig({ OPENAI_COMPAT_KEYS: ' , ' }).openaiCompatKeys).toEqual([]);
    });

    it('reads a comma list of keys, trimmed', () => {
      expect(loadConfig({ OPENAI_COMPAT_KEYS: ` ${key('a')} ,${key('b')}` }).openaiCompatKeys).toEqual([key('a'), key('b')]);
    });

    it.each([
      ['a short key', 'short-key'],
      ['a key with a space', 'sk-gemini-edge with-space'],
      ['a key with a non-ASCII character', 'sk-gemini-edge-schlüssel'],
    ])('refuses %s, naming its place in the list but never the key', (_, bad) => {
      const { message } = configError({ OPENAI_COMPAT_KEYS: `${key('a')},${bad}` });
      expect(message).toBe('OPENAI_COMPAT_KEYS must list keys of at least 16 visible ASCII characters, without spaces; key 2 is not one');
      expect(message).not.toContain(bad);
    });
  });

  describe('thinking defaults', () => {
    it('reads THINKING_LEVEL (any case) and SHOW_THOUGHTS (a word or a TOML boolean)', () => {
      expect(loadConfig({ THINKING_LEVEL: 'High', SHOW_THOUGHTS: 'true' }).thinking).toStrictEqual({ level: 'high', show: true });
      expect(loadConfig({ SHOW_THOUGHTS: true }).thinking).toStrictEqual({ level: undefined, show: true });
      expect(loadConfig({ THINKING_LEVEL: ' ', SHOW_THOUGHTS: 'false' }).thinking).toStrictEqual({ level: undefined, show: false });
    });

    it('refuses a level that is not one of the four, and a SHOW_THOUGHTS that is not a boolean', () => {
      expect(configError({ THINKING_LEVEL: 'max' }).message).toBe(
        'THINKING_LEVEL must be one of minimal, low, medium, high (or unset: each model\'s default), got "max"',
      );
      expect(configError({ SHOW_THOUGHTS: 'yes' }).message).toBe('SHOW_THOUGHTS must be true or false, got "yes"');
    });
  });

  describe('caching', () => {
    it('returns the same config object for the same env object', () => {
      const env: Settings = { GEMINI_API_KEY: 'key-a', MAX_OUTPUT_TOKENS: '1024' };
      const first = loadConfig(env);
      expect(loadConfig(env)).toBe(first);
    });

    it('parses a different env object afresh, even with equal contents', () => {
      const first = loadConfig({ GEMINI_API_KEY: 'key-a' });
      const second = loadConfig({ GEMINI_API_KEY: 'key-a' });
      expect(second).not.toBe(first);
      expect(second).toStrictEqual(first);
    });

    it('does not cache a failure: the same bad env throws every time', () => {
      const env: Settings = { MAX_BODY_BYTES: 'lots' };
      expect(configError(env).message).toBe('MAX_BODY_BYTES must be a positive whole number, got "lots"');
      expect(configError(env).message).toBe('MAX_BODY_BYTES must be a positive whole number, got "lots"');
    });
  });

  it('throws ConfigError, an Error named ConfigError', () => {
    const error = configError({ MAX_OUTPUT_TOKENS: 'abc' });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
  });
});
