import type { ChatRequestBody } from '../protocol/messages.js';
import { apiUrl, fetcher } from './http.js';
import { reconnectingEvents } from './reconnecting-events.js';
import { challengedFetch } from './turnstile.js';
import type { ClientOptions, StreamEvent } from './types.js';

export interface StreamChatOptions extends ClientOptions, ChatRequestBody {
  /** Aborting it closes the connection; the Worker then aborts the Gemini call. */
  signal?: AbortSignal;
}

/**
 * Streams one answer from `POST /api/chat/stream`. The whole conversation
 * goes with the request (`history`); nothing is stored.
 *
 * Yields `{ type: 'text', text }` as the model writes, then exactly one
 * `{ type: 'done', finishReason, usage }` or `{ type: 'error', code, message,
 * status? }`. With `thinking: { show: true }`, `{ type: 'thought', text }`
 * events (the model's thought summary, never part of the answer) come before
 * or between the text events. A refusal before the answer starts (a 4xx/5xx JSON error) is
 * that error event, with `status`; nothing the Worker reports is thrown.
 * Aborting `signal`, or leaving the loop early, stops the request and ends
 * the iteration. A stateless answer cannot be resumed: use `openChat` for
 * that.
 *
 * @example
 * for await (const event of streamChat({ endpoint: 'https://chat.example.workers.dev', message: 'Hi!', thinking: { show: true } })) {
 *   if (event.type === 'thought') thoughts.textContent += event.text;
 *   else if (event.type === 'text') output.textContent += event.text;
 *   else if (event.type === 'error') console.error(event.code, event.message);
 * }
 */
export function streamChat(options: StreamChatOptions): AsyncIterable<StreamEvent> {
  const { endpoint, signal, stallTimeoutMs = 45_000, message, history, system, model, generationConfig, thinking } = options;
  const doFetch = challengedFetch(fetcher(options.fetch), endpoint, options.turnstile);
  const body: ChatRequestBody = { message, history, system, model, generationConfig, thinking };
  return reconnectingEvents({
    open: (attemptSignal) =>
      doFetch(apiUrl(endpoint, '/api/chat/stream'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: attemptSignal,
      }),
    signal,
    stallTimeoutMs,
  });
}
