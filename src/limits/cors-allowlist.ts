import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { errorResponse } from '../errors';
import { assistantOrigins } from '../assistants/registry';
import { ALLOWANCE_HEADERS } from './admission';
import { MESSAGE_ID_HEADER } from '../protocol/messages';
import { SESSION_HEADER, TOKEN_HEADER } from './turnstile';

/** Headers a page may send; `last-event-id` lets a page resume with the standard header; Turnstile's token and session. */
const ALLOW_HEADERS = `content-type, last-event-id, ${TOKEN_HEADER}, ${SESSION_HEADER}`;
const ALLOW_METHODS = 'GET, HEAD, POST, DELETE';
/** Headers a page may read: the id that matches the log line, when to retry, the answer's id, what is left of its limits, its Turnstile session. */
export const EXPOSE_HEADERS = ['x-request-id', 'retry-after', MESSAGE_ID_HEADER, ...ALLOWANCE_HEADERS, SESSION_HEADER].join(', ');
/** Chromium caps a preflight's cache at two hours; longer values buy nothing. */
const MAX_AGE_SECONDS = '7200';

/**
 * CORS for `/api/*`, with the allowlist enforced by the Worker itself.
 *
 * CORS alone only stops a page from *reading* an answer: a "simple" request
 * (`text/plain`, `no-cors`, a bare GET) still reaches the Worker and would
 * spend the owner's quota. So a request whose `Origin` is not allowed is
 * refused here with `403 origin_not_allowed`, before its body is read, before
 * any Durable Object and before any upstream call. The refusal carries
 * `Access-Control-Allow-Origin` for that origin, so the page can read why.
 *
 * A preflight is answered 204 for any origin: it costs nothing, and it is
 * what lets the browser send the request that gets the readable 403 (a
 * refused preflight is an opaque network error to the page).
 *
 * Requests without `Origin` (curl, servers) pass untouched. The body of a
 * refused request is left unread, not cancelled: under `wrangler dev`,
 * cancelling a body before answering breaks the connection
 * (cloudflare/workers-sdk#5095).
 */
export function corsAllowlist(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (origin === undefined) return next();

    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method') !== undefined) {
      return new Response(null, {
        status: 204,
        headers: {
          ...corsHeaders(origin),
          'Access-Control-Allow-Methods': ALLOW_METHODS,
          'Access-Control-Allow-Headers': ALLOW_HEADERS,
          'Access-Control-Max-Age': MAX_AGE_SECONDS,
        },
      });
    }

    const { allowedOrigins } = c.var.config;
    // A site assistant's origins are allowed too: listing them in its assistant.md is the owner's say-so.
    const allowed = allowedOrigins === '*' || allowedOrigins.has(origin) || origin === new URL(c.req.url).origin || assistantOrigins().has(origin);
    if (!allowed) {
      c.var.log.errorCode = 'origin_not_allowed';
      // Names nothing but the caller's own origin: the allowlist stays private.
      return errorResponse(403, 'origin_not_allowed', `this endpoint does not serve pages on ${origin.slice(0, 200)}`, corsHeaders(origin));
    }

    await next();
    // Every answer, errors and streams included, so the page can read it.
    for (const [name, value] of Object.entries(corsHeaders(origin))) c.res.headers.set(name, value);
  };
}

function corsHeaders(origin: string): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': EXPOSE_HEADERS,
    Vary: 'Origin',
  };
}
