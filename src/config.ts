import type { Settings } from './env';
import { ASSISTANTS } from '#assistants';
import type { ThinkingDefaults } from './gemini/generation-config';
import { DEFAULT_MODEL, lifecycleWarning, modelInfo } from './gemini/models';
import type { ThinkingEffort } from './protocol/messages';
import type { DeploymentBudgetSettings } from './limits/deployment-budget';
import { DEFAULT_SCRIPT_URL, DEFAULT_VERIFY_URL, type TurnstileSettings } from './limits/turnstile';

export const GOOGLE_BASE_URL = 'https://generativelanguage.googleapis.com';

/** Settings, parsed and checked once per set of bindings. */
export interface Config {
  /** Undefined when no key is configured: model calls then fail with `not_configured`. */
  apiKey: string | undefined;
  baseUrl: string;
  /** `fake` when the base URL points at this machine (the built-in fake Gemini). */
  upstream: 'gemini' | 'fake';
  defaultModel: string;
  allowedModels: readonly string[];
  /** `MAX_OUTPUT_TOKENS`, a cost cap below each model's own ceiling; undefined: the model's ceiling. */
  maxOutputTokens: number | undefined;
  /** THINKING_LEVEL and SHOW_THOUGHTS: how models think, and whether the summary is streamed, when a request does not say. */
  thinking: ThinkingDefaults;
  /** What the catalogue says of configured models that still answer but should change (rerouted, going away). */
  modelWarnings: readonly string[];
  maxMessageChars: number;
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
  upstreamIdleTimeoutMs: number;
  heartbeatMs: number;
  /** Most characters of stored history sent with a chat turn (the newest turns that fit). */
  maxContextChars: number;
  /** How long a chat turn runs on with nobody listening, waiting for a reconnect. */
  resumeGraceMs: number;
  /** Origins whose pages may call `/api/*` (besides the Worker's own): `'*'` for any. */
  allowedOrigins: ReadonlySet<string> | '*';
  /** Requests a client may make per minute to the routes that call Gemini; 0: no limit. */
  rateLimitPerMinute: number;
  /** Chats a client may create per minute; 0: no limit. */
  chatCreatePerMinute: number;
  /** Tokens a client may spend per UTC day; 0: no budget. */
  dailyTokenBudget: number;
  /** Largest file a client may send, in bytes. */
  maxFileBytes: number;
  /** Files one message may carry; 0: the deployment takes no files. */
  maxFilesPerMessage: number;
  /**
   * Most file bytes carried inline (base64) in one request: into the Worker (a JSON body's
   * files, all together) and out to Gemini (beyond it, files go by the Gemini Files API).
   */
  maxInlineBytes: number;
  /** File bytes a client may upload per UTC day; 0: no limit. */
  dailyUploadBytes: number;
  /** The cap for the whole deployment (docs/limits.md); `daily` and `monthly` 0: off. */
  deploymentBudget: DeploymentBudgetSettings;
  /** Bearer keys of the OpenAI-compatible API (`/v1/*`); empty: the API is off and its routes answer 404. */
  openaiCompatKeys: readonly string[];
  /** ADMIN_KEY: the owner's key to the dashboard (`/admin`); undefined: `/admin*` answers 404 and nothing is counted. */
  adminKey: string | undefined;
  /** ADMIN_SHOW_TRANSCRIPTS: rated answers keep their question and answer for the dashboard (default false). */
  adminShowTranscripts: boolean;
  /** Turnstile on the public routes (docs/turnstile.md); undefined: off (no keys). */
  turnstile: TurnstileSettings | undefined;
  /** How assistants' tool endpoints are called (docs/assistants.md, "Tools"). */
  tools: ToolSettings;
}

/** TOOLS_*: how the chat's Durable Object calls an assistant's tool endpoints. */
export interface ToolSettings {
  /** TOOLS_SIGNING_SECRET; undefined: no call is made, each is an error result. */
  signingSecret: string | undefined;
  timeoutMs: number;
  maxResponseBytes: number;
  maxRounds: number;
  /** TOOLS_PAGE_TIMEOUT_MS: how long a page-side call waits for the page's result. */
  pageTimeoutMs: number;
}

