import type { ErrorCode } from '../protocol/events.js';
import type { FetchLike, StreamErrorEvent } from './types.js';

/** A path under the Worker's base URL. */
export function apiUrl(endpoint: string, path: string): string {
  return `${endpoint.replace(/\/+$/, '')}${path}`;
}

/**
 * The fetch to call: the caller's, or the global one. The global is called
 * through a wrapper, since a detached `window.fetch` called as a method of
 * another object throws "Illegal invocation".
 */
export function fetcher(custom: FetchLike | undefined): FetchLike {
  return custom ?? ((input, init) => fetch(input, init));
}

/** The Worker's JSON error from a non-2xx answer; a body that is not one (a proxy's page) becomes `invalid_response`. */
export async function responseError(response: Response): Promise<StreamErrorEvent> {
  const error: StreamErrorEvent = {
    type: 'error',
    code: 'invalid_response',
    message: `The Worker answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
    status: response.status,
  };
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
  if (Number.isFinite(retryAfter) && retryAfter >= 0) error.retryAfter = retryAfter;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body?.error?.code === 'string' && typeof body.error.message === 'string') {
      error.code = body.error.code as ErrorCode;
      error.message = body.error.message;
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return error;
}

/** A client-side failure to talk to the Worker. */
export function networkError(message: string): StreamErrorEvent {
  return { type: 'error', code: 'network_error', message };
}

export function isEventStream(response: Response): boolean {
  return /^text\/event-stream\b/i.test(response.headers.get('content-type') ?? '');
}
