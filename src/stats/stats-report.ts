import type { Env } from '../env';
import { priceFor, pricedModels, type ModelPrice } from '../gemini/models';
import { DAY_MS, utcDay } from '../limits/utc-day';
import { TTFT_BUCKETS_MS, TTFT_OVERFLOW, type RefusalReason, type TokenKind } from './metrics';
import { statsDay } from './stats-batch';
import type { Rating, StatsDay } from './stats-day';

/** The dashboard's numbers for one day, one assistant, or all of them. */
export interface Summary {
  /** Every request to a route that calls Gemini, refusals included. */
  requests: number;
  /** Answers that ended with `done`. */
  answers: number;
  /** Answers the reader left (or cancelled) before their end. */
  cancelled: number;
  tokens: Record<TokenKind, number>;
  /** The estimate in USD, from the catalogue's list prices (cached tokens at the input price). */
  spendUsd: number;
  /** Tokens of models the catalogue has no price for: not in `spendUsd`. */
  unpricedTokens: number;
  /** Failures by error code (Gemini's, timeouts, ours). */
  errors: Record<string, number>;
  /** Requests refused before Gemini was called, by reason. */
  refusals: Partial<Record<RefusalReason, number>>;
  /** Time to first text: answers counted, the histogram (one count per bucket of {@link TTFT_BOUNDS}), p50 and p95 as bucket bounds (ms; null: none, or past the last bound). */
  ttft: { count: number; buckets: number[]; p50Ms: number | null; p95Ms: number | null };
}

/** The buckets' upper bounds, in ms; the last bucket (null) holds the rest. */
export const TTFT_BOUNDS: readonly (number | null)[] = [...TTFT_BUCKETS_MS, null];

/** What `GET /admin/api/stats` answers. */
export interface StatsReport {
  /** The UTC days covered, oldest first (today last). */
  days: string[];
  assistants: string[];
  total: Summary;
  byAssistant: Record<string, Summary>;
  /** One per day of `days`, in order. */
  byDay: { day: string; total: Summary; byAssistant: Record<string, Summary> }[];
  /** The latest rated answers, newest first: the question and answer only with ADMIN_SHOW_TRANSCRIPTS. */
  ratings: Rating[];
  transcripts: boolean;
  /** The list prices the estimate used, per model, as of today. */
  prices: ({ model: string } & ModelPrice)[];
}

/** Days the dashboard shows. */
const REPORT_DAYS = 30;
/** Rated answers the dashboard lists. */
const REPORT_RATINGS = 50;

/**
 * The last {@link REPORT_DAYS} UTC days of counts and ratings, read from their day objects (one
 * call each, in parallel) and summed per day and per assistant.
 */
export async function readReport(env: Env, now: number, transcripts: boolean): Promise<StatsReport> {
  const days: string[] = [];
  for (let i = REPORT_DAYS - 1; i >= 0; i--) days.push(utcDay(now - i * DAY_MS));
  // (RPC loses the tuple type of a row.)
  const stored = (await Promise.all(days.map((day) => statsDay(env, day).read()))) as Awaited<ReturnType<StatsDay['read']>>[];
  const total = emptySummary();
  const byAssistant: Record<string, Summary> = {};
  const byDay: StatsReport['byDay'] = [];
  const seen = new Map<string, Rating>();
  stored.forEach(({ counters }, i) => {
    const day = days[i]!;
    const entry = { day, total: emptySummary(), byAssistant: {} as Record<string, Summary> };
    for (const [assistant, model, metric, value] of counters) {
      const price = model ? priceFor(model, day) : undefined;
      for (const summary of [total, entry.total, (byAssistant[assistant] ??= emptySummary()), (entry.byAssistant[assistant] ??= emptySummary())]) {
        addCounter(summary, metric, value, price);
      }
    }
    byDay.push(entry);
  });
  // Newest first; a message rated again (or taken back) on a later day shows only as rated last.
  for (let i = stored.length - 1; i >= 0; i--) {
    for (const { ref, ...rating } of stored[i]!.ratings) if (!seen.has(ref)) seen.set(ref, rating);
  }
  const ratings = [...seen.values()]
    .filter((r) => r.rating !== null)
    .sort((a, b) => b.at - a.at)
    .slice(0, REPORT_RATINGS)
    .map((r) => (transcripts ? r : withoutTranscript(r)));
  for (const summary of [total, ...Object.values(byAssistant), ...byDay.flatMap((d) => [d.total, ...Object.values(d.byAssistant)])]) finish(summary);
  const today = days.at(-1)!;
  return {
    days,
    assistants: Object.keys(byAssistant).sort(),
    total,
    byAssistant,
    byDay,
    ratings,
    transcripts,
    prices: pricedModels().map((model) => ({ model, ...priceFor(model, today)! })),
  };
}

function withoutTranscript({ question: _q, answer: _a, ...rating }: Rating): Rating {
  return rating;
}

/** A summary of nothing: every count 0, every bucket empty. */
export function emptySummary(): Summary {
  return {
    requests: 0,
    answers: 0,
    cancelled: 0,
    tokens: { prompt: 0, output: 0, thinking: 0, cached: 0 },
    spendUsd: 0,
    unpricedTokens: 0,
    errors: {},
    refusals: {},
    ttft: { count: 0, buckets: TTFT_BOUNDS.map(() => 0), p50Ms: null, p95Ms: null },
  };
}

function addCounter(summary: Summary, metric: string, value: number, price: ModelPrice | undefined): void {
  const dot = metric.indexOf('.');
  const family = dot < 0 ? metric : metric.slice(0, dot);
  const name = metric.slice(dot + 1);
  switch (family) {
    case 'requests':
    case 'answers':
    case 'cancelled':
      summary[family] += value;
      return;
    case 'tokens': {
      if (!(name in summary.tokens)) return;
      summary.tokens[name as TokenKind] += value;
      // Cached tokens are a part of the prompt's: priced with it (at the full input price).
      if (name === 'cached') return;
      if (!price) summary.unpricedTokens += value;
      else summary.spendUsd += (value * (name === 'prompt' ? price.inputPer1M : price.outputPer1M)) / 1e6;
      return;
    }
    case 'error':
      summary.errors[name] = (summary.errors[name] ?? 0) + value;
      return;
    case 'refusal':
      summary.refusals[name as RefusalReason] = (summary.refusals[name as RefusalReason] ?? 0) + value;
      return;
    case 'ttft': {
      const bound = Number(name);
      const index = bound === TTFT_OVERFLOW ? TTFT_BOUNDS.length - 1 : TTFT_BUCKETS_MS.indexOf(bound);
      if (index < 0) return;
      summary.ttft.buckets[index]! += value;
      summary.ttft.count += value;
    }
  }
}

/** p50 and p95 from the histogram: the upper bound of the bucket the quantile falls in. */
function finish(summary: Summary): void {
  const { ttft } = summary;
  summary.spendUsd = Math.round(summary.spendUsd * 1e6) / 1e6;
  const quantile = (q: number): number | null => {
    if (ttft.count === 0) return null;
    const rank = Math.ceil(q * ttft.count);
    let seen = 0;
    for (let i = 0; i < ttft.buckets.length; i++) {
      seen += ttft.buckets[i]!;
      if (seen >= rank) return TTFT_BOUNDS[i] ?? null;
    }
    return null;
  };
  ttft.p50Ms = quantile(0.5);
  ttft.p95Ms = quantile(0.95);
}
