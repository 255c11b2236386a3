import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import { DAY_MS, dayNumber, secondsToMidnight } from './utc-day';

/** What a request asks of the limiter: a message (calls Gemini), a new chat, or an attempt at the admin key. */
export type RequestKind = 'message' | 'create' | 'login';

/** The limits to apply, from the Worker's settings (0: off). */
export interface LimitSettings {
  perMinute: number;
  /** Tokens per UTC day; only messages are checked against it. */
  dailyTokens: number;
}

/** Where a client stands after an admitted request. */
export interface Allowance {
  /** The per-minute limit, requests left in the window, and seconds until a slot frees. */
  requests?: { limit: number; remaining: number; reset: number };
  /** The daily token budget, tokens left today, and seconds until the day resets (UTC). */
  tokens?: { limit: number; remaining: number; reset: number };
}

/** An upload's reservation of the day's bytes, or its refusal (with what is left). */
export type UploadAdmission =
  | { ok: true; day: number; reserved: number; limit: number; remaining: number; reset: number }
  | { ok: false; retryAfter: number; limit: number; remaining: number };

export type Admission =
  | ({ ok: true } & Allowance)
  | { ok: false; code: 'rate_limited' | 'budget_exhausted'; retryAfter: number; limit: number };

const MINUTE = 60_000;
/** A client idle this long is forgotten: its storage is deleted. */
const FORGET_AFTER_MS = 2 * DAY_MS;
/** Longest time recorded tokens wait in memory for the next admission's write. */
export const SAVE_TOKENS_AFTER_MS = 5000;

/**
 * One client's limits (one object per IP address, IPv6 by /64), in SQLite so a
 * deploy or a restart hands nobody a fresh allowance. A Durable Object runs
 * one call at a time and every call here is synchronous SQL, so counting is
 * exact however many requests arrive at once.
 *
 * Rows written (storage is billed by them): one per admitted request (the
 * window is one row, a JSON list of the last minute's times), and the day's
 * spending once more whenever it changed. A refused request writes nothing.
 *
 * An answer's tokens are counted in memory at once (so the budget is exact)
 * and written with the client's next admission, in the same transaction, or
 * {@link SAVE_TOKENS_AFTER_MS} later, whichever comes first: a write of its
 * own after every answer cost more than the rest of the limiter together
 * (bench/NOTES.md). A crash of the object can lose at most those seconds of
 * spending; request counts are written before a request is admitted.
 */
