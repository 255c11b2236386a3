import type { Env } from '../env';
import { utcDay } from '../limits/utc-day';
import { metricsOf, type Tally } from './metrics';
import type { CounterRow, StatsDay } from './stats-day';

/** How long counts wait in the isolate before they go to their day's object: one write per isolate per second, at most. */
export const FLUSH_MS = 1000;
/** Distinct counters that make a batch go at once, whatever its age. */
const FLUSH_COUNTERS = 256;

/** Counters not yet sent, by `day \t assistant \t model \t metric`. */
let pending = new Map<string, number>();
let flushing: Promise<void> | undefined;
let flushNow: (() => void) | undefined;

/**
 * Counts a request or a turn for the dashboard, off the hot path: it adds to
 * this isolate's batch (a few map writes, nothing awaited) and, when no flush
 * is due, schedules one {@link FLUSH_MS} later with `waitUntil`, which sends
 * the whole batch to each day's {@link StatsDay} in one call. A response never
 * waits for it. Counts lost with an isolate that dies in that second, or with a
 * day object that fails, are lost: the numbers are for the owner's eyes, not
 * for billing (the limits have their own exact counters).
 */
export function countForDashboard(env: Env, waitUntil: (promise: Promise<unknown>) => void, tally: Tally): void {
  const day = utcDay(tally.at);
  for (const [model, metric, amount] of metricsOf(tally)) {
    const key = `${day}\t${tally.assistant}\t${model}\t${metric}`;
    pending.set(key, (pending.get(key) ?? 0) + amount);
  }
  if (flushing === undefined) {
    flushing = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FLUSH_MS);
      flushNow = () => {
        clearTimeout(timer);
        resolve();
      };
    }).then(() => flush(env));
    waitUntil(flushing);
  } else if (pending.size >= FLUSH_COUNTERS) {
    flushNow?.();
  }
}

async function flush(env: Env): Promise<void> {
  const batch = pending;
  pending = new Map();
  flushing = undefined;
  flushNow = undefined;
  const byDay = new Map<string, CounterRow[]>();
  for (const [key, amount] of batch) {
    const [day, assistant, model, metric] = key.split('\t') as [string, string, string, string];
    let rows = byDay.get(day);
    if (!rows) byDay.set(day, (rows = []));
    rows.push([assistant, model, metric, amount]);
  }
  await Promise.all(
    [...byDay].map(([day, rows]) =>
      statsDay(env, day)
        .add(day, rows)
        .catch((error: unknown) => console.error(JSON.stringify({ level: 'error', event: 'stats_flush_failed', day, error: String(error) }))),
    ),
  );
}

/** The object that holds one UTC day's counts and ratings. */
export function statsDay(env: Env, day: string): DurableObjectStub<StatsDay> {
  return env.STATS.get(env.STATS.idFromName(`day:${day}`));
}
