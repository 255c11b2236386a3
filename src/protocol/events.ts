/**
 * The chat event protocol, shared by the Worker, the chat Durable Object and
 * the browser client. On the wire each event is one SSE frame:
 *
 * ```
 * event: text
 * data: {"text":"Hel"}
 *
 * event: done
 * data: {"done":true,"finishReason":"STOP","usage":{"promptTokenCount":7,"candidatesTokenCount":3,"totalTokenCount":10}}
 * ```
 * or, instead of `done`, `event: error` / `data: {"error":{"code":"…","message":"…"}}`.
 */

/** Token counts as Gemini reports them for the whole turn. */
export interface Usage {
  promptTokenCount: number;
  candidatesTokenCount: number;
  totalTokenCount: number;
  /** Tokens spent thinking (2.5 models), when Gemini reports them. */
  thoughtsTokenCount?: number;
  /** Prompt tokens served from Gemini's context cache, when reported. */
  cachedContentTokenCount?: number;
}

/** Stable, snake_case error codes. Clients may switch on them. */
export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'model_not_allowed'
  | 'too_large'
  | 'unsupported_media_type'
  | 'not_found'
  | 'method_not_allowed'
  | 'blocked'
  | 'rate_limited'
  | 'not_configured'
  | 'config_invalid'
  | 'upstream_error'
  | 'upstream_auth'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'upstream_malformed'
  | 'upstream_disconnected'
  | 'upstream_incomplete'
  | 'cancelled'
  | 'turn_in_progress'
  | 'interrupted'
  | 'internal_error';

export type TextEvent = { type: 'text'; text: string };
/** `finishReason` is passed through as Gemini gave it: STOP, MAX_TOKENS, SAFETY, RECITATION, or newer values. */
export type DoneEvent = { type: 'done'; finishReason: string; usage: Usage };
export type ErrorEvent = { type: 'error'; code: ErrorCode; message: string };
export type ChatEvent = TextEvent | DoneEvent | ErrorEvent;
export type TerminalEvent = DoneEvent | ErrorEvent;

/** The SSE `event:` name and `data:` payload of an event. */
export function eventData(event: ChatEvent): string {
  switch (event.type) {
    case 'text':
      return JSON.stringify({ text: event.text });
    case 'done':
      return JSON.stringify({ done: true, finishReason: event.finishReason, usage: event.usage });
    case 'error':
      return JSON.stringify({ error: { code: event.code, message: event.message } });
  }
}

/** The body of every JSON error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}
