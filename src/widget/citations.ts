import { CITATION_MARKER } from '../protocol/citations.js';
import type { Source } from '../protocol/events.js';
import { safeHref } from './markdown.js';

/**
 * Which page each citation marker of a site assistant's answer names, from the
 * answer's text and its `sources`. The Worker lists the pages the text cites
 * (numbers 1…N, N unknown here), each once, in the order of first citation
 * (`citedSources`); a number outside 1…N names no page. So the cited numbers
 * are the smallest `sources.length` distinct ones, and the k-th of them to
 * appear is `sources[k]`. Sources beyond those are grounding, cited by no marker.
 * @example citationTargets('Yes [2]. No [9]. Also [1].', [shipping, teas]) // Map { 2 → shipping, 1 → teas }
 */
export function citationTargets(text: string, sources: readonly Source[]): Map<number, Source> {
  const numbers: number[] = [];
  for (const [, digits] of text.matchAll(CITATION_MARKER)) {
    const n = Number(digits);
    if (n > 0 && !numbers.includes(n)) numbers.push(n);
  }
  const highest = numbers.length > sources.length ? [...numbers].sort((a, b) => a - b)[sources.length - 1] ?? 0 : Infinity;
  const targets = new Map<number, Source>();
  for (const n of numbers) if (n <= highest) targets.set(n, sources[targets.size]!);
  return targets;
}

/**
 * Turns the markers in `box`'s rendered Markdown into links to the pages they
 * cite (`[n]`, named by the page's title), outside code and links; a marker
 * that names no page, or a page without a safe URL, stays text.
 */
export function linkCitations(box: HTMLElement, targets: Map<number, Source>): void {
  if (!targets.size) return;
  const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
  const texts: Text[] = [];
  while (walker.nextNode()) texts.push(walker.currentNode as Text);
  for (const node of texts) {
    if (node.parentElement?.closest('a,code')) continue;
    // With the marker's group captured, the odd pieces are the numbers.
    const pieces = node.data.split(new RegExp(CITATION_MARKER.source));
    if (pieces.length < 2) continue;
    node.replaceWith(
      ...pieces.map((piece, i) => {
        const source = i % 2 ? targets.get(Number(piece)) : undefined;
        const href = source ? safeHref(source.url) : '';
        if (!href) return i % 2 ? `[${piece}]` : piece;
        const a = document.createElement('a');
        a.className = 'cite';
        a.href = href;
        a.rel = 'noopener noreferrer';
        a.target = '_blank';
        a.title = source!.title;
        a.setAttribute('aria-label', source!.title);
        a.textContent = `[${piece}]`;
        return a;
      }),
    );
  }
}