export class ClientLimiter extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private alarmArmed = false;
  /** Tokens recorded and not yet written, and the UTC day they count against. */
  private unsaved = { day: 0, tokens: 0 };
  private saveTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS windows (kind TEXT PRIMARY KEY, hits TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS spent (day INTEGER PRIMARY KEY, tokens INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS uploaded (day INTEGER PRIMARY KEY, bytes INTEGER NOT NULL);`);
  }

  /**
   * Admits a request, or says why not and for how long. An admitted request
   * is counted in its window at once; a refused one is not counted at all.
   */
  async admit(kind: RequestKind, limits: LimitSettings): Promise<Admission> {
    const now = Date.now();
    const allowance: Allowance = {};
    if (kind === 'message' && limits.dailyTokens > 0) {
      const spent = this.spentToday(now);
      const reset = secondsToMidnight(now);
      if (spent >= limits.dailyTokens) return { ok: false, code: 'budget_exhausted', retryAfter: reset, limit: limits.dailyTokens };
      allowance.tokens = { limit: limits.dailyTokens, remaining: limits.dailyTokens - spent, reset };
    }
    if (limits.perMinute > 0) {
      const hits = this.window(kind, now);
      if (hits.length >= limits.perMinute) {
        // The slot frees when the oldest request that fills the window leaves it.
        const frees = hits[hits.length - limits.perMinute] + MINUTE;
        return { ok: false, code: 'rate_limited', retryAfter: Math.max(1, Math.ceil((frees - now) / 1000)), limit: limits.perMinute };
      }
      hits.push(now);
      this.ctx.storage.transactionSync(() => {
        this.sql.exec('INSERT OR REPLACE INTO windows (kind, hits) VALUES (?, ?)', kind, JSON.stringify(hits));
        this.saveTokens();
      });
      allowance.requests = { limit: limits.perMinute, remaining: limits.perMinute - hits.length, reset: Math.ceil((hits[0] + MINUTE - now) / 1000) };
    }
    this.armForgetting(now);
    return { ok: true, ...allowance };
  }

  /** Adds an answer's tokens to today's spending (counted at once, written soon: see the class). */
  async record(tokens: number): Promise<void> {
    if (!(tokens > 0)) return;
    const now = Date.now();
    const day = dayNumber(now);
    if (this.unsaved.day !== day) this.saveTokens();
    this.unsaved.day = day;
    this.unsaved.tokens += Math.ceil(tokens);
    this.saveTimer ??= setTimeout(() => this.saveTokens(), SAVE_TOKENS_AFTER_MS);
    this.armForgetting(now);
  }

  /**
   * Reserves `bytes` of today's upload allowance for an upload about to be
   * read (its declared size; one of unknown size holds what is left, up to
   * `atMost`, and may store no more), or refuses it.
   * Written at once, so concurrent uploads cannot overspend: each holds its
   * reservation until {@link settleUpload} gives back what it did not use.
   */
  async reserveUpload(bytes: number | { atMost: number }, dailyBytes: number): Promise<UploadAdmission> {
    const now = Date.now();
    const day = dayNumber(now);
    const used = this.uploadedOn(day);
    const reset = secondsToMidnight(now);
    const left = Math.max(0, dailyBytes - used);
    // A size not known in advance holds what is left, up to the largest file.
    const reserved = typeof bytes === 'number' ? bytes : Math.min(bytes.atMost, left);
    if (reserved > left || left === 0) return { ok: false, retryAfter: reset, limit: dailyBytes, remaining: left };
    this.addUploaded(day, reserved);
    this.armForgetting(now);
    return { ok: true, day, reserved, limit: dailyBytes, remaining: left - reserved, reset };
  }

  /** Gives back the part of a reservation an upload did not use (all of it, for one refused). */
  async settleUpload(day: number, reserved: number, used: number): Promise<void> {
    if (reserved > used) this.addUploaded(day, used - reserved);
  }

  private uploadedOn(day: number): number {
    return this.sql.exec<{ bytes: number }>('SELECT bytes FROM uploaded WHERE day = ?', day).toArray()[0]?.bytes ?? 0;
  }

  private addUploaded(day: number, bytes: number): void {
    this.sql.exec('INSERT INTO uploaded (day, bytes) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET bytes = MAX(0, bytes + excluded.bytes)', day, bytes);
  }

  /** Tokens spent today (UTC). */
  async spent(): Promise<number> {
    return this.spentToday(Date.now());
  }

  /** Forgets an idle client; one still active is looked at again later. */
  override async alarm(): Promise<void> {
    this.saveTokens();
    const idleSince = this.lastActivity();
    if (Date.now() - idleSince < FORGET_AFTER_MS) {
      await this.ctx.storage.setAlarm(idleSince + FORGET_AFTER_MS);
      return;
    }
    await this.ctx.storage.deleteAll();
    this.alarmArmed = false;
  }

  /** The latest moment this client was seen, from what is stored (a recorded day counts to its end). */
  private lastActivity(): number {
    let last = 0;
    for (const { hits } of this.sql.exec<{ hits: string }>('SELECT hits FROM windows')) last = Math.max(last, ...(JSON.parse(hits) as number[]));
    const day = this.sql.exec<{ day: number | null }>('SELECT MAX(day) AS day FROM (SELECT day FROM spent UNION ALL SELECT day FROM uploaded)').one().day;
    if (day !== null) last = Math.max(last, (day + 1) * DAY_MS - 1);
    return last;
  }

  private spentToday(now: number): number {
    const day = dayNumber(now);
    const row = this.sql.exec<{ tokens: number }>('SELECT tokens FROM spent WHERE day = ?', day).toArray()[0];
    return (row?.tokens ?? 0) + (this.unsaved.day === day ? this.unsaved.tokens : 0);
  }

  /** Writes the tokens recorded since the last write, if any. */
  private saveTokens(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    const { day, tokens } = this.unsaved;
    if (tokens === 0) return;
    this.sql.exec('INSERT INTO spent (day, tokens) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET tokens = tokens + excluded.tokens', day, tokens);
    this.unsaved.tokens = 0;
  }

  /**
   * Whether the window of `kind` still has room for one more, without taking
   * it (`admit` takes it): seconds until a slot frees when it has none.
   */
  async room(kind: RequestKind, perMinute: number): Promise<{ ok: true } | { ok: false; retryAfter: number }> {
    const now = Date.now();
    const hits = this.window(kind, now);
    if (hits.length < perMinute) return { ok: true };
    return { ok: false, retryAfter: Math.max(1, Math.ceil((hits[hits.length - perMinute] + MINUTE - now) / 1000)) };
  }

  /** The times of the requests of the last minute, oldest first. */
  private window(kind: RequestKind, now: number): number[] {
    const row = this.sql.exec<{ hits: string }>('SELECT hits FROM windows WHERE kind = ?', kind).toArray()[0];
    const hits = row ? (JSON.parse(row.hits) as number[]) : [];
    return hits.filter((at) => at > now - MINUTE);
  }

  /**
   * Deletes this client's storage once it has been idle for {@link FORGET_AFTER_MS}.
   * Armed once per instance (an alarm is a write); the alarm checks for activity since.
   */
  private armForgetting(now: number): void {
    if (this.alarmArmed) return;
    this.alarmArmed = true;
    void this.ctx.storage.setAlarm(now + FORGET_AFTER_MS);
  }
}
