import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import type { Config } from '../config';
import { bearerToken, keyDigests, matchingDigest } from '../limits/bearer-auth';
import { TokenSigner } from '../limits/token-signer';

/**
 * The owner's way in to `/admin`: `Authorization: Bearer <ADMIN_KEY>` (scripts,
 * the JSON), or the session cookie the login form sets (the page). The cookie
 * never holds the key: it holds an expiry and an HMAC of it under a key derived
 * from ADMIN_KEY, so changing ADMIN_KEY ends every session, and a stolen cookie
 * is worth {@link SESSION_SECONDS} at most. Every comparison is of equal-length
 * digests in constant time (`crypto.subtle.timingSafeEqual`).
 */

/** `__Host-`: the browser keeps it only if Secure, Path=/ and no Domain: no subdomain can set or read it. */
export const SESSION_COOKIE = '__Host-gemini-edge-admin';
/** How long a login lasts. */
const SESSION_SECONDS = 12 * 3600;

/** Headers of every `/admin` answer: never cached, never framed, never indexed, no referrer. */
const ADMIN_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Robots-Tag': 'noindex, nofollow',
};

/** Middleware for `/admin` and `/admin/*`: without ADMIN_KEY, the plain 404 of a path the Worker does not serve; always {@link ADMIN_HEADERS}. */
export function adminOnly(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.var.config.adminKey === undefined) return c.notFound();
    await next();
    for (const [name, value] of Object.entries(ADMIN_HEADERS)) c.res.headers.set(name, value);
  };
}

/** Whether the request shows the key (bearer) or a live session (cookie). */
export async function isOwner(c: Context<AppEnv>): Promise<boolean> {
  const { config } = c.var;
  const bearer = bearerToken(c.req.header('authorization'));
  if (bearer !== undefined) return keyMatches(config, bearer);
  const session = cookie(c.req.header('cookie'), SESSION_COOKIE);
  return session !== undefined && (await sessionValid(config.adminKey!, session, Date.now()));
}

const adminKeyDigests = keyDigests((config) => [config.adminKey!]);

/** Whether `presented` is ADMIN_KEY: their SHA-256 digests compared in constant time. */
export async function keyMatches(config: Config, presented: string): Promise<boolean> {
  return (await matchingDigest(presented, await adminKeyDigests(config))) !== undefined;
}

/** Changing ADMIN_KEY ends every session. */
const sessions = new TokenSigner('gemini-edge admin session key');

function sessionData(expires: number): string {
  return `session ${expires}`;
}

/** A new session's cookie value: `<expiry in epoch seconds>.<HMAC of it, base64url>`. */
export async function newSession(key: string, now: number): Promise<string> {
  const expires = Math.floor(now / 1000) + SESSION_SECONDS;
  return `${expires}.${await sessions.sign(key, sessionData(expires))}`;
}

/** Whether a cookie value is a session this key signed that has not expired. */
async function sessionValid(key: string, value: string, now: number): Promise<boolean> {
  const match = /^(\d{10,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match) return false;
  const expires = Number(match[1]);
  if (expires * 1000 <= now) return false;
  return sessions.verify(key, sessionData(expires), match[2]!);
}

/** The `Set-Cookie` of a session (or, with `value` empty, of its removal). */
export function sessionCookie(value: string): string {
  const age = value === '' ? 0 : SESSION_SECONDS;
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${age}; HttpOnly; Secure; SameSite=Strict`;
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
