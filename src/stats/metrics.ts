import type { Usage } from '../protocol/events';

/**
 * What the dashboard counts, as named counters: one row per (day, assistant,
 * model, metric) in the day's {@link StatsDay}. A request counts under model
 * `''` (a refusal may come before any model is known); tokens and answers under
 * the model that answered, which is what a spend estimate needs.
 */
type Metric =
  | 'requests'
  | 'answers'
  | 'cancelled'
  | `tokens.${TokenKind}`
  | `error.${string}`
  | `refusal.${RefusalReason}`
  | `ttft.${number}`;

export type TokenKind = 'prompt' | 'output' | 'thinking' | 'cached';

/** Why a request was refused before Gemini was called. */
export type RefusalReason = 'origin' | 'limits' | 'challenge' | 'auth' | 'input';

/** Refusals by code; every other code is an error. Codes of limits added later (a deployment cap, a challenge) are here by name. */
const REFUSALS: Record<string, RefusalReason> = {
  origin_not_allowed: 'origin',
  rate_limited: 'limits',
  budget_exhausted: 'limits',
  deployment_budget_exhausted: 'limits',
  challenge_failed: 'challenge',
  invalid_api_key: 'auth',
  invalid_json: 'input',
  invalid_request: 'input',
  model_not_allowed: 'input',
  too_large: 'input',
  unsupported_media_type: 'input',
  not_found: 'input',
  too_many_files: 'input',
  turn_in_progress: 'input',
  assistant_gone: 'input',
};

/** The refusal reason of an error code, or undefined when the code is an error (Gemini's, or ours). */
function refusalReason(code: string): RefusalReason | undefined {
  return REFUSALS[code];
}

/**
 * Upper bounds of the time-to-first-token histogram, in ms; a last bucket holds the rest.
 * Fixed forever: stored counters name their bucket by its bound.
 */
export const TTFT_BUCKETS_MS: readonly number[] = [100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 8000, 13000, 20000];
/** The bucket past the last bound. */
export const TTFT_OVERFLOW = 0;

/** The counter of the bucket `ms` falls in: `ttft.<bound>`, or `ttft.0` past the last bound. */
function ttftMetric(ms: number): Metric {
  for (const bound of TTFT_BUCKETS_MS) if (ms <= bound) return `ttft.${bound}`;
  return `ttft.${TTFT_OVERFLOW}`;
}

/**
 * How one request or turn ended, as the request log or the chat's turn knows it.
 * `outcome`: `request` counts the request itself; an `answer` or an `error` code its end.
 */
export interface Tally {
  at: number;
  assistant: string;
  model: string;
  request: boolean;
  /** The code it ended with (a refusal, an error, `cancelled`); absent: an answer, when `answered`. */
  errorCode?: string;
  answered?: boolean;
  usage?: Usage;
  ttftMs?: number;
}

/** The counters one {@link Tally} adds to: [model, metric, amount]. */
export function metricsOf(tally: Tally): [model: string, metric: Metric, amount: number][] {
  const out: [string, Metric, number][] = [];
  if (tally.request) out.push(['', 'requests', 1]);
  if (tally.errorCode !== undefined) {
    const reason = refusalReason(tally.errorCode);
    if (reason) out.push(['', `refusal.${reason}`, 1]);
    else if (tally.errorCode === 'cancelled') out.push([tally.model, 'cancelled', 1]);
    else out.push([tally.model, `error.${tally.errorCode}`, 1]);
  } else if (tally.answered) {
    out.push([tally.model, 'answers', 1]);
  }
  const usage = tally.usage;
  if (usage) {
    const add = (kind: TokenKind, n: number | undefined) => {
      if (n) out.push([tally.model, `tokens.${kind}`, n]);
    };
    add('prompt', usage.promptTokenCount);
    add('output', usage.candidatesTokenCount);
    add('thinking', usage.thoughtsTokenCount);
    add('cached', usage.cachedContentTokenCount);
  }
  if (tally.ttftMs !== undefined) out.push([tally.model, ttftMetric(tally.ttftMs), 1]);
  return out;
}
