import type { Context } from 'hono';
import type { AppEnv } from '../app-env';
import type { Env } from '../env';
import { ApiError } from '../errors';
import { clientKey } from './client-key';
import type { Allowance, ClientLimiter, RequestKind } from './client-limiter';
import { budgetShard, type BudgetAdmission } from './deployment-budget';

/**
 * What `admit` learned about the request's client: its allowance, and what to
 * charge the answer's tokens to — an opaque ticket naming the client's budget
 * and the deployment cap's reservation, for {@link charge}; undefined when
 * neither is on.
 */
export interface AdmittedClient {
  allowance: Allowance;
  chargeKey: string | undefined;
}

/** Whom an answer is charged to: the client's daily budget, and the reservation it holds of the deployment's cap. */
interface ChargeTicket {
  client?: string;
  hold?: { shard: number; day: number; id: number };
}

function encodeTicket({ client, hold }: ChargeTicket): string | undefined {
  if (client === undefined && hold === undefined) return undefined;
  const params = new URLSearchParams();
  if (client !== undefined) params.set('c', client);
  if (hold) params.set('h', `${hold.shard}.${hold.day}.${hold.id}`);
  return params.toString();
}

function decodeTicket(ticket: string): ChargeTicket {
  const params = new URLSearchParams(ticket);
  const client = params.get('c') ?? undefined;
  const hold = /^(\d+)\.(\d+)\.(\d+)$/.exec(params.get('h') ?? '');
  // A bare client key: a ticket from before the deployment's cap (a turn started by the previous version).
  if (client === undefined && !hold) return { client: ticket };
  return { client, hold: hold ? { shard: Number(hold[1]), day: Number(hold[2]), id: Number(hold[3]) } : undefined };
}

/**
 * Tickets admitted in this isolate whose answer is not charged yet: the
 * request's end releases the reservation of one that never will be (see
 * {@link releaseUncharged}).
 */
