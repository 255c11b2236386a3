// @ts-check
/**
 * Sitemaps (sitemaps.org 0.9), for `npm run knowledge`: a `<urlset>` lists pages, a
 * `<sitemapindex>` lists further sitemaps; each entry's address is its `<loc>`.
 */

/**
 * @typedef {{ kind: 'urlset' | 'index', locs: string[] }} Sitemap
 */

const ENTITIES = /** @type {Record<string, string>} */ ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" });

/**
 * The entries of a sitemap, in the file's order; `null` when the text is not a sitemap.
 * A regular expression is enough here: `<loc>` holds text only (or one CDATA section),
 * with XML's five entities and character references.
 * @param {string} xml
 * @returns {Sitemap | null}
 * @example
 * parseSitemap('<urlset><url><loc>https://example.com/a?x=1&amp;y=2</loc></url></urlset>')
 * // { kind: 'urlset', locs: ['https://example.com/a?x=1&y=2'] }
 */
export function parseSitemap(xml) {
  const text = xml.replace(/<!--[\s\S]*?-->/g, '');
  const root = /<(?:[A-Za-z_][\w.-]*:)?(urlset|sitemapindex)[\s>]/.exec(text);
  if (!root) return null;
  const locs = [];
  for (const match of text.matchAll(/<(?:[A-Za-z_][\w.-]*:)?loc\s*>([\s\S]*?)<\/(?:[A-Za-z_][\w.-]*:)?loc\s*>/g)) {
    const cdata = /^\s*<!\[CDATA\[([\s\S]*?)\]\]>\s*$/.exec(match[1]);
    const loc = (cdata ? cdata[1] : decodeEntities(match[1])).trim();
    if (loc) locs.push(loc);
  }
  return { kind: root[1] === 'urlset' ? 'urlset' : 'index', locs };
}

/**
 * Whether an address names a sitemap rather than a page: its path ends in `.xml` or `.xml.gz`.
 * @param {URL} url
 */
export function looksLikeSitemap(url) {
  return /\.xml(\.gz)?$/i.test(url.pathname);
}

/** @param {string} text */
function decodeEntities(text) {
  return text.replace(/&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g, (entity, hex, dec, name) => {
    if (name) return ENTITIES[name];
    const code = hex ? parseInt(hex, 16) : parseInt(dec, 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : entity;
  });
}
