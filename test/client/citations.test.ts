import { describe, expect, it } from 'vitest';
import { citedSources } from '../../src/protocol/citations';
import { citationTargets } from '../../src/widget/citations';

const teas = { title: 'Our teas', url: 'https://shop.example/teas' };
const shipping = { title: 'Shipping', url: 'https://shop.example/shipping' };
const returns = { title: 'Returns', url: 'https://shop.example/returns' };
const PAGES = [teas, shipping, returns];

/** The widget's reading of an answer, given the `sources` the Worker computed for it. */
const targets = (text: string, pages = PAGES) => Object.fromEntries(citationTargets(text, citedSources(text, pages)));

describe("the widget's citation links", () => {
  it('maps each cited number to its page, the sources being in the order of first citation', () => {
    expect(targets('Ships fast [2]. Sencha [1][2]. Returns [3].')).toEqual({ 1: teas, 2: shipping, 3: returns });
  });

  it('leaves numbers that name no page unlinked, wherever they appear', () => {
    expect(targets('A [9]. B [2]. C [0]. D [1]. E [4].')).toEqual({ 1: teas, 2: shipping });
    expect(targets('A [07]. B [3].')).toEqual({ 3: returns });
    expect(targets('A [12]. B [3]. C [2].', [teas, shipping, returns])).toEqual({ 2: shipping, 3: returns });
  });

  it('links nothing without sources, and no marker to a grounding source after the cited pages', () => {
    expect(targets('Nothing cited [1].', [])).toEqual({});
    const grounding = { title: 'example.com', url: 'https://example.com/' };
    expect(Object.fromEntries(citationTargets('Ships fast [2].', [shipping, grounding]))).toEqual({ 2: shipping });
  });

  it('agrees with the Worker on random answers', () => {
    for (let i = 0; i < 500; i++) {
      const pages = PAGES.slice(0, 1 + (i % 3));
      const text = Array.from({ length: 1 + (i % 7) }, (_, k) => `S${k} [${(i * 7 + k * 13) % 6}].`).join(' ');
      const map = citationTargets(text, citedSources(text, pages));
      for (const [n, source] of map) expect(source).toBe(pages[n - 1]);
      expect(map.size).toBe(citedSources(text, pages).length);
    }
  });
});
