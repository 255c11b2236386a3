import type { ErrorBody, ErrorCode } from './protocol/events';

/**
 * An error known before the first byte of a response: it becomes an HTTP
 * status and a JSON body `{"error":{"code","message"}}` in `app.onError`.
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Waiting and sending the same request again cannot succeed (a quota of zero): clients should not retry. */
    readonly final = false,
  ) {
    super(message);
  }
}

/** A JSON error response: `{"error":{"code","message"}}`. */
export function errorResponse(
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const body: ErrorBody = { error: { code, message } };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
  });
}
