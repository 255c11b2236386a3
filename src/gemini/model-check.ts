import { GoogleGenerativeAI, GoogleGenerativeAIFetchError, type GenerateContentResponse } from '@google/generative-ai';
import { upstreamErrorCode } from './error-mapping';
import { fromFetchError, httpError } from './gemini-adapter';
import type { GeminiError } from './gemini-error';
import { isReroute, lifecycleWarning, modelInfo, replacementFor } from './models';

/**
 * Whether Gemini will serve this deployment, asked from where it runs: the key
 * (can it list the models?) and each configured model (does a one-token call
 * answer, and which model answers it?). What `GET /healthz?deep=1` reports and
 * `npm run doctor` prints.
 *
 * Gemini's errors are sorted as the chat routes sort them (the adapter's
 * {@link GeminiError} and {@link upstreamErrorCode}), and said in the same words;
 * Google's own can carry the project, the quota or the key's prefix, so they are
 * never passed on.
 */

/** What Gemini made of the key, from listing the models. */
export type KeyStatus =
  /** Gemini listed the models. */
  | 'ok'
  /** A standard API key: Gemini has refused these since September 2026 (401 ACCESS_TOKEN_TYPE_UNSUPPORTED). */
  | 'standard_key'
  /** Gemini does not know the key: revoked, deleted or mistyped (API_KEY_INVALID, 401, 403). */
  | 'invalid_key'
  /** No key is configured. */
  | 'no_key'
  /** The list could not be had: Gemini unreachable, a 5xx, a timeout. */
  | 'error';

export type ModelStatus =
  /** A one-token call answered, from this model. */
  | 'ok'
  /** A call answered, from another model (`reroutedTo`), or the catalogue says this name is rerouted. */
  | 'rerouted'
  /** 404: Gemini does not serve this model (to this key); `replacement` says what to use. */
  | 'unavailable'
  /** 429 with `limit: 0`: the key's tier has no quota for this model (a paid-only model on a key without billing). */
  | 'no_quota'
  /** 429 otherwise: the quota is spent for now. */
  | 'quota'
  /** 401/403 (or an invalid key): Gemini refused the credentials. */
  | 'auth'
  | 'error';

export interface KeyCheck {
  status: KeyStatus;
  /** Plain words. */
  message: string;
  /** How many models the list held, when it could be had. */
  models?: number;
  /** Gemini's HTTP status, when it answered with an error. */
  httpStatus?: number;
}

export interface ModelCheck {
  model: string;
  /** The deployment's default model (GEMINI_MODEL). */
  default: boolean;
  /** In Gemini's model list; `null` when the list could not be had. */
  listed: boolean | null;
  /** A one-token call answered (a MAX_TOKENS or empty answer counts). */
  callable: boolean;
  status: ModelStatus;
  /** Plain words. */
  message: string;
  /** `modelVersion` of the answer: the model that answered. */
  modelVersion: string | null;
  /** For `rerouted`: the model that answers this name. */
  reroutedTo?: string;
  /** The catalogue's suggestion, for a model that should be changed. */
  replacement?: string;
  /** The catalogue's lifecycle warning (rerouted, existing users only, shutting down, retired). */
  warning?: string;
  /** Gemini's HTTP status, when the call failed with one. */
  httpStatus?: number;
  /** How long the call took. */
  ms: number;
}

export interface DeepCheck {
  /** The key is accepted and every model is callable (a reroute is a warning, not a failure). */
  ok: boolean;
  key: KeyCheck;
  models: ModelCheck[];
}

export interface CheckSettings {
  apiKey: string | undefined;
  baseUrl: string;
  defaultModel: string;
  /** Every model to check, the default first. */
  models: readonly string[];
  /** Longest wait for each call (the list, each page, each model). */
  timeoutMs: number;
  /** Models per page of the list; Gemini's most, 1,000, unless a test wants pages. */
  pageSize?: number;
}

/** Pages of the model list followed at most (Gemini lists about fifty models, 1,000 a page). */
const MAX_PAGES = 10;
const PAGE_SIZE = 1000;

/** The one-token call's prompt. */
export const PROBE_PROMPT = 'Say OK.';

/**
 * Lists the models with the key, then calls every model at once, each with
 * `maxOutputTokens: 1` and its own timeout. A key Gemini refused is not used
 * for the model calls: they could only fail the same way.
 */
