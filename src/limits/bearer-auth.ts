import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import type { Config } from '../config';
import { ApiError } from '../errors';

/**
 * The bearer keys of OPENAI_COMPAT_KEYS, for every route they guard: the
 * OpenAI-compatible API (`/v1/*`) and the deep health check (`/healthz?deep=1`).
 *
 * Checks `Authorization: Bearer <key>`: SHA-256 digests compared in constant
 * time, every key tried, so timing says nothing about how much of a key
 * matched. The key itself is never logged nor echoed.
 *
 * Resolves to the key's id (`key:` and 16 hex digits of its digest, for the
 * limits), or to `undefined` when no keys are configured: the guarded routes
 * are then off, and answer the plain 404 of any path the Worker does not serve.
 * @throws {ApiError} 401 `invalid_api_key` for a missing or unknown key
 */
export async function authenticateBearer(c: Context<AppEnv>): Promise<string | undefined> {
  const { config } = c.var;
  if (config.openaiCompatKeys.length === 0) return undefined;
  const presented = bearerToken(c.req.header('authorization'));
  const unauthorized = (message: string) => new ApiError(401, 'invalid_api_key', message, { 'WWW-Authenticate': 'Bearer' });
  if (!presented) throw unauthorized('Missing API key: send it as "Authorization: Bearer <key>"');
  const digest = await matchingDigest(presented, await apiKeyDigests(config));
  if (!digest) throw unauthorized('Incorrect API key provided');
  return `key:${hex(digest.slice(0, 8))}`;
}

/**
 * Middleware: {@link authenticateBearer}, then `apiKeyId` set for the limits.
 * Off (no keys): the same 404 as any path the Worker does not serve, so nothing says the route exists.
 */
export function bearerAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const keyId = await authenticateBearer(c);
    if (keyId === undefined) return c.notFound();
    c.set('apiKeyId', keyId);
    await next();
  };
}

/** The token of an `Authorization: Bearer <token>` header; undefined for any other header or none. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1];
}

/**
 * The SHA-256 digests of the keys a setting holds, computed once per config.
 * @example const adminKeyDigests = keyDigests((config) => [config.adminKey!]);
 */
export function keyDigests(keysOf: (config: Config) => readonly string[]): (config: Config) => Promise<ArrayBuffer[]> {
  const digests = new WeakMap<Config, Promise<ArrayBuffer[]>>();
  return (config) => {
    let known = digests.get(config);
    if (!known) {
      known = Promise.all(keysOf(config).map(sha256));
      digests.set(config, known);
    }
    return known;
  };
}

/**
 * The digest of `presented` when it is one of the keys `known` holds the digests of, else
 * undefined: digests compared in constant time, every key tried, so timing says nothing about
 * how much of a key matched.
 */
export async function matchingDigest(presented: string, known: readonly ArrayBuffer[]): Promise<ArrayBuffer | undefined> {
  const digest = await sha256(presented);
  let matched = false;
  for (const key of known) {
    if (crypto.subtle.timingSafeEqual(digest, key)) matched = true;
  }
  return matched ? digest : undefined;
}

const apiKeyDigests = keyDigests((config) => config.openaiCompatKeys);

async function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
}

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