const uncharged = new Set<string>();

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
function limiterFor(env: Env, key: string): DurableObjectStub<ClientLimiter> {
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
  // The deployment's cap first: refused there, the client's own counts are not touched.
  const hold = kind === 'message' ? await admitDeployment(c) : undefined;
  const previous = c.var.client;
  if (limits.perMinute === 0 && limits.dailyTokens === 0) {
    if (hold) setClient(c, previous?.allowance ?? {}, { hold });
    return;
  }
  key ??= clientKey(c.req.header('cf-connecting-ip'));
  let admission: Awaited<ReturnType<ClientLimiter['admit']>>;
  try {
    admission = await limiterFor(c.env, key).admit(kind, limits);
  } catch (error) {
    if (hold) release(c, hold);
    throw error;
  }
  if (!admission.ok) {
    if (hold) release(c, hold);
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
  // A chat created by its first message (the AI SDK's) is admitted as a message, then as a new
  // chat: the message's ticket stays.
  const client = limits.dailyTokens > 0 ? key : undefined;
  if (client === undefined && hold === undefined && previous?.chargeKey !== undefined) c.set('client', { allowance: admission, chargeKey: previous.chargeKey });
  else setClient(c, admission, { client, hold });
}

function setClient(c: Context<AppEnv>, allowance: Allowance, ticket: ChargeTicket): void {
  const chargeKey = encodeTicket(ticket);
  if (ticket.hold && chargeKey !== undefined) uncharged.add(chargeKey);
  c.set('client', { allowance, chargeKey });
}

/**
 * Reserves an answer's tokens of the deployment's cap (one Durable Object
 * request, to a shard picked at random), or refuses the request with
 * `429 deployment_budget_exhausted` and `Retry-After`. Nothing when the cap is off.
 */
async function admitDeployment(c: Context<AppEnv>): Promise<ChargeTicket['hold']> {
  const settings = c.var.config.deploymentBudget;
  if (settings.daily === 0 && settings.monthly === 0) return undefined;
  const shard = Math.floor(Math.random() * settings.shards);
  const admission: BudgetAdmission = await budgetShard(c.env, shard).admit(`shard-${shard}`, settings);
  if (admission.ok) return { shard, day: admission.day, id: admission.hold };
  // The widget shows this message as it is: it speaks to a visitor.
  const message =
    admission.scope === 'busy'
      ? `The chat is very busy and nearly at its limit for today. Try again in ${admission.retryAfter} s.`
      : `The chat is resting until ${admission.scope === 'day' ? 'tomorrow' : 'next month'}: this site's ${admission.scope === 'day' ? 'daily' : 'monthly'} budget of ${admission.limit} tokens is spent. It reopens in ${admission.retryAfter} s (midnight UTC).`;
  throw new ApiError(429, 'deployment_budget_exhausted', message, { 'Retry-After': String(admission.retryAfter) }, admission.scope !== 'busy');
}

/** Gives a reservation back unused, after the response. */
function release(c: Context<AppEnv>, hold: NonNullable<ChargeTicket['hold']>): void {
  settleHold(c.env, (promise) => c.executionCtx.waitUntil(promise), hold, 0);
}

function settleHold(env: Env, waitUntil: (promise: Promise<unknown>) => void, hold: NonNullable<ChargeTicket['hold']>, tokens: number): void {
  waitUntil(
    budgetShard(env, hold.shard)
      .settle(`shard-${hold.shard}`, hold.day, hold.id, tokens)
      .catch((error: unknown) => console.error(JSON.stringify({ level: 'error', event: 'budget_settle_failed', error: String(error) }))),
  );
}

/**
 * At the end of a request (app middleware): a reservation of the deployment's
 * cap that no answer will charge — the request failed before an answer
 * started, or answered without one — is given back now rather than when it
 * expires. A streamed answer (an SSE or UI message stream, here or from a
 * chat's object) is charged when it ends, by whoever streams it.
 */
export function releaseUncharged(c: Context<AppEnv>): void {
  const ticket = c.var.client?.chargeKey;
  if (ticket === undefined || !uncharged.delete(ticket)) return;
  const streaming = c.res.ok && !/^application\/json/i.test(c.res.headers.get('content-type') ?? '');
  const { hold } = decodeTicket(ticket);
  if (!streaming && hold) release(c, hold);
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

/** Wrong admin keys a client may present per minute (the form, or a bearer key to the stats). */
const LOGIN_FAILURES_PER_MINUTE = 10;

/**
 * Admits an attempt at the admin key once the key is compared, or refuses it
 * with `429 rate_limited` when its client gave a wrong key
 * {@link LOGIN_FAILURES_PER_MINUTE} times in the last minute: then even the
 * right key waits, so a short key cannot be guessed at the Worker's speed.
 * A wrong key is checked and counted in one Durable Object call, so wrong keys
 * sent at once cannot all pass the check; the right key is only checked, so
 * the owner's requests never count.
 */
export async function admitLogin(c: Context<AppEnv>, keyIsRight: boolean): Promise<void> {
  const limiter = limiterFor(c.env, clientKey(c.req.header('cf-connecting-ip')));
  const admission = keyIsRight
    ? await limiter.room('login', LOGIN_FAILURES_PER_MINUTE)
    : await limiter.admit('login', { perMinute: LOGIN_FAILURES_PER_MINUTE, dailyTokens: 0 });
  if (!admission.ok) {
    throw new ApiError(429, 'rate_limited', `${LOGIN_FAILURES_PER_MINUTE} wrong admin keys in a minute; retry in ${admission.retryAfter} s`, {
      'Retry-After': String(admission.retryAfter),
    });
  }
}

/** An upload's hold on its client's daily upload allowance: settle it with the bytes it stored. */
export interface UploadHold {
  /** Bytes held: the upload may store no more (Infinity: no allowance is kept). */
  reserved: number;
  /** The refusal for an upload that outgrows what it held; none when no allowance is kept. */
  exhausted?(): ApiError;
  settle(used: number): Promise<void>;
}

/**
 * Reserves `bytes` of the client's daily upload allowance (DAILY_UPLOAD_BYTES)
 * before an upload is read, or refuses it with `429 upload_budget_exhausted`.
 * With no limit it costs nothing.
 */
export async function admitUpload(c: Context<AppEnv>, bytes: number | undefined): Promise<UploadHold> {
  const { config } = c.var;
  if (config.dailyUploadBytes === 0) return { reserved: Infinity, settle: async () => {} };
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
 * Charges an answer's tokens, after the response: to the client's daily
 * budget (one Durable Object request; none when it is off), and to the
 * deployment's cap, whose reservation it replaces (one more; even at 0
 * tokens, so the reservation goes).
 * @param key the request's ticket, `AdmittedClient.chargeKey`
 */
export function charge(env: Env, waitUntil: (promise: Promise<unknown>) => void, key: string | undefined, tokens: number): void {
  if (key === undefined) return;
  uncharged.delete(key);
  const { client, hold } = decodeTicket(key);
  if (hold) settleHold(env, waitUntil, hold, tokens);
  if (client === undefined || !(tokens > 0)) return;
  waitUntil(
    limiterFor(env, client)
      .record(tokens)
      .catch((error: unknown) => console.error(JSON.stringify({ level: 'error', event: 'charge_failed', error: String(error) }))),
  );
}
