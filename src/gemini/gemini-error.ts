import type { ErrorCode } from '../protocol/events';

/**
 * What went wrong upstream:
 * - `http`: Gemini answered with an error status (or an in-stream error object);
 * - `network`: Gemini could not be reached;
 * - `stream`: the answer broke off, was malformed, or ended without a finish reason;
 * - `timeout`: Gemini sent nothing for too long;
 * - `aborted`: our side stopped the call (the client left);
 * - `blocked`: Gemini refused the prompt (`promptFeedback.blockReason`).
 */
export type GeminiErrorKind = 'http' | 'network' | 'stream' | 'timeout' | 'aborted' | 'blocked';

export interface GeminiErrorDetails {
  /** HTTP status, or the `code` of an in-stream error object. */
  status?: number;
  /** Google's status name or HTTP status text, e.g. RESOURCE_EXHAUSTED. */
  statusText?: string;
  /** For `stream` errors: which way the stream failed. */
  code?: Extract<ErrorCode, 'upstream_malformed' | 'upstream_disconnected' | 'upstream_incomplete'>;
  /** Seconds Gemini asked us to wait (429: RetryInfo, or "Please retry in N s." in its message). */
  retryAfterSeconds?: number;
  /** ErrorInfo reason (API_KEY_INVALID, ACCESS_TOKEN_TYPE_UNSUPPORTED) or blockReason (SAFETY). */
  reason?: string;
  /** 429 only: Gemini gives the key's project no quota at all for the model (`limit: 0`): waiting will not help. */
  noQuota?: boolean;
  cause?: unknown;
}

/** The one error type the Gemini adapter throws or yields. Its message is safe to show a client. */
export class GeminiError extends Error {
  override name = 'GeminiError';
  readonly status?: number;
  readonly statusText?: string;
  readonly code?: GeminiErrorDetails['code'];
  readonly retryAfterSeconds?: number;
  readonly reason?: string;
  readonly noQuota?: boolean;

  constructor(
    readonly kind: GeminiErrorKind,
    message: string,
    details: GeminiErrorDetails = {},
  ) {
    super(message, { cause: details.cause });
    this.status = details.status;
    this.statusText = details.statusText;
    this.code = details.code;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.reason = details.reason;
    this.noQuota = details.noQuota;
  }

  /** Its details without the cause (which may hold upstream text), to make a copy with another message. */
  details(): GeminiErrorDetails {
    const { status, statusText, code, retryAfterSeconds, reason, noQuota } = this;
    return { status, statusText, code, retryAfterSeconds, reason, noQuota };
  }
}
