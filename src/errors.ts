import type { ErrorCode } from './protocol/events';

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
  ) {
    super(message);
  }
}