export async function deepCheck(settings: CheckSettings): Promise<DeepCheck> {
  const listing = await checkKey(settings);
  const { key } = listing;
  const models = await Promise.all(
    settings.models.map((model) => {
      const isDefault = model === settings.defaultModel;
      const listed = listing.names ? listing.names.has(model) : null;
      if (key.status === 'ok' || key.status === 'error') return checkModel(model, isDefault, listed, settings);
      return Promise.resolve(notTried(model, isDefault, key));
    }),
  );
  const ok = key.status === 'ok' && models.every((m) => m.callable);
  return { ok, key, models };
}

/** `GET /v1beta/models`, page by page: what the key may see. */
async function checkKey(settings: Pick<CheckSettings, 'apiKey' | 'baseUrl' | 'timeoutMs' | 'pageSize'>): Promise<{ key: KeyCheck; names?: Set<string> }> {
  const { apiKey } = settings;
  if (!apiKey) return { key: { status: 'no_key', message: 'No Gemini API key is configured: set the GEMINI_API_KEY secret' } };
  const names = new Set<string>();
  let pageToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const url = new URL(`${settings.baseUrl}/v1beta/models`);
    url.searchParams.set('pageSize', String(settings.pageSize ?? PAGE_SIZE));
    if (pageToken) url.searchParams.set('pageToken', pageToken);
    let response: Response;
    let body: unknown;
    try {
      ({ response, body } = await withTimeout(settings.timeoutMs, async (signal) => {
        const response = await fetch(url, { headers: { 'x-goog-api-key': apiKey }, signal });
        return { response, body: await response.json().catch(() => undefined) };
      }));
    } catch (error) {
      const timedOut = error instanceof TimeoutError;
      return {
        key: {
          status: 'error',
          message: timedOut ? `Gemini did not list the models within ${settings.timeoutMs} ms` : 'Could not reach Gemini to list the models',
        },
      };
    }
    if (!response.ok) {
      const error = (body as { error?: { details?: unknown; message?: unknown } } | undefined)?.error;
      const upstreamMessage = typeof error?.message === 'string' ? error.message : undefined;
      return { key: keyFailure(httpError({ status: response.status, statusText: response.statusText, details: error?.details, upstreamMessage })) };
    }
    const list = (body ?? {}) as { models?: { name?: string }[]; nextPageToken?: string };
    for (const model of list.models ?? []) {
      if (typeof model.name === 'string') names.add(model.name.replace(/^models\//, ''));
    }
    pageToken = typeof list.nextPageToken === 'string' && list.nextPageToken ? list.nextPageToken : undefined;
    if (!pageToken) break;
  }
  return { key: { status: 'ok', message: `Gemini accepted the key and listed ${names.size} models`, models: names.size }, names };
}

/** One call of `model` with `maxOutputTokens: 1`, through the SDK the Worker answers with. */
async function checkModel(
  model: string,
  isDefault: boolean,
  listed: boolean | null,
  settings: Pick<CheckSettings, 'apiKey' | 'baseUrl' | 'timeoutMs'>,
): Promise<ModelCheck> {
  const started = Date.now();
  const info = modelInfo(model);
  const warning = lifecycleWarning(model);
  const replacement = replacementFor(model);
  const base = { model, default: isDefault, listed, ...(warning ? { warning } : {}) };
  const done = (check: Omit<ModelCheck, keyof typeof base | 'ms'>): ModelCheck => ({ ...base, ...check, ms: Date.now() - started });
  const sdk = new GoogleGenerativeAI(settings.apiKey ?? '').getGenerativeModel(
    { model, generationConfig: { maxOutputTokens: 1 } },
    { baseUrl: settings.baseUrl },
  );
  let response: GenerateContentResponse;
  try {
    ({ response } = await withTimeout(settings.timeoutMs, (signal) =>
      sdk.generateContent({ contents: [{ role: 'user', parts: [{ text: PROBE_PROMPT }] }] }, { signal }),
    ));
  } catch (error) {
    if (error instanceof TimeoutError) {
      return done({ callable: false, status: 'error', message: `No answer within ${settings.timeoutMs} ms`, modelVersion: null });
    }
    if (!(error instanceof GoogleGenerativeAIFetchError)) {
      return done({ callable: false, status: 'error', message: 'Could not reach Gemini', modelVersion: null });
    }
    return done(callFailure(model, fromFetchError(error, model), replacement));
  }
  // A blocked prompt still proves the model answers; a MAX_TOKENS or empty answer too.
  const modelVersion = typeof (response as { modelVersion?: unknown }).modelVersion === 'string' ? (response as { modelVersion: string }).modelVersion : null;
  const answeredBy = isReroute(model, modelVersion ?? undefined) ? modelVersion : undefined;
  const cataloguedTo = info.lifecycle.stage === 'rerouted' ? info.lifecycle.to : undefined;
  const reroutedTo = answeredBy ?? cataloguedTo;
  if (reroutedTo) {
    return done({
      callable: true,
      status: 'rerouted',
      message: `answers, from ${reroutedTo}${answeredBy ? '' : ' (per the model catalogue)'}: name ${reroutedTo} to pin it`,
      modelVersion,
      reroutedTo,
      replacement: reroutedTo,
    });
  }
  return done({
    callable: true,
    status: 'ok',
    message: 'answers',
    modelVersion,
    ...(replacement && warning ? { replacement } : {}),
  });
}

/** A model check for a key Gemini refused: the call is not made. */
function notTried(model: string, isDefault: boolean, key: KeyCheck): ModelCheck {
  const warning = lifecycleWarning(model);
  return {
    model,
    default: isDefault,
    listed: null,
    callable: false,
    status: 'auth',
    message: `not called: ${key.status === 'no_key' ? 'no key is configured' : 'Gemini refused the key'}`,
    modelVersion: null,
    ...(warning ? { warning } : {}),
    ms: 0,
  };
}

/** A key failure from the model list's {@link GeminiError}. */
function keyFailure(error: GeminiError): KeyCheck {
  const failed = { httpStatus: error.status, message: error.message };
  if (error.reason === 'ACCESS_TOKEN_TYPE_UNSUPPORTED') return { status: 'standard_key', ...failed };
  if (upstreamErrorCode(error) === 'upstream_auth') {
    // More than the chat routes can say: what makes a key one Gemini does not know.
    return {
      status: 'invalid_key',
      ...failed,
      message: `${error.message}: the key is revoked, deleted or mistyped, or not allowed to use the Gemini API; create a key at https://aistudio.google.com/apikey`,
    };
  }
  return { status: 'error', ...failed };
}

type Failure = Omit<ModelCheck, 'model' | 'default' | 'listed' | 'warning' | 'ms'>;

/** A model's failed call, from its {@link GeminiError}. */
function callFailure(model: string, error: GeminiError, replacement: string | undefined): Failure {
  const failed = { callable: false, modelVersion: null, httpStatus: error.status, message: error.message } as const;
  switch (upstreamErrorCode(error)) {
    case 'upstream_quota':
      return error.noQuota ? { ...failed, status: 'no_quota', ...(replacement ? { replacement } : {}) } : { ...failed, status: 'quota' };
    case 'upstream_auth':
      return { ...failed, status: 'auth' };
    case 'model_unavailable':
      return { ...failed, status: 'unavailable', message: unavailableMessage(model, error, replacement), ...(replacement ? { replacement } : {}) };
    default:
      return { ...failed, status: 'error' };
  }
}

/**
 * Which 404 it is, which the chat routes do not tell apart: closed to new
 * projects, shut down, or never served to this key. Read from Google's message
 * (inside the SDK error, the cause), never passed on.
 */
function unavailableMessage(model: string, error: GeminiError, replacement: string | undefined): string {
  const upstream = error.cause instanceof Error ? error.cause.message : '';
  const why = /new users/i.test(upstream)
    ? 'not available to new projects (existing users only)'
    : /no longer available/i.test(upstream)
      ? 'no longer available (shut down)'
      : 'not served to this key';
  return `Gemini does not serve ${model}: ${why} (${error.status})${replacement ? `; use ${replacement}` : ''}`;
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** Runs `work` with a signal that aborts after `ms`; rejects with {@link TimeoutError} then. */
async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, ms);
  try {
    return await work(controller.signal);
  } catch (error) {
    throw timedOut ? new TimeoutError() : error;
  } finally {
    clearTimeout(timer);
  }
}
