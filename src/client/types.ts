import type { DoneEvent, ErrorCode, TextEvent, ThoughtEvent, ToolRunner } from '../protocol/events.js';
import type { TurnstileOption } from './turnstile.js';

/**
 * The terminal error of a stream, as the client reports it. `status` is the
 * HTTP status when the Worker refused the request before streaming;
 * `retryAfter` (seconds) comes from its `Retry-After` header.
 */
export interface StreamErrorEvent {
  type: 'error';
  code: ErrorCode;
  message: string;
  status?: number;
  retryAfter?: number;
}

/**
 * What `streamChat`, `chat.send` and `chat.resume` yield: `thought` events
 * (the model's thought summary, when asked for with `thinking.show`) and
 * `text` events, then exactly one `done` or `error`. Events of a stored chat
 * carry their SSE `id`.
 */
export type StreamEvent = (Omit<TextEvent, 'signature'> | Omit<ThoughtEvent, 'signature'> | (DoneEvent & AnswerRef) | StreamErrorEvent) & { id?: number };

/**
 * A stored chat's tool steps (an assistant with tools): the model's call, then what it returned
 * (`result`, or `error` when the call failed). `parseEventStream` yields them typed; `chat.send`
 * and `streamChat` leave them out of {@link StreamEvent} (the answer's text follows them), and
 * hand them to `onToolEvent` where one is given. A call with `runsOn: 'page'` is the page's to run
 * (`chat.registerTool`).
 */
export type ToolStreamEvent = (
  | { type: 'tool-call'; toolCallId: string; name: string; args: Record<string, unknown>; runsOn?: ToolRunner }
  | { type: 'tool-result'; toolCallId: string; name: string; result?: unknown; error?: string }
) & { id?: number };

/**
 * Runs one of the assistant's `runs: page` tools in the page (`chat.registerTool`): gets the
 * call's arguments, returns (or resolves to) its result, any JSON; what it throws is the error
 * the model is told.
 */
export type ToolHandler = (args: Record<string, unknown>) => unknown;

/** On a stored chat's `done`: the answer's message id, to rate it with `chat.feedback`. */
export interface AnswerRef {
  messageId?: number;
}

/** `fetch`, or anything that behaves like it (a test double, a server-side fetch with a proxy). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** How a stored chat's stream reconnects after a drop. */
export interface ReconnectOptions {
  /** Reconnections tried in a row without receiving anything, before giving up. Default 8. */
  attempts?: number;
  /** First wait before reconnecting, doubled each time. Default 500 ms. */
  delayMs?: number;
  /** Longest wait between two tries. Default 5000 ms. */
  maxDelayMs?: number;
}

/** Settings common to every call. */
export interface ClientOptions {
  /**
   * The Worker's base URL, e.g. `https://chat.example.workers.dev`. A relative
   * URL (`''`, `/chat-proxy`) works on pages the Worker serves itself.
   */
  endpoint: string;
  /** Replaces the global `fetch`. */
  fetch?: FetchLike;
  /**
   * A connection that stays silent this long is taken for dead (the Worker
   * sends a `: ping` every 15 s by default). Default 45000 ms; 0 turns it off.
   */
  stallTimeoutMs?: number;
  /**
   * With Turnstile on the Worker: a token, or a function that gets a fresh one
   * (docs/turnstile.md). The Worker's session is kept and sent instead while it lasts.
   */
  turnstile?: TurnstileOption;
}
