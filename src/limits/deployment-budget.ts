import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import { DAY_MS, dayNumber, secondsToMidnight, utcDay } from './utc-day';

/**
 * The cap for the whole deployment (DEPLOYMENT_DAILY_TOKEN_BUDGET,
 * DEPLOYMENT_MONTHLY_TOKEN_BUDGET): every answer's tokens, all clients, routes
 * and assistants together. docs/limits.md#the-cap-for-the-whole-deployment
 * describes the design and its bound; in short:
 *
 * - {@link BudgetShard}s (DEPLOYMENT_BUDGET_SHARDS of them; each admission
 *   goes to one at random) admit requests. Each holds a lease: tokens of the
 *   day's cap handed to it by the coordinator. An admission reserves
 *   `reserve` tokens of its shard's lease (one row) and is admitted only if
 *   they are free; its charge replaces the reservation by what the answer
 *   spent. So a shard never commits more than its lease.
 * - The {@link BudgetCoordinator} (one) hands out leases in blocks that shrink
 *   as the cap runs out (a fraction of what is left, never less than one
 *   reservation), and takes back what shards did not use. The leases together
 *   never exceed the cap, so neither do the shards' reservations and charges.
 * - Near the end, a shard that cannot hold a reservation gives its remainder
 *   back before asking; the coordinator, before it refuses, reclaims the
 *   remainder of every shard it leased to since that shard last gave all
 *   back, and a shard that was refused or reclaimed keeps giving back what
 *   its answers did not use, until it is leased to again. So a request is
 *   refused only when less than one reservation is left uncommitted across
 *   the deployment.
 */

/** The cap's settings, from the Worker's config (0: off). */
export interface DeploymentBudgetSettings {
  /** Tokens per UTC day; 0: no daily cap. */
  daily: number;
  /** Tokens per UTC month; 0: no monthly cap. */
  monthly: number;
  /** Tokens one admission holds until its answer is charged. */
  reserve: number;
  /** Shards admissions are spread over. */
  shards: number;
  /** Called once at 80 % and once at 100 % of a day's cap. */
  alertUrl: string | undefined;
}

/** Why the cap refused: the day's or the month's cap is spent, or answers in flight hold what is left. */
type BudgetScope = 'day' | 'month' | 'busy';

export type BudgetAdmission =
  | { ok: true; day: number; hold: number }
  | { ok: false; scope: BudgetScope; retryAfter: number; limit: number };

/** What a shard gives back and reports with every exchange with the coordinator. */
interface Exchange {
  shard: string;
  day: number;
  /** Lease handed back (negative: the shard's answers spent beyond their reservations). */
  give: number;
  /** Tokens the shard's answers spent since it last reported. */
  spent: number;
  /** Tokens the shard needs now (0: it only gives back and reports). */
  want: number;
  settings?: DeploymentBudgetSettings;
}

type Grant = { grant: number } | { grant: 0; scope: BudgetScope; retryAfter: number; limit: number };

/** A refused shard refuses on its own for this long before it asks the coordinator again. */
const RECHECK_MS = 1000;
/** A shard reports its answers' spending to the coordinator (for the alerts and the month) within this time. */
export const REPORT_AFTER_MS = 1000;
/** A reservation never charged (a crashed request) is dropped after this long: no answer runs for an hour. */
const HOLD_TTL_MS = 3_600_000;
/** Retry-After when answers in flight hold the rest of the cap: they end within the upstream timeout. */
const BUSY_RETRY_S = 10;
/** Largest block, in reservations: bounds what a shard holds idle. */
const MAX_BLOCK_RESERVES = 64;

export const COORDINATOR_NAME = 'deployment';

/** The UTC month of a day, as `YYYY-MM`. */
function monthOf(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 7);
}

/** Seconds until the next UTC midnight, or the next month's first midnight. */
function secondsUntil(scope: 'day' | 'month', now: number): number {
  if (scope === 'day') return secondsToMidnight(now);
  const date = new Date(now);
  return Math.max(1, Math.ceil((Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) - now) / 1000));
}

function coordinator(env: Env): DurableObjectStub<BudgetCoordinator> {
  return env.BUDGET_COORDINATOR.get(env.BUDGET_COORDINATOR.idFromName(COORDINATOR_NAME));
}

/** A shard of the cap, by its number. */
export function budgetShard(env: Env, shard: number): DurableObjectStub<BudgetShard> {
  return env.BUDGET_SHARDS.get(env.BUDGET_SHARDS.idFromName(`shard-${shard}`));
}

