import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { assistantOrigins } from '../assistants/registry';
import { ApiError } from '../errors';
import { clientKey } from './client-key';
import { TokenSigner } from './token-signer';

/** The request header with a Turnstile token (one use: siteverify refuses it the second time). */
export const TOKEN_HEADER = 'x-turnstile-token';
/** The request and response header with a signed session, which later requests send instead of a token. */
export const SESSION_HEADER = 'x-turnstile-session';

export const DEFAULT_VERIFY_URL = 'https://challenges.cloudflare.com/turnstile/v0/siteverify';
/** Explicit rendering: the widget renders its challenge when it needs a token (developers.cloudflare.com/turnstile/get-started/client-side-rendering/). */
export const DEFAULT_SCRIPT_URL = 'https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit';

/** TURNSTILE_*: absent from the config when Turnstile is off (no keys). */
export interface TurnstileSettings {
  siteKey: string;
  secretKey: string;
  verifyUrl: string;
  /** Where pages load Turnstile's script from (the widget asks `GET /api/assistant`). */
  scriptUrl: string;
  sessionMinutes: number;
}

/** Cloudflare's longest token: a longer header is no token (developers.cloudflare.com/turnstile/get-started/server-side-validation/). */
const MAX_TOKEN_CHARS = 2048;
const VERIFY_TIMEOUT_MS = 5_000;

/**
 * Whether a request must show it passed a challenge. Open: preflights,
 * `GET /api/assistant` (a page learns the site key there), and a stored
 * chat's own routes, `/api/chats/:id/…`: a chat id is made by `newUniqueId()`
 * in `POST /api/chats`, which is challenged, and `idFromString` refuses ids
 * this namespace did not make, so an id that reaches a chat is proof that its
 * chat was created past a challenge (docs/turnstile.md).
 */
export function isChallenged(method: string, path: string): boolean {
  if (method === 'OPTIONS') return false;
  if (path === '/api/assistant') return method !== 'GET' && method !== 'HEAD';
  return !/^\/api\/chats\/[^/]+(\/|$)/.test(path);
}

/**
 * Turnstile for `/api/*` (after the CORS allowlist, before any route): a
 * request shows a valid `X-Turnstile-Session`, or an `X-Turnstile-Token` that
 * siteverify accepts for this site's hostname, and is answered with a new
 * session; anything else is `403 challenge_failed` before its body is read,
 * before any Durable Object and before any upstream call. Off without keys.
 */
export function turnstileGate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const settings = c.var.config.turnstile;
    if (!settings || !isChallenged(c.req.method, c.req.path)) return next();
    const binding = sessionBinding(c);
    const session = c.req.header(SESSION_HEADER);
    if (session !== undefined && (await checkSession(settings, session, binding, Date.now()))) return next();
    const token = c.req.header(TOKEN_HEADER);
    if (token === undefined) {
      throw refusal(
        session === undefined
          ? 'this endpoint needs a Turnstile token (X-Turnstile-Token) or session (X-Turnstile-Session)'
          : 'the Turnstile session is not valid here (expired, altered, or issued to another client or site); send a new token',
      );
    }
    await verifyToken(c, settings, token);
    const issued = await signSession(settings, binding, Date.now());
    await next();
    c.res.headers.set(SESSION_HEADER, issued);
  };
}

function refusal(message: string): ApiError {
  return new ApiError(403, 'challenge_failed', message);
}

/** What siteverify answers (developers.cloudflare.com/turnstile/get-started/server-side-validation/). */
interface SiteverifyAnswer {
  success?: boolean;
  'error-codes'?: string[];
  hostname?: string;
  challenge_ts?: string;
  action?: string;
  cdata?: string;
}

/**
 * Asks siteverify about a token, once (and once more, with the same
 * `idempotency_key`, when it fails to answer), and checks the hostname it was
 * solved on against the page's.
 * @throws {ApiError} 403 `challenge_failed` for a refused token; 503 `challenge_unavailable` when siteverify cannot say
 */
