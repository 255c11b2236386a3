import type { FetchLike } from './types.js';

/**
 * Proof of a passed Turnstile challenge, for a Worker with Turnstile on
 * (`GET /api/assistant` names its `turnstile.siteKey`): a token, or a function
 * that gets a fresh one (called each time a token is needed).
 */
export type TurnstileOption = string | (() => string | Promise<string>);

/** The Worker's sessions, by endpoint: kept for this page's life. */
const sessions = new Map<string, string>();

/**
 * `doFetch`, proving a passed challenge: with the endpoint's session when it
 * has one, else with a token; the session a response carries is kept. A
 * session refused with `403 challenge_failed` (expired, another network) is
 * dropped and the request sent again with a token. A token function that
 * throws is a `challenge_failed` refusal, as the Worker would answer it.
 */
export function challengedFetch(doFetch: FetchLike, endpoint: string, turnstile: TurnstileOption | undefined): FetchLike {
  if (turnstile === undefined) return doFetch;
  return async (input, init = {}) => {
    for (let session = sessions.get(endpoint); ; session = undefined) {
      const headers = new Headers(init.headers);
      try {
        headers.set(`x-turnstile-${session ? 'session' : 'token'}`, session ?? (typeof turnstile == 'string' ? turnstile : await turnstile()));
      } catch (error) {
        return new Response(JSON.stringify({ error: { code: 'challenge_failed', message: String(error) } }), { status: 403 });
      }
      const response = await doFetch(input, { ...init, headers });
      const issued = response.headers.get('x-turnstile-session');
      if (issued) sessions.set(endpoint, issued);
      if (!session || response.status != 403 || (await response.clone().json().catch(() => null))?.error?.code != 'challenge_failed') return response;
      sessions.delete(endpoint);
    }
  };
}
