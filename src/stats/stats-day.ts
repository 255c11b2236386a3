import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import { DAY_MS } from '../limits/utc-day';

/** One counter's increment: assistant, model, metric, amount. */
export type CounterRow = [assistant: string, model: string, metric: string, amount: number];

/** A rated answer, as the dashboard lists it. */
export interface Rating {
  /** When it was rated (epoch ms). */
  at: number;
  rating: 'up' | 'down' | null;
  assistant: string;
  model: string;
  /** The chat's id prefix (8 characters, as the logs show it), and the rated message's id. */
  chat: string;
  messageId: number;
  /** Only with ADMIN_SHOW_TRANSCRIPTS on when it was rated: the question and the answer, each cut to {@link TRANSCRIPT_CHARS}. */
  question?: string;
  answer?: string;
}

/** A day's ratings kept, newest first: enough to see what goes wrong, bounded whatever the traffic. */
const RATINGS_PER_DAY = 200;
/** Characters of a question or an answer kept with a rating. */
const TRANSCRIPT_CHARS = 2000;
/** How long a day's object keeps its data: the dashboard shows 30 days. */
const RETENTION_DAYS = 32;

/**
 * One UTC day of the dashboard's numbers (SQLite): a counter per (assistant,
 * model, metric), added to in batches by every isolate ({@link countForDashboard}),
 * and the day's latest ratings. One object per day spreads the writes over
 * time and makes retention a delete: each object erases itself
 * {@link RETENTION_DAYS} days after its day.
 */
export class StatsDay extends DurableObject<Env> {
  private expiring = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS counters (
        assistant TEXT NOT NULL,
        model TEXT NOT NULL,
        metric TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (assistant, model, metric)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS ratings (
        ref TEXT PRIMARY KEY,
        at INTEGER NOT NULL,
        rating TEXT,
        assistant TEXT NOT NULL,
        model TEXT NOT NULL,
        chat TEXT NOT NULL,
        message_id INTEGER NOT NULL,
        question TEXT,
        answer TEXT
      );
      CREATE INDEX IF NOT EXISTS ratings_at ON ratings (at);`);
  }

  /** Adds a batch of counter increments, in one transaction. */
  async add(day: string, rows: readonly CounterRow[]): Promise<void> {
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      for (const [assistant, model, metric, amount] of rows) {
        sql.exec(
          'INSERT INTO counters (assistant, model, metric, value) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = value + excluded.value',
          assistant,
          model,
          metric,
          amount,
        );
      }
    });
    await this.expireAfter(day);
  }

  /**
   * Records a rating, replacing the same message's earlier one of this day (`ref`
   * names the message); keeps the newest {@link RATINGS_PER_DAY}.
   */
  async rate(day: string, ref: string, rating: Rating): Promise<void> {
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      sql.exec(
        `INSERT OR REPLACE INTO ratings (ref, at, rating, assistant, model, chat, message_id, question, answer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ref,
        rating.at,
        rating.rating,
        rating.assistant,
        rating.model,
        rating.chat,
        rating.messageId,
        rating.question?.slice(0, TRANSCRIPT_CHARS) ?? null,
        rating.answer?.slice(0, TRANSCRIPT_CHARS) ?? null,
      );
      sql.exec('DELETE FROM ratings WHERE ref IN (SELECT ref FROM ratings ORDER BY at DESC LIMIT -1 OFFSET ?)', RATINGS_PER_DAY);
    });
    await this.expireAfter(day);
  }

  /** The day's counters and ratings (newest first, each with the `ref` of its message). */
  async read(): Promise<{ counters: CounterRow[]; ratings: (Rating & { ref: string })[] }> {
    const sql = this.ctx.storage.sql;
    const counters = sql
      .exec<{ assistant: string; model: string; metric: string; value: number }>('SELECT assistant, model, metric, value FROM counters')
      .toArray()
      .map((r): CounterRow => [r.assistant, r.model, r.metric, r.value]);
    const ratings = sql
      .exec<{ ref: string; at: number; rating: string | null; assistant: string; model: string; chat: string; message_id: number; question: string | null; answer: string | null }>(
        'SELECT * FROM ratings ORDER BY at DESC',
      )
      .toArray()
      .map((r) => {
        const rating: Rating & { ref: string } = {
          ref: r.ref,
          at: r.at,
          rating: r.rating === 'up' || r.rating === 'down' ? r.rating : null,
          assistant: r.assistant,
          model: r.model,
          chat: r.chat,
          messageId: r.message_id,
        };
        if (r.question !== null) rating.question = r.question;
        if (r.answer !== null) rating.answer = r.answer;
        return rating;
      });
    return { counters, ratings };
  }

  /** Erases everything {@link RETENTION_DAYS} days after the object's day. */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  private async expireAfter(day: string): Promise<void> {
    if (this.expiring) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.parse(`${day}T00:00:00Z`) + RETENTION_DAYS * DAY_MS);
    this.expiring = true;
  }
}