async function verifyToken(c: Context<AppEnv>, settings: TurnstileSettings, token: string): Promise<void> {
  if (token === '' || token.length > MAX_TOKEN_CHARS) throw refusal('the Turnstile token is empty or too long');
  const form = new URLSearchParams({ secret: settings.secretKey, response: token, idempotency_key: crypto.randomUUID() });
  const ip = c.req.header('cf-connecting-ip');
  if (ip) form.set('remoteip', ip);
  let answer: SiteverifyAnswer | undefined;
  for (let attempt = 0; attempt < 2 && !answer; attempt++) answer = await siteverify(settings.verifyUrl, form);
  if (!answer) throw unavailable('Turnstile siteverify did not answer; try again');
  const codes = answer['error-codes'] ?? [];
  if (codes.some((code) => code.endsWith('-secret'))) {
    // The owner's mistake, not the visitor's: said in the log, and no new token would help.
    console.error(JSON.stringify({ level: 'error', event: 'turnstile_secret_refused', codes }));
    throw unavailable('the Worker’s Turnstile secret key was refused by siteverify');
  }
  if (answer.success !== true) {
    const why = codes.includes('timeout-or-duplicate') ? 'expired or already used' : 'not valid';
    throw refusal(`the Turnstile token is ${why} (${codes.join(', ').slice(0, 200) || 'no reason given'}); get a new one`);
  }
  if (!hostnameServed(c, answer.hostname)) {
    throw refusal(`the Turnstile token was solved on another site (${String(answer.hostname).slice(0, 100)})`);
  }
}

/** One siteverify call; undefined when it did not answer (a network error, a 5xx, a timeout, a body that is not JSON). */
async function siteverify(url: string, form: URLSearchParams): Promise<SiteverifyAnswer | undefined> {
  try {
    const response = await fetch(url, { method: 'POST', body: form, signal: AbortSignal.timeout(VERIFY_TIMEOUT_MS) });
    if (response.status >= 500) {
      await response.body?.cancel();
      return undefined;
    }
    return (await response.json()) as SiteverifyAnswer;
  } catch {
    return undefined;
  }
}

function unavailable(message: string): ApiError {
  return new ApiError(503, 'challenge_unavailable', message, { 'Retry-After': '5' });
}

/**
 * The hostname siteverify says the challenge was solved on must be the
 * page's: the request's `Origin`; without one (a server relaying its
 * visitor's token), one of the origins this Worker serves.
 */
function hostnameServed(c: Context<AppEnv>, hostname: string | undefined): boolean {
  if (!hostname) return false;
  const origin = c.req.header('origin');
  if (origin !== undefined) return hostOf(origin) === hostname;
  const { allowedOrigins } = c.var.config;
  if (allowedOrigins === '*') return true;
  return [new URL(c.req.url).origin, ...allowedOrigins, ...assistantOrigins()].some((served) => hostOf(served) === hostname);
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).hostname;
  } catch {
    return undefined;
  }
}

/**
 * What a session is bound to: the client (its address, an IPv6 one by /64,
 * as the limits count it) and the page's origin. A session copied to another
 * network or site is refused, and its page gets a new token (invisibly, as a rule).
 */
function sessionBinding(c: Context<AppEnv>): string {
  return `${clientKey(c.req.header('cf-connecting-ip'))}\n${c.req.header('origin') ?? ''}`;
}

/** Rotating the secret key ends every session. */
const sessions = new TokenSigner('gemini-edge turnstile session key');

const SESSION = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/** `v1.<expiry, Unix seconds>.<HMAC-SHA256 of the expiry and the binding, base64url>`. */
export async function signSession(settings: TurnstileSettings, binding: string, now: number): Promise<string> {
  const expires = Math.floor(now / 1000) + settings.sessionMinutes * 60;
  return `v1.${expires}.${await sessions.sign(settings.secretKey, sessionData(expires, binding))}`;
}

/** Whether `session` was signed with this secret for this binding and has not expired (compared in constant time). */
export async function checkSession(settings: TurnstileSettings, session: string, binding: string, now: number): Promise<boolean> {
  const match = SESSION.exec(session);
  if (!match) return false;
  const expires = Number(match[1]);
  const seconds = Math.floor(now / 1000);
  // Not past its expiry, and no longer-lived than the current setting allows.
  if (expires <= seconds || expires > seconds + settings.sessionMinutes * 60) return false;
  return sessions.verify(settings.secretKey, sessionData(expires, binding), match[2]);
}

function sessionData(expires: number, binding: string): string {
  return `gemini-edge turnstile session v1\n${expires}\n${binding}`;
}
