/**
 * Citation markers: a site assistant cites its pages as `[1]`, `[2][3]`, a
 * page's number in brackets right after the sentence it supports. The Worker
 * turns the cited pages into the answer's `sources`; the widget turns the
 * markers into links to them. Shared, so both read a marker the same way.
 */
import type { Source } from './events.js';

/** One marker: a page number of one to three digits in square brackets. */
export const CITATION_MARKER = /\[(\d{1,3})\]/g;

/**
 * The pages an answer cites, each once, in the order of first citation; a
 * marker that names no page (`[0]`, `[99]` of 3 pages) is left out.
 * @example citedSources('Yes [2]. Also [1][2].', pages) // [pages[1], pages[0]]
 */
export function citedSources(text: string, pages: readonly Source[]): Source[] {
  const cited: Source[] = [];
  const seen = new Set<number>();
  for (const match of text.matchAll(CITATION_MARKER)) {
    const n = Number(match[1]);
    if (n < 1 || n > pages.length || seen.has(n)) continue;
    seen.add(n);
    cited.push(pages[n - 1]!);
  }
  return cited;
}
