import type { ErrorCode } from '../protocol/events.js';

/**
 * What `openChat`, `chat.cancel()` and `chat.delete()` reject with when the
 * Worker refuses or cannot be reached. (Streams never throw: their failures
 * arrive as an `error` event.)
 */
export class GeminiEdgeError extends Error {
  override name = 'GeminiEdgeError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The HTTP status, when the Worker answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}
