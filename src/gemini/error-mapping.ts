import { ApiError } from '../errors';
import type { ErrorCode, ErrorEvent } from '../protocol/events';
import type { GeminiError } from './gemini-error';

/** The HTTP status of each upstream error code, when it is known before the first frame. */
export const UPSTREAM_STATUS = {
  // Gemini's quota for the Worker's key, not our own per-client limit (`rate_limited`, src/limits).
  upstream_quota: 429,
  blocked: 422,
  model_unavailable: 502,
  upstream_auth: 502,
  upstream_error: 502,
  upstream_malformed: 502,
  upstream_disconnected: 502,
  upstream_incomplete: 502,
  tool_call_failed: 502,
  upstream_unavailable: 503,
  upstream_timeout: 504,
  // Nobody is listening any more; 499 is what the log shows (nginx's "client closed request").
  cancelled: 499,
} as const satisfies Partial<Record<ErrorCode, number>>;

export type UpstreamErrorCode = keyof typeof UPSTREAM_STATUS;

/** The error code clients see for an upstream failure. */
export function upstreamErrorCode(error: GeminiError): UpstreamErrorCode {
  switch (error.kind) {
    case 'http':
      return httpCode(error);
    case 'network':
      return 'upstream_unavailable';
    case 'timeout':
      return 'upstream_timeout';
    case 'blocked':
      return 'blocked';
    case 'stream':
      return error.code ?? 'upstream_error';
    case 'aborted':
      return 'cancelled';
  }
}

function httpCode(error: GeminiError): UpstreamErrorCode {
  const status = error.status ?? 0;
  if (status === 429) return 'upstream_quota';
  if (status === 401 || status === 403 || error.reason === 'API_KEY_INVALID' || error.reason === 'ACCESS_TOKEN_TYPE_UNSUPPORTED') {
    return 'upstream_auth';
  }
  // The call's only path parameter is the model: a 404 is Gemini not serving it.
  if (status === 404) return 'model_unavailable';
  if (status === 500 || status === 503 || status === 504) return 'upstream_unavailable';
  return 'upstream_error';
}

/** Failures the same request meets again however long one waits: the operator has to act. */
const FINAL_CODES: ReadonlySet<UpstreamErrorCode> = new Set(['upstream_auth', 'model_unavailable']);

/**
 * The HTTP error for a failure known before the first frame. `Retry-After`
 * is Gemini's wait, except for a quota of zero, which no wait refills.
 */
export function toApiError(error: GeminiError): ApiError {
  const code = upstreamErrorCode(error);
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
  const final = error.noQuota === true || FINAL_CODES.has(code);
  return new ApiError(UPSTREAM_STATUS[code], code, error.message, headers, final);
}

/** The terminal `error` frame for a failure after the first frame. */
export function toErrorEvent(error: GeminiError): ErrorEvent {
  return { type: 'error', code: upstreamErrorCode(error), message: error.message };
}