const logError = (event: string) => (error: unknown) => console.error(JSON.stringify({ level: 'error', event, error: String(error) }));

/** A shard's stored day. */
type ShardRow = {
  day: number;
  lease: number;
  spent: number;
  reported: number;
  giving_back: number;
};

/** One shard's day: its lease, what its answers spent (and how much of that it reported), what its reservations hold. */
interface ShardDay {
  day: number;
  lease: number;
  spent: number;
  reported: number;
  held: number;
  /** Refused or reclaimed (and not leased to since): give back what answers leave unused at once, instead of keeping it. */
  givingBack: number;
}

/**
 * One shard of the deployment's cap (see the module). Every call is
 * synchronous SQL except its exchanges with the coordinator, which one
 * refill at a time makes; admissions that arrive meanwhile wait for it.
 */
export class BudgetShard extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private name = '';
  private settings: DeploymentBudgetSettings | undefined;
  private today: ShardDay | undefined;
  /** Refused by the coordinator: refuse without asking until `until`. */
  private closed: { until: number; scope: BudgetScope; retryAfter: number; limit: number } | null = null;
  private refill: Promise<void> | null = null;
  private reportTimer: ReturnType<typeof setTimeout> | null = null;
  private sweptAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS days (day INTEGER PRIMARY KEY, lease INTEGER NOT NULL, spent INTEGER NOT NULL, reported INTEGER NOT NULL, giving_back INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS holds (id INTEGER PRIMARY KEY AUTOINCREMENT, day INTEGER NOT NULL, tokens INTEGER NOT NULL, at INTEGER NOT NULL);`);
  }

  /** Reserves `settings.reserve` tokens for an answer, or refuses (nothing is written then). */
  async admit(name: string, settings: DeploymentBudgetSettings): Promise<BudgetAdmission> {
    this.name = name;
    this.settings = settings;
    const now = Date.now();
    const day = dayNumber(now);
    for (let attempt = 0; attempt < 3; attempt++) {
      const state = this.day(day);
      this.sweep(now);
      if (state.lease - state.spent - state.held >= settings.reserve) {
        const hold = this.sql
          .exec<{ id: number }>('INSERT INTO holds (day, tokens, at) VALUES (?, ?, ?) RETURNING id', day, settings.reserve, now)
          .one().id;
        state.held += settings.reserve;
        return { ok: true, day, hold };
      }
      if (this.closed && Date.now() < this.closed.until) break;
      await this.exchange(day, settings.reserve);
    }
    const refusal = this.closed ?? { scope: 'busy' as const, retryAfter: 1, limit: settings.daily || settings.monthly };
    return { ok: false, scope: refusal.scope, retryAfter: refusal.retryAfter, limit: refusal.limit };
  }

  /**
   * Charges an answer: its tokens count, its reservation goes. Idempotent in
   * the reservation (a second charge of one hold releases nothing more), so a
   * request may release a hold it is not sure was charged.
   */
  async settle(name: string, day: number, hold: number, tokens: number): Promise<void> {
    this.name = name;
    const spent = Math.max(0, Math.ceil(tokens || 0));
    const released = this.sql.exec<{ tokens: number }>('DELETE FROM holds WHERE id = ? AND day = ? RETURNING tokens', hold, day).toArray()[0]?.tokens ?? 0;
    const today = dayNumber(Date.now());
    if (day !== today) {
      // A late charge for a day gone: its leases are void, only the spending counts (the month's).
      if (spent > 0) await coordinator(this.env).exchange({ shard: name, day, give: 0, spent, want: 0 });
      return;
    }
    const state = this.day(today);
    state.held -= released;
    state.spent += spent;
    this.save(state);
    if (state.givingBack) await this.exchange(today, 0);
    else this.reportSoon();
  }

  /** The coordinator takes back what this shard holds unused, before it refuses anyone. */
  async release(day: number): Promise<{ give: number; spent: number }> {
    const state = this.day(dayNumber(Date.now()));
    if (state.day !== day) return { give: 0, spent: 0 };
    state.givingBack = 1;
    const give = state.lease - state.spent - state.held;
    const spent = state.spent - state.reported;
    state.lease -= give;
    state.reported = state.spent;
    this.save(state);
    return { give, spent };
  }

  /** Tokens spent today by this shard's answers, and held by its reservations (for tests). */
  async usage(): Promise<{ lease: number; spent: number; held: number }> {
    const { lease, spent, held } = this.day(dayNumber(Date.now()));
    return { lease, spent, held };
  }

  /** Gives back what is unused, reports spending, and asks for `want` tokens: one refill at a time. */
  private exchange(day: number, want: number): Promise<void> {
    if (want === 0 && this.refill) return this.refill.then(() => this.exchange(day, 0));
    this.refill ??= this.swap(day, want).finally(() => (this.refill = null));
    return this.refill;
  }

  private async swap(day: number, want: number): Promise<void> {
    const state = this.day(day);
    const give = state.lease - state.spent - state.held;
    const spent = state.spent - state.reported;
    // Given back before the call: while it runs, this shard's admissions see nothing free.
    state.lease -= give;
    state.reported = state.spent;
    this.save(state);
    this.clearReport();
    const answer = await coordinator(this.env).exchange({ shard: this.name, day, give, spent, want, settings: this.settings });
    if (want === 0) return;
    const current = this.day(dayNumber(Date.now()));
    if (current.day !== day) return; // the day ended while we asked: its lease is void
    if (answer.grant > 0) {
      current.lease += answer.grant;
      current.givingBack = 0;
      this.save(current);
      this.closed = null;
    } else if ('scope' in answer) {
      this.closed = { until: Date.now() + RECHECK_MS, scope: answer.scope, retryAfter: answer.retryAfter, limit: answer.limit };
      current.givingBack = 1;
      this.save(current);
    }
  }

  /** Today's state, loaded once; a new day starts with no lease (and the last day's spending reported). */
  private day(day: number): ShardDay {
    if (this.today?.day === day) return this.today;
    const previous = this.today ?? this.sql.exec<ShardRow>('SELECT * FROM days WHERE day < ? ORDER BY day DESC LIMIT 1', day).toArray()[0];
    if (previous && previous.spent > previous.reported) {
      const late = { shard: this.name, day: previous.day, give: 0, spent: previous.spent - previous.reported, want: 0 };
      this.sql.exec('UPDATE days SET reported = spent WHERE day = ?', previous.day);
      this.ctx.waitUntil(coordinator(this.env).exchange(late).catch(logError('budget_report_failed')));
    }
    this.sql.exec('DELETE FROM days WHERE day < ?', day);
    this.sql.exec('DELETE FROM holds WHERE day < ?', day);
    const row = this.sql.exec<ShardRow>('SELECT * FROM days WHERE day = ?', day).toArray()[0];
    const held = this.sql.exec<{ held: number | null }>('SELECT SUM(tokens) AS held FROM holds WHERE day = ?', day).one().held ?? 0;
    this.today = { day, lease: row?.lease ?? 0, spent: row?.spent ?? 0, reported: row?.reported ?? 0, held, givingBack: row?.giving_back ?? 0 };
    this.closed = null;
    return this.today;
  }

  private save(state: ShardDay): void {
    this.sql.exec(
      'INSERT OR REPLACE INTO days (day, lease, spent, reported, giving_back) VALUES (?, ?, ?, ?, ?)',
      state.day,
      state.lease,
      state.spent,
      state.reported,
      state.givingBack,
    );
  }

  /** Drops reservations never charged (a request that crashed), at most once a minute. */
  private sweep(now: number): void {
    if (now - this.sweptAt < 60_000) return;
    this.sweptAt = now;
    const dropped = this.sql.exec<{ tokens: number }>('DELETE FROM holds WHERE at < ? RETURNING tokens', now - HOLD_TTL_MS).toArray();
    if (this.today) for (const { tokens } of dropped) this.today.held -= tokens;
  }

  /** Spending reaches the coordinator (alerts, the month) within {@link REPORT_AFTER_MS}, batched. */
  private reportSoon(): void {
    this.reportTimer ??= setTimeout(() => {
      this.reportTimer = null;
      const state = this.today;
      if (!state || state.spent === state.reported) return;
      const spent = state.spent - state.reported;
      state.reported = state.spent;
      this.save(state);
      this.ctx.waitUntil(coordinator(this.env).exchange({ shard: this.name, day: state.day, give: 0, spent, want: 0 }).catch(logError('budget_report_failed')));
    }, REPORT_AFTER_MS);
  }

  private clearReport(): void {
    if (this.reportTimer) clearTimeout(this.reportTimer);
    this.reportTimer = null;
  }
}

/**
 * The one coordinator of the deployment's cap (see the module): the leases
 * of the day per shard, the day's reported spending, and the alerts sent.
 * Shards call it only for a block, to give back, and to report (batched),
 * so it sees a small fraction of the admissions.
 */
export class BudgetCoordinator extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private settings: DeploymentBudgetSettings | undefined;
  private reclaiming: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // A lease is `dirty` from a grant until its shard gives all back (reclaimed or refused); `grants` tells a grant made meanwhile.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS leases (day INTEGER NOT NULL, shard TEXT NOT NULL, tokens INTEGER NOT NULL, dirty INTEGER NOT NULL, grants INTEGER NOT NULL, PRIMARY KEY (day, shard));
      CREATE TABLE IF NOT EXISTS days (day INTEGER PRIMARY KEY, spent INTEGER NOT NULL, alerted INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS settings (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);`);
    const stored = this.sql.exec<{ json: string }>('SELECT json FROM settings').toArray()[0];
    if (stored) this.settings = JSON.parse(stored.json) as DeploymentBudgetSettings;
  }

  /** Takes back `give`, adds `spent`, and grants a block of at least `want` tokens when the cap has it. */
  async exchange(request: Exchange): Promise<Grant> {
    if (request.settings) this.remember(request.settings);
    const now = Date.now();
    const today = dayNumber(now);
    if (request.spent > 0) this.addSpent(request.day, request.spent);
    if (request.day !== today) return { grant: 0, scope: 'busy', retryAfter: 1, limit: 0 };
    if (request.give !== 0) this.addLease(today, request.shard, -request.give, false);
    const settings = this.settings;
    if (request.want === 0 || !settings) return { grant: 0, scope: 'busy', retryAfter: 1, limit: 0 };
    let pool = this.pool(today, settings);
    // Until no shard keeps unused lease: each round asks only shards leased to since they last gave all back.
    for (let round = 0; pool < request.want && round < 3 && (this.reclaiming || this.dirty(today, request.shard).length > 0); round++) {
      this.reclaiming ??= this.reclaim(today, request.shard).finally(() => (this.reclaiming = null));
      await this.reclaiming;
      pool = this.pool(today, settings);
    }
    if (pool >= request.want) {
      // Blocks shrink as the cap runs out: a fraction of what is left, never less than one reservation.
      const block = Math.min(pool, Math.max(request.want, Math.min(Math.floor(pool / (4 * settings.shards)), MAX_BLOCK_RESERVES * settings.reserve)));
      this.addLease(today, request.shard, block, true);
      return { grant: block };
    }
    // The shard gave all back before asking, and gives back what its answers leave from now on.
    this.sql.exec('UPDATE leases SET dirty = 0 WHERE day = ? AND shard = ?', today, request.shard);
    return this.refusal(today, settings, now);
  }

  /** Tokens of a day: reported spending and leases (for tests and the docs' numbers). */
  async standing(day = dayNumber(Date.now())): Promise<{ spent: number; leased: number; alerted: number }> {
    const row = this.sql.exec<{ spent: number; alerted: number }>('SELECT spent, alerted FROM days WHERE day = ?', day).toArray()[0];
    return { spent: row?.spent ?? 0, leased: this.leased(day), alerted: row?.alerted ?? 0 };
  }

  private remember(settings: DeploymentBudgetSettings): void {
    if (JSON.stringify(settings) === JSON.stringify(this.settings)) return;
    this.settings = settings;
    this.sql.exec('INSERT OR REPLACE INTO settings (id, json) VALUES (1, ?)', JSON.stringify(settings));
  }

  /** What may still be leased today: under the day's cap and under what the month has left. */
  private pool(day: number, settings: DeploymentBudgetSettings): number {
    const leased = this.leased(day);
    let pool = Infinity;
    if (settings.daily > 0) pool = settings.daily - leased;
    if (settings.monthly > 0) pool = Math.min(pool, settings.monthly - this.monthSpentBefore(day) - leased);
    return pool;
  }

  private leased(day: number): number {
    return this.sql.exec<{ tokens: number | null }>('SELECT SUM(tokens) AS tokens FROM leases WHERE day = ?', day).one().tokens ?? 0;
  }

  /** Tokens spent in the month of `day` on the days before it. */
  private monthSpentBefore(day: number): number {
    const month = monthOf(day);
    const first = dayNumber(Date.parse(`${month}-01T00:00:00Z`));
    return this.sql.exec<{ spent: number | null }>('SELECT SUM(spent) AS spent FROM days WHERE day >= ? AND day < ?', first, day).one().spent ?? 0;
  }

  private addLease(day: number, shard: string, tokens: number, grant: boolean): void {
    this.sql.exec(
      `INSERT INTO leases (day, shard, tokens, dirty, grants) VALUES (?, ?, ?, ?, ?) ON CONFLICT (day, shard) DO UPDATE
        SET tokens = tokens + excluded.tokens, dirty = MAX(dirty, excluded.dirty), grants = grants + excluded.grants`,
      day,
      shard,
      tokens,
      grant ? 1 : 0,
      grant ? 1 : 0,
    );
    this.sql.exec('DELETE FROM leases WHERE day < ?', day);
  }

  private addSpent(day: number, tokens: number): void {
    this.sql.exec('INSERT INTO days (day, spent, alerted) VALUES (?, ?, 0) ON CONFLICT (day) DO UPDATE SET spent = spent + excluded.spent', day, tokens);
    // A month and a day of history is all the month's cap needs.
    this.sql.exec('DELETE FROM days WHERE day < ?', day - 40);
    const settings = this.settings;
    if (!settings || settings.daily === 0) return;
    const spent = this.sql.exec<{ spent: number }>('SELECT spent FROM days WHERE day = ?', day).one().spent;
    if (spent >= 0.8 * settings.daily) this.alert(day, 80, spent);
    if (spent >= settings.daily) this.alert(day, 100, spent);
  }

  /** Shards other than `except` that may keep unused lease: leased to since they last gave all back. */
  private dirty(day: number, except: string): { shard: string; grants: number }[] {
    return this.sql.exec<{ shard: string; grants: number }>('SELECT shard, grants FROM leases WHERE day = ? AND shard != ? AND dirty = 1', day, except).toArray();
  }

  /** Every shard that may keep unused lease gives it back, and from then on what its answers leave unused. */
  private async reclaim(day: number, except: string): Promise<void> {
    const shards = this.dirty(day, except);
    const answers = await Promise.allSettled(shards.map(({ shard }) => this.env.BUDGET_SHARDS.get(this.env.BUDGET_SHARDS.idFromName(shard)).release(day)));
    answers.forEach((answer, i) => {
      if (answer.status === 'rejected') return logError('budget_reclaim_failed')(answer.reason);
      const { shard, grants } = shards[i];
      if (answer.value.spent > 0) this.addSpent(day, answer.value.spent);
      if (answer.value.give !== 0) this.addLease(day, shard, -answer.value.give, false);
      // Clean unless it was leased to again while it answered.
      this.sql.exec('UPDATE leases SET dirty = 0 WHERE day = ? AND shard = ? AND grants = ?', day, shard, grants);
    });
  }

  /** Why nothing can be leased: the day's cap, the month's, or answers in flight holding the rest (which they give back). */
  private refusal(day: number, settings: DeploymentBudgetSettings, now: number): Grant {
    const spent = this.sql.exec<{ spent: number }>('SELECT spent FROM days WHERE day = ?', day).toArray()[0]?.spent ?? 0;
    const monthLeft = settings.monthly > 0 ? settings.monthly - this.monthSpentBefore(day) - spent : Infinity;
    const dayLeft = settings.daily > 0 ? settings.daily - spent : Infinity;
    if (monthLeft < settings.reserve && monthLeft <= dayLeft) return { grant: 0, scope: 'month', retryAfter: secondsUntil('month', now), limit: settings.monthly };
    if (dayLeft < settings.reserve) {
      this.alert(day, 100, spent);
      return { grant: 0, scope: 'day', retryAfter: secondsUntil('day', now), limit: settings.daily };
    }
    return { grant: 0, scope: 'busy', retryAfter: BUSY_RETRY_S, limit: settings.daily || settings.monthly };
  }

  /** SPEND_ALERT_URL, once per day and threshold: POST {day, threshold, spent, budget}. */
  private alert(day: number, threshold: 80 | 100, spent: number): void {
    const settings = this.settings;
    if (!settings || settings.daily === 0) return;
    const bit = threshold === 80 ? 1 : 2;
    const row = this.sql.exec<{ alerted: number }>('SELECT alerted FROM days WHERE day = ?', day).toArray()[0];
    if (row && row.alerted & bit) return;
    // 100 % implies 80 %: a jump past both sends both, in order.
    if (threshold === 100) this.alert(day, 80, spent);
    this.sql.exec('INSERT INTO days (day, spent, alerted) VALUES (?, 0, ?) ON CONFLICT (day) DO UPDATE SET alerted = alerted | excluded.alerted', day, bit);
    const url = settings.alertUrl;
    if (!url) return;
    const body = { day: utcDay(day * DAY_MS), threshold, spent, budget: settings.daily };
    console.warn(JSON.stringify({ level: 'warn', event: 'spend_alert', ...body }));
    this.ctx.waitUntil(
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .then((response) => response.body?.cancel())
        .catch(logError('spend_alert_failed')),
    );
  }
}
