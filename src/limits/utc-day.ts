/** One UTC day in milliseconds: the limits' days and the stats' days both run midnight to midnight UTC. */
export const DAY_MS = 86_400_000;

/** The UTC day of an epoch-ms time as a number (days since 1970-01-01), as the limits store it. */
export function dayNumber(at: number): number {
  return Math.floor(at / DAY_MS);
}

/** The UTC day of an epoch-ms time: `YYYY-MM-DD`. */
export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** Milliseconds from an epoch-ms time to the next UTC midnight (a whole day at midnight itself). */
export function msToMidnight(at: number): number {
  return DAY_MS - (at % DAY_MS);
}

/** Whole seconds to the next UTC midnight, rounded up (never 0): a daily allowance's `Retry-After` and reset. */
export function secondsToMidnight(at: number): number {
  return Math.ceil(msToMidnight(at) / 1000);
}