/** A setting that cannot be used; the message names it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const cache = new WeakMap<Settings, Config>();

/**
 * Parses the bindings into a {@link Config}, once per `env` object.
 * @throws {ConfigError} naming the first bad setting
 */
export function loadConfig(env: Settings): Config {
  let config = cache.get(env);
  if (!config) {
    config = parseConfig(env);
    cache.set(env, config);
    // Once per set of bindings (an isolate's life, in practice): a model that answers as another, or is going away.
    for (const message of config.modelWarnings) console.warn(JSON.stringify({ level: 'warn', event: 'model_lifecycle', message }));
  }
  return config;
}

function parseConfig(env: Settings): Config {
  const apiKey = nonEmpty(env.GEMINI_API_KEY) ?? nonEmpty(env.GOOGLE_AI_API_KEY);
  const baseUrl = parseBaseUrl(env.GEMINI_BASE_URL);
  const defaultModel = nonEmpty(env.GEMINI_MODEL) ?? DEFAULT_MODEL;
  const listed = (env.ALLOWED_MODELS ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  // The default model is always allowed, so a deployment cannot lock itself out.
  const allowedModels = [...new Set([defaultModel, ...listed])];
  for (const model of allowedModels) checkModel(model, model === defaultModel ? 'GEMINI_MODEL' : 'ALLOWED_MODELS');
  // An assistant's models are its own (they need not be in ALLOWED_MODELS), checked the same way.
  for (const assistant of ASSISTANTS) {
    for (const model of [assistant.model, ...assistant.models]) if (model) checkModel(model, `assistants/${assistant.name}/assistant.md`);
  }
  return {
    apiKey,
    baseUrl,
    upstream: isLoopback(baseUrl) ? 'fake' : 'gemini',
    defaultModel,
    allowedModels,
    maxOutputTokens: optionalPositiveInt(env, 'MAX_OUTPUT_TOKENS'),
    thinking: { level: parseThinkingLevel(env.THINKING_LEVEL), show: parseBoolean(env.SHOW_THOUGHTS, 'SHOW_THOUGHTS', false) },
    modelWarnings: allowedModels.map(lifecycleWarning).filter((w): w is string => w !== undefined),
    maxMessageChars: positiveInt(env, 'MAX_MESSAGE_CHARS', 32_000),
    maxBodyBytes: positiveInt(env, 'MAX_BODY_BYTES', 1_048_576),
    upstreamTimeoutMs: positiveInt(env, 'UPSTREAM_TIMEOUT_MS', 60_000),
    upstreamIdleTimeoutMs: positiveInt(env, 'UPSTREAM_IDLE_TIMEOUT_MS', 30_000),
    heartbeatMs: positiveInt(env, 'SSE_HEARTBEAT_MS', 15_000),
    maxContextChars: positiveInt(env, 'MAX_CONTEXT_CHARS', 100_000),
    resumeGraceMs: positiveInt(env, 'RESUME_GRACE_MS', 10_000),
    allowedOrigins: parseAllowedOrigins(env.ALLOWED_ORIGINS),
    rateLimitPerMinute: wholeNumber(env, 'RATE_LIMIT_PER_MINUTE', 20, 0),
    chatCreatePerMinute: wholeNumber(env, 'CHAT_CREATE_PER_MINUTE', 10, 0),
    dailyTokenBudget: wholeNumber(env, 'DAILY_TOKEN_BUDGET', 200_000, 0),
    maxFileBytes: positiveInt(env, 'MAX_FILE_BYTES', 10 * MIB),
    maxFilesPerMessage: wholeNumber(env, 'MAX_FILES_PER_MESSAGE', 5, 0),
    maxInlineBytes: inlineBytes(env),
    dailyUploadBytes: wholeNumber(env, 'DAILY_UPLOAD_BYTES', 100 * MIB, 0),
    deploymentBudget: parseDeploymentBudget(env),
    openaiCompatKeys: parseCompatKeys(env.OPENAI_COMPAT_KEYS),
    adminKey: parseAdminKey(env.ADMIN_KEY),
    adminShowTranscripts: parseBoolean(env.ADMIN_SHOW_TRANSCRIPTS, 'ADMIN_SHOW_TRANSCRIPTS', false),
    turnstile: parseTurnstile(env),
    tools: {
      signingSecret: nonEmpty(env.TOOLS_SIGNING_SECRET),
      timeoutMs: positiveInt(env, 'TOOLS_TIMEOUT_MS', 10_000),
      maxResponseBytes: positiveInt(env, 'TOOLS_MAX_RESPONSE_BYTES', 65_536),
      maxRounds: positiveInt(env, 'TOOLS_MAX_ROUNDS', 5),
      pageTimeoutMs: positiveInt(env, 'TOOLS_PAGE_TIMEOUT_MS', 60_000),
    },
  };
}

/** Longest TURNSTILE_SESSION_MINUTES: a day; a session is meant to be short-lived. */
const MAX_SESSION_MINUTES = 24 * 60;

/** TURNSTILE_SITE_KEY and TURNSTILE_SECRET_KEY together turn Turnstile on; one without the other is a mistake. */
function parseTurnstile(env: Settings): TurnstileSettings | undefined {
  const siteKey = nonEmpty(env.TURNSTILE_SITE_KEY);
  const secretKey = nonEmpty(env.TURNSTILE_SECRET_KEY);
  if (siteKey === undefined && secretKey === undefined) return undefined;
  if (siteKey === undefined) throw new ConfigError('TURNSTILE_SECRET_KEY is set but TURNSTILE_SITE_KEY is not: set both (or neither, for no Turnstile)');
  if (secretKey === undefined) throw new ConfigError('TURNSTILE_SITE_KEY is set but TURNSTILE_SECRET_KEY is not: set both (or neither, for no Turnstile)');
  const url = (name: 'TURNSTILE_VERIFY_URL' | 'TURNSTILE_SCRIPT_URL', fallback: string) => {
    const value = nonEmpty(env[name]) ?? fallback;
    if (!/^https?:\/\/[^/]/.test(value)) throw new ConfigError(`${name} must be an absolute http(s) URL`);
    return value;
  };
  const sessionMinutes = positiveInt(env, 'TURNSTILE_SESSION_MINUTES', 30);
  if (sessionMinutes > MAX_SESSION_MINUTES) throw new ConfigError(`TURNSTILE_SESSION_MINUTES must be at most ${MAX_SESSION_MINUTES} (a day), got "${env.TURNSTILE_SESSION_MINUTES}"`);
  return { siteKey, secretKey, verifyUrl: url('TURNSTILE_VERIFY_URL', DEFAULT_VERIFY_URL), scriptUrl: url('TURNSTILE_SCRIPT_URL', DEFAULT_SCRIPT_URL), sessionMinutes };
}

/** Most shards DEPLOYMENT_BUDGET_SHARDS takes: the coordinator reclaims from each near the end. */
const MAX_BUDGET_SHARDS = 256;

function parseDeploymentBudget(env: Settings): DeploymentBudgetSettings {
  const daily = wholeNumber(env, 'DEPLOYMENT_DAILY_TOKEN_BUDGET', 0, 0);
  const monthly = wholeNumber(env, 'DEPLOYMENT_MONTHLY_TOKEN_BUDGET', 0, 0);
  const shards = positiveInt(env, 'DEPLOYMENT_BUDGET_SHARDS', 16);
  if (shards > MAX_BUDGET_SHARDS) throw new ConfigError(`DEPLOYMENT_BUDGET_SHARDS must be at most ${MAX_BUDGET_SHARDS}, got "${env.DEPLOYMENT_BUDGET_SHARDS}"`);
  const reserve = positiveInt(env, 'DEPLOYMENT_ANSWER_RESERVE', 16_384);
  const url = nonEmpty(env.SPEND_ALERT_URL);
  // Not quoted: a webhook's URL carries its secret, and app.onError shows this message to every caller.
  if (url !== undefined && !/^https?:\/\/[^/]/.test(url)) throw new ConfigError('SPEND_ALERT_URL must be an absolute http(s) URL');
  // A cap smaller than one reservation would admit nothing: it holds the whole cap instead.
  const smallest = Math.min(...[daily, monthly].filter((cap) => cap > 0));
  return { daily, monthly, reserve: Math.min(reserve, smallest), shards, alertUrl: url };
}

const MIB = 1024 * 1024;

/**
 * Gemini's own limit on a request's inline data (docs/files.md): MAX_INLINE_BYTES may not pass
 * it, base64 included.
 */
export const GEMINI_INLINE_LIMIT_BYTES = 100 * 1000 * 1000;

function inlineBytes(env: Settings): number {
  const bytes = positiveInt(env, 'MAX_INLINE_BYTES', 8 * MIB);
  if (Math.ceil(bytes / 3) * 4 > GEMINI_INLINE_LIMIT_BYTES - MIB) {
    throw new ConfigError(`MAX_INLINE_BYTES must leave a Gemini request under its inline limit of ${GEMINI_INLINE_LIMIT_BYTES} bytes (base64), got "${env.MAX_INLINE_BYTES}"`);
  }
  return bytes;
}

/**
 * A model name a deployment may use: well formed, and not one the catalogue
 * knows to be shut down (found here, not by the first visitor's 404).
 * @throws {ConfigError} naming the setting, the model and its replacement
 */
function checkModel(model: string, setting: string): void {
  if (!/^[a-z0-9][a-z0-9.\-_]*$/i.test(model)) {
    throw new ConfigError(`GEMINI_MODEL and ALLOWED_MODELS must hold model names like "${DEFAULT_MODEL}", got "${model}"`);
  }
  const { lifecycle } = modelInfo(model);
  if (lifecycle.stage === 'retired') {
    throw new ConfigError(
      `${setting} names "${model}", which Gemini shut down on ${lifecycle.since}; use "${lifecycle.replacement}" instead`,
    );
  }
}

const THINKING_LEVELS: readonly ThinkingEffort[] = ['minimal', 'low', 'medium', 'high'];

/** `THINKING_LEVEL`: one of the four levels, or unset (each model's own default). */
function parseThinkingLevel(value: string | undefined): ThinkingEffort | undefined {
  const level = nonEmpty(value)?.toLowerCase();
  if (level === undefined) return undefined;
  if (!THINKING_LEVELS.includes(level as ThinkingEffort)) {
    throw new ConfigError(`THINKING_LEVEL must be one of ${THINKING_LEVELS.join(', ')} (or unset: each model's default), got "${value}"`);
  }
  return level as ThinkingEffort;
}

/** `true` or `false` (a bare TOML boolean, or the word); `fallback` when unset. */
function parseBoolean(value: string | boolean | undefined, name: string, fallback: boolean): boolean {
  if (typeof value === 'boolean') return value;
  const text = nonEmpty(value)?.toLowerCase();
  if (text === undefined) return fallback;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new ConfigError(`${name} must be true or false, got "${value}"`);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function parseBaseUrl(value: string | undefined): string {
  const raw = nonEmpty(value);
  if (!raw) return GOOGLE_BASE_URL;
  // Not quoted in the error: a gateway's URL may carry a credential, and every caller sees a config error.
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) throw new ConfigError('GEMINI_BASE_URL must be an absolute http(s) URL');
  return raw.replace(/\/+$/, '');
}

/**
 * `ALLOWED_ORIGINS`: empty (no other origin), `*`, or a comma list of exact
 * origins as a browser sends them in `Origin`: scheme, host and port only.
 */
function parseAllowedOrigins(value: string | undefined): ReadonlySet<string> | '*' {
  const listed = (value ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  if (listed.includes('*')) {
    if (listed.length > 1) throw new ConfigError(`ALLOWED_ORIGINS must be "*" alone or a list of origins, got "${value}"`);
    return '*';
  }
  for (const origin of listed) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    // An origin is exactly what URL.origin prints: no path (not even "/"), lowercase host, no default port.
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.origin !== origin) {
      const hint = parsed && /^https?:$/.test(parsed.protocol) ? ` (did you mean "${parsed.origin}"?)` : '';
      throw new ConfigError(
        `ALLOWED_ORIGINS must list origins like "https://example.com" (scheme, host and port, no path), got "${origin}"${hint}`,
      );
    }
  }
  return new Set(listed);
}

