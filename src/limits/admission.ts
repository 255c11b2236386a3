import type { Context } from 'hono';
import type { AppEnv } from '../app-env';
import type { Env } from '../env';
import { ApiError } from '../errors';
import { clientKey } from './client-key';
import type { Allowance, ClientLimiter, RequestKind } from './client-limiter';

/** What `admit` learned about the request's client: its allowance, and the key to charge tokens to (budget on). */
export interface AdmittedClient {
  allowance: Allowance;
  chargeKey: string | undefined;
}

/** The headers that tell a client where it stands; exposed to pages by CORS. */
export const ALLOWANCE_HEADERS = [
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'x-token-budget-limit',
  'x-token-budget-remaining',
  'x-token-budget-reset',
] as const;

/** The client's limiter: one Durable Object per client key. */
export function limiterFor(env: Env, key: string): DurableObjectStub<ClientLimiter> {
  return env.CLIENT_LIMITS.get(env.CLIENT_LIMITS.idFromName(key));
}

/**
 * Counts a request against its client's limits (one Durable Object request),
 * or refuses it with `429 rate_limited` / `budget_exhausted` and `Retry-After`.
 * Call it after the body is validated (a refused body never counts) and
 * before anything is spent. With every limit off it costs nothing.
 * @param key whom to count it against; the client's address ({@link clientKey}) when not given
 *   (the OpenAI-compatible API counts by API key)
 */
export async function admit(c: Context<AppEnv>, kind: RequestKind, key?: string): Promise<void> {
  const { config } = c.var;
  const limits = {
    perMinute: kind === 'create' ? config.chatCreatePerMinute : config.rateLimitPerMinute,
    dailyTokens: kind === 'message' ? config.dailyTokenBudget : 0,
  };
  if (limits.perMinute === 0 && limits.dailyTokens === 0) return;
  key ??= clientKey(c.req.header('cf-connecting-ip'));
  const admission = await limiterFor(c.env, key).admit(kind, limits);
  if (!admission.ok) {
    const budget = admission.code === 'budget_exhausted';
    const message = budget
      ? `the daily budget of ${admission.limit} tokens is spent; it resets in ${admission.retryAfter} s (midnight UTC)`
      : `at most ${admission.limit} ${kind === 'create' ? 'new chats' : 'requests'} a minute; retry in ${admission.retryAfter} s`;
    const headers: Record<string, string> = { 'Retry-After': String(admission.retryAfter) };
    setAllowanceHeaders(headers, budget
      ? { tokens: { limit: admission.limit, remaining: 0, reset: admission.retryAfter } }
      : { requests: { limit: admission.limit, remaining: 0, reset: admission.retryAfter } });
    throw new ApiError(429, admission.code, message, headers);
  }
  c.set('client', { allowance: admission, chargeKey: limits.dailyTokens > 0 ? key : undefined });
}

/** `X-RateLimit-*` for the per-minute window, `X-Token-Budget-*` for the day's tokens. */
export function setAllowanceHeaders(headers: Headers | Record<string, string>, { requests, tokens }: Allowance): void {
  const set = (name: string, value: number) => (headers instanceof Headers ? headers.set(name, String(value)) : (headers[name] = String(value)));
  if (requests) {
    set('X-RateLimit-Limit', requests.limit);
    set('X-RateLimit-Remaining', requests.remaining);
    set('X-RateLimit-Reset', requests.reset);
  }
  if (tokens) {
    set('X-Token-Budget-Limit', tokens.limit);
    set('X-Token-Budget-Remaining', tokens.remaining);
    set('X-Token-Budget-Reset', tokens.reset);
  }
}

/** An upload's hold on its client's daily upload allowance: settle it with the bytes it stored. */
export interface UploadHold {
  /** Bytes held: the upload may store no more (Infinity: no allowance is kept). */
  reserved: number;
  /** The refusal for an upload that outgrows what it held. */
  exhausted(): ApiError;
  settle(used: number): Promise<void>;
}

/**
 * Reserves `bytes` of the client's daily upload allowance (DAILY_UPLOAD_BYTES)
 * before an upload is read, or refuses it with `429 upload_budget_exhausted`.
 * With no limit it costs nothing.
 */
export async function admitUpload(c: Context<AppEnv>, bytes: number | undefined): Promise<UploadHold> {
  const { config } = c.var;
  if (config.dailyUploadBytes === 0) return { reserved: Infinity, exhausted: () => new ApiError(500, 'internal_error', 'no allowance'), settle: async () => {} };
  const key = clientKey(c.req.header('cf-connecting-ip'));
  const limiter = limiterFor(c.env, key);
  const admission = await limiter.reserveUpload(bytes ?? { atMost: config.maxFileBytes }, config.dailyUploadBytes);
  const refusal = (remaining: number, retryAfter: number) =>
    new ApiError(
      429,
      'upload_budget_exhausted',
      `the daily upload allowance of ${config.dailyUploadBytes} bytes has ${remaining} left, too few for this file; it resets in ${retryAfter} s (midnight UTC)`,
      { 'Retry-After': String(retryAfter) },
    );
  if (!admission.ok) throw refusal(admission.remaining, admission.retryAfter);
  return {
    reserved: admission.reserved,
    exhausted: () => refusal(admission.reserved, admission.reset),
    settle: (used) =>
      limiter.settleUpload(admission.day, admission.reserved, used).catch((error: unknown) => {
        console.error(JSON.stringify({ level: 'error', event: 'upload_settle_failed', error: String(error) }));
      }),
  };
}

/**
 * Charges an answer's tokens to the client's daily budget, after the
 * response (one more Durable Object request; none when the budget is off).
 */
export function charge(env: Env, waitUntil: (promise: Promise<unknown>) => void, key: string | undefined, tokens: number): void {
  if (key === undefined || !(tokens > 0)) return;
  waitUntil(
    limiterFor(env, key)
      .record(tokens)
      .catch((error: unknown) => console.error(JSON.stringify({ level: 'error', event: 'charge_failed', error: String(error) }))),
  );
}
