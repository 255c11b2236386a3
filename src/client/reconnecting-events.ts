import { isEventStream, networkError, responseError } from './http.js';
import { parseEventStream } from './sse-events.js';
import type { ReconnectOptions, StreamErrorEvent, StreamEvent, ToolStreamEvent } from './types.js';

export interface EventsRequest {
  /** Makes the first request. */
  open: (signal: AbortSignal) => Promise<Response>;
  /**
   * Makes a reconnecting request after the last event id seen (undefined: from
   * the turn's start). Without it a broken stream ends with an error event.
   */
  reopen?: (lastEventId: number | undefined, signal: AbortSignal) => Promise<Response>;
  /** The first request may be retried when it gets no answer (a GET); a POST may not. */
  retryOpen?: boolean;
  /** What a 204 to the first request means: nothing to follow, the iteration ends quietly. */
  emptyIsEnd?: boolean;
  signal?: AbortSignal;
  stallTimeoutMs: number;
  reconnect?: ReconnectOptions;
  /** Sees a stored chat's tool steps, which the iteration itself leaves out. */
  onToolEvent?: (event: ToolStreamEvent) => void;
}

const DEFAULTS: Required<ReconnectOptions> = { attempts: 8, delayMs: 500, maxDelayMs: 5000 };

/**
 * The events of one answer, as an async iterable that ends with exactly one
 * terminal event (or nothing, when `signal` aborts). Nothing is thrown: a
 * refusal, a broken connection or a malformed answer is the `error` event.
 *
 * With `reopen`, a connection that breaks before the terminal event — a
 * network change, a proxy reset, a silent connection past `stallTimeoutMs` —
 * is reopened after the last event id seen, with backoff, so every event
 * arrives exactly once. The first request is never re-sent unless
 * `retryOpen` says it is safe: re-sending a POST would ask Gemini again.
 */
export async function* reconnectingEvents(request: EventsRequest): AsyncGenerator<StreamEvent, void, undefined> {
  const { signal, stallTimeoutMs } = request;
  const retry = { ...DEFAULTS, ...request.reconnect };
  let lastId: number | undefined;
  let answered = false; // a 2xx stream arrived, so reconnecting is safe even after a POST
  let failures = 0;

  for (;;) {
    if (signal?.aborted) return;
    const attempt = new Attempt(signal, stallTimeoutMs);
    let problem: StreamErrorEvent;
    try {
      let response: Response | undefined;
      try {
        response = await (answered || failures > 0 ? request.reopen!(lastId, attempt.signal) : request.open(attempt.signal));
      } catch {
        if (signal?.aborted) return;
        problem = networkError('Could not reach the Worker');
        if (!answered && !request.retryOpen) {
          yield problem;
          return;
        }
      }
      if (response) {
        if (response.status === 204) {
          if (!answered && request.emptyIsEnd) return;
          yield { type: 'error', code: 'interrupted', message: 'The answer ended and its end could not be resumed' };
          return;
        }
        if (!response.ok) {
          const error = await responseError(response);
          // A proxy or the edge hiccuping while we reconnect is worth another try; a refusal is not.
          if (!(answered && response.status >= 500)) {
            yield error;
            return;
          }
          problem = error;
        } else if (!isEventStream(response) || !response.body) {
          await response.body?.cancel();
          yield { type: 'error', code: 'invalid_response', message: 'The Worker did not answer with an event stream', status: response.status };
          return;
        } else {
          answered = true;
          const reader = parseEventStream(response.body, () => attempt.alive()).getReader();
          attempt.alive();
          try {
            for (;;) {
              const { done, value: event } = await reader.read();
              if (done) break;
              if (event.id !== undefined) {
                // Never hand out an event twice, whatever a replay sends.
                if (lastId !== undefined && event.id <= lastId) continue;
                lastId = event.id;
              }
              failures = 0;
              if (event.type === 'tool-call' || event.type === 'tool-result') {
                request.onToolEvent?.(event);
                continue;
              }
              yield event;
              if (event.type === 'done' || event.type === 'error') return;
            }
          } catch {
            // The connection broke (or stalled and was aborted): reconnect below.
          } finally {
            reader.cancel().catch(() => {});
          }
          if (signal?.aborted) return;
          problem = attempt.stalled
            ? networkError(`The connection stalled: nothing for ${stallTimeoutMs} ms`)
            : networkError('The connection closed before the answer ended');
        }
      }
    } finally {
      attempt.end();
    }

    if (!request.reopen) {
      yield problem!;
      return;
    }
    failures++;
    if (failures > retry.attempts) {
      yield { ...problem!, message: `${problem!.message}; gave up after ${retry.attempts} reconnections` };
      return;
    }
    const delay = Math.min(retry.maxDelayMs, retry.delayMs * 2 ** (failures - 1));
    if (!(await sleep(delay, signal))) return;
  }
}

/**
 * One request's lifetime: aborted with the caller's signal, when the
 * connection stalls, or when the iteration ends early.
 */
class Attempt {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  stalled = false;
  private readonly onAbort = () => this.controller.abort(this.parent?.reason);

  constructor(
    private readonly parent: AbortSignal | undefined,
    private readonly stallTimeoutMs: number,
  ) {
    if (parent?.aborted) this.onAbort();
    else parent?.addEventListener('abort', this.onAbort);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Something arrived: restart the stall timer. It first starts when the
   * answer's headers arrive: before that the Worker is waiting for Gemini's
   * first chunk, which its own UPSTREAM_TIMEOUT_MS bounds.
   */
  alive(): void {
    if (this.stallTimeoutMs <= 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stalled = true;
      this.controller.abort(new Error('stalled'));
    }, this.stallTimeoutMs);
  }

  /** Releases the connection (a no-op once the answer was read to its end). */
  end(): void {
    clearTimeout(this.timer);
    this.parent?.removeEventListener('abort', this.onAbort);
    this.controller.abort();
  }
}

/** Waits `ms`; false when `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