/** Shortest key `OPENAI_COMPAT_KEYS` takes: a short key is a guessable one. */
export const MIN_COMPAT_KEY_CHARS = 16;

/**
 * `OPENAI_COMPAT_KEYS`: a comma list of keys, each at least {@link MIN_COMPAT_KEY_CHARS}
 * visible ASCII characters (what an `Authorization` header can carry). The
 * message names a bad key by its place in the list, never by its value.
 */
function parseCompatKeys(value: string | undefined): string[] {
  const keys = (value ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  keys.forEach((key, i) => {
    if (key.length < MIN_COMPAT_KEY_CHARS || !/^[\x21-\x7e]+$/.test(key)) {
      throw new ConfigError(
        `OPENAI_COMPAT_KEYS must list keys of at least ${MIN_COMPAT_KEY_CHARS} visible ASCII characters, without spaces; key ${i + 1} is not one`,
      );
    }
  });
  return keys;
}

/** Shortest `ADMIN_KEY`: the dashboard's login form and bearer check are open to the internet. */
export const MIN_ADMIN_KEY_CHARS = 16;

/** `ADMIN_KEY`: unset or empty turns the dashboard off; otherwise as long and as plain as a bearer key. */
function parseAdminKey(value: string | undefined): string | undefined {
  const key = nonEmpty(value);
  if (key === undefined) return undefined;
  if (key.length < MIN_ADMIN_KEY_CHARS || !/^[\x21-\x7e]+$/.test(key)) {
    throw new ConfigError(`ADMIN_KEY must be at least ${MIN_ADMIN_KEY_CHARS} visible ASCII characters, without spaces (or unset: no dashboard)`);
  }
  return key;
}

function isLoopback(baseUrl: string): boolean {
  const host = new URL(baseUrl).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

type NumericSetting =
  | 'TOOLS_TIMEOUT_MS'
  | 'TOOLS_MAX_RESPONSE_BYTES'
  | 'TOOLS_MAX_ROUNDS'
  | 'TOOLS_PAGE_TIMEOUT_MS'
  | 'MAX_OUTPUT_TOKENS'
  | 'MAX_MESSAGE_CHARS'
  | 'MAX_BODY_BYTES'
  | 'UPSTREAM_TIMEOUT_MS'
  | 'UPSTREAM_IDLE_TIMEOUT_MS'
  | 'SSE_HEARTBEAT_MS'
  | 'MAX_CONTEXT_CHARS'
  | 'RESUME_GRACE_MS'
  | 'RATE_LIMIT_PER_MINUTE'
  | 'CHAT_CREATE_PER_MINUTE'
  | 'DAILY_TOKEN_BUDGET'
  | 'MAX_FILE_BYTES'
  | 'MAX_FILES_PER_MESSAGE'
  | 'MAX_INLINE_BYTES'
  | 'DAILY_UPLOAD_BYTES'
  | 'DEPLOYMENT_DAILY_TOKEN_BUDGET'
  | 'DEPLOYMENT_MONTHLY_TOKEN_BUDGET'
  | 'DEPLOYMENT_ANSWER_RESERVE'
  | 'DEPLOYMENT_BUDGET_SHARDS'
  | 'TURNSTILE_SESSION_MINUTES';

/** A positive whole number, or undefined when unset or empty. */
function optionalPositiveInt(env: Settings, name: NumericSetting): number | undefined {
  return String(env[name] ?? '').trim() === '' ? undefined : positiveInt(env, name, 1);
}

function positiveInt(env: Settings, name: NumericSetting, fallback: number): number {
  return wholeNumber(env, name, fallback, 1);
}

/** A whole number of at least `min`; `fallback` when unset. Limits take 0 for "off". */
function wholeNumber(env: Settings, name: NumericSetting, fallback: number, min: number): number {
  const raw = env[name];
  const text = String(raw ?? '').trim();
  if (text === '') return fallback;
  // Plain digits only: "0x10" or "1e3" in a config file is more likely a mistake than intent.
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`${name} must be a ${min > 0 ? 'positive' : 'non-negative'} whole number${min > 0 ? '' : ' (0 turns it off)'}, got "${raw}"`);
  }
  return value;
}
