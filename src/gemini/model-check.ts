import { GoogleGenerativeAI, GoogleGenerativeAIFetchError, type GenerateContentResponse } from '@google/generative-ai';
import { lifecycleWarning, modelInfo, replacementFor } from './models';

/**
 * Whether Gemini will serve this deployment, asked from where it runs: the key
 * (can it list the models?) and each configured model (does a one-token call
 * answer, and which model answers it?). What `GET /healthz?deep=1` reports and
 * `npm run doctor` prints.
 *
 * Every message here is in our own words: Google's can carry the project, the
 * quota or the key's prefix, so they are read (for `limit: 0`, say) but never
 * passed on.
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
export async function checkKey(settings: Pick<CheckSettings, 'apiKey' | 'baseUrl' | 'timeoutMs' | 'pageSize'>): Promise<{ key: KeyCheck; names?: Set<string> }> {
  const { apiKey } = settings;
  if (!apiKey) return { key: { status: 'no_key', message: 'No Gemini API key is configured: set the GEMINI_API_KEY secret' } };
  const names = new Set<string>();
  let pageToken: string | undefined;
  const maxPages = Math.max(MAX_PAGES, Math.ceil(100 / (settings.pageSize ?? PAGE_SIZE)));
  for (let page = 0; page < maxPages; page++) {
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
    if (!response.ok) return { key: keyFailure(response.status, googleError(body)) };
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
export async function checkModel(
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
    return done(callFailure(model, error, replacement));
  }
  // A blocked prompt still proves the model answers; a MAX_TOKENS or empty answer too.
  const modelVersion = typeof (response as { modelVersion?: unknown }).modelVersion === 'string' ? (response as { modelVersion: string }).modelVersion : null;
  const answeredBy = modelVersion && otherModel(model, modelVersion) ? modelVersion : undefined;
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

/**
 * `modelVersion` names another model than `model`: not the same name, nor the
 * same name with a version suffix (`gemini-3.8-flash-001`). A modelVersion
 * that is no model name at all (a test double's) names nothing.
 */
function otherModel(model: string, modelVersion: string): boolean {
  const version = modelVersion.replace(/^models\//, '');
  if (!/^gemini-/.test(version)) return false;
  return version !== model && !version.startsWith(`${model}-`);
}

interface GoogleErrorInfo {
  message: string;
  reason?: string;
}

function googleError(body: unknown): GoogleErrorInfo {
  const error = (body as { error?: { message?: unknown; details?: unknown } } | undefined)?.error;
  const details = Array.isArray(error?.details) ? (error.details as { reason?: unknown }[]) : [];
  const reason = details.find((d) => typeof d?.reason === 'string')?.reason as string | undefined;
  return { message: typeof error?.message === 'string' ? error.message : '', reason };
}

function keyFailure(status: number, error: GoogleErrorInfo): KeyCheck {
  if (error.reason === 'ACCESS_TOKEN_TYPE_UNSUPPORTED') {
    return {
      status: 'standard_key',
      httpStatus: status,
      message:
        'a standard API key: Gemini has rejected these since September 2026; create an auth key at https://aistudio.google.com/apikey',
    };
  }
  if (error.reason === 'API_KEY_INVALID' || status === 401 || status === 403) {
    return {
      status: 'invalid_key',
      httpStatus: status,
      message: `Gemini refused the key (${status}): it is revoked, deleted or mistyped, or not allowed to use the Gemini API; create a key at https://aistudio.google.com/apikey`,
    };
  }
  if (status === 429) return { status: 'error', httpStatus: status, message: `Gemini's quota for listing models is spent for now (${status})` };
  if (status >= 500) return { status: 'error', httpStatus: status, message: `Gemini is unavailable (${status}); try again later` };
  return { status: 'error', httpStatus: status, message: `Gemini refused to list the models (${status})` };
}

type Failure = Omit<ModelCheck, 'model' | 'default' | 'listed' | 'warning' | 'ms'>;

function callFailure(model: string, error: GoogleGenerativeAIFetchError, replacement: string | undefined): Failure {
  const status = error.status ?? 0;
  const details = (Array.isArray(error.errorDetails) ? error.errorDetails : []) as { reason?: string }[];
  const reason = details.find((d) => typeof d.reason === 'string')?.reason;
  // Read, never passed on: the SDK's message holds Google's.
  const raw = error.message;
  const failed = { callable: false, modelVersion: null, httpStatus: status } as const;
  if (status === 404) {
    const why = /new users/i.test(raw)
      ? 'not available to new projects (existing users only)'
      : /no longer available/i.test(raw)
        ? 'no longer available (shut down)'
        : 'not served to this key';
    return {
      ...failed,
      status: 'unavailable',
      message: `Gemini does not serve ${model}: ${why} (404)${replacement ? `; use ${replacement}` : ''}`,
      ...(replacement ? { replacement } : {}),
    };
  }
  if (status === 429) {
    if (/\blimit:\s*0\b/.test(raw)) {
      return {
        ...failed,
        status: 'no_quota',
        message: `the key has no quota for ${model} (429, limit 0): a paid-tier model on a key without billing; enable billing for the key's project or remove the model`,
        ...(replacement ? { replacement } : {}),
      };
    }
    return { ...failed, status: 'quota', message: `the quota for ${model} is spent for now (429); try again later` };
  }
  if (reason === 'ACCESS_TOKEN_TYPE_UNSUPPORTED') {
    return { ...failed, status: 'auth', message: `Gemini refused the key (${status}): a standard API key, rejected since September 2026` };
  }
  if (status === 401 || status === 403 || reason === 'API_KEY_INVALID') {
    return { ...failed, status: 'auth', message: `Gemini refused the key (${status})` };
  }
  if (status >= 500) return { ...failed, status: 'error', message: `Gemini is unavailable (${status}); try again later` };
  return { ...failed, status: 'error', message: `Gemini refused the call (${status})` };
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
