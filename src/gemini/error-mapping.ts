import { ApiError } from '../errors';
import type { ErrorCode, ErrorEvent } from '../protocol/events';
import type { GeminiError } from './gemini-error';

/** The HTTP status of each upstream error code, when it is known before the first frame. */
export const UPSTREAM_STATUS = {
  rate_limited: 429,
  blocked: 422,
  upstream_auth: 502,
  upstream_error: 502,
  upstream_malformed: 502,
  upstream_disconnected: 502,
  upstream_incomplete: 502,
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
  if (status === 429) return 'rate_limited';
  if (status === 401 || status === 403 || error.reason === 'API_KEY_INVALID') return 'upstream_auth';
  if (status === 500 || status === 503 || status === 504) return 'upstream_unavailable';
  return 'upstream_error';
}

/** The HTTP error for a failure known before the first frame. */
export function toApiError(error: GeminiError): ApiError {
  const code = upstreamErrorCode(error);
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
  return new ApiError(UPSTREAM_STATUS[code], code, error.message, headers);
}

/** The terminal `error` frame for a failure after the first frame. */
export function toErrorEvent(error: GeminiError): ErrorEvent {
  return { type: 'error', code: upstreamErrorCode(error), message: error.message };
}
