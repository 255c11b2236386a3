// @ts-check
/**
 * File names for knowledge pages, from their address: the build numbers the pages in the
 * order of their file names, so a name must be meaningful, stable, and the same on every run.
 */
import { createHash } from 'node:crypto';

const MAX_STEM = 80;
const PAGE_EXTENSION = /\.(html?|php|aspx?|jsp|md|markdown)$/i;

/**
 * A file stem (no `.md`) from a path: its segments, lowercased and reduced to `[a-z0-9-]`,
 * joined by `--`; the query string as further segments; `index.html` and a trailing `/`
 * name their folder; the root is `index`.
 * @param {string} path a URL's path and query, or a relative file path with `/`s
 * @example
 * stemFor('/docs/install.html') // 'docs--install'
 * stemFor('/Blog/Café/?page=2') // 'blog--cafe--page-2'
 */
export function stemFor(path) {
  const [pathname, query = ''] = path.split('?', 2);
  const segments = pathname.split('/').filter(Boolean).map(decode);
  const last = segments.length - 1;
  if (last >= 0 && /^index$/i.test(segments[last].replace(PAGE_EXTENSION, ''))) segments.pop();
  else if (last >= 0) segments[last] = segments[last].replace(PAGE_EXTENSION, '');
  const parts = [...segments, ...query.split('&').filter(Boolean).map(decode)].map(slug).filter(Boolean);
  const stem = parts.join('--').slice(0, MAX_STEM).replace(/-+$/, '');
  return stem || 'index';
}

/**
 * Unique file names for pages, given in a stable order (the caller sorts them): each page's
 * stem plus `.md`, a repeated stem (or one in `taken`) suffixed `-2`, `-3`, … in that order.
 * @param {string[]} stems
 * @param {Set<string>} taken file names already in use by files this run does not own
 * @returns {string[]}
 */
export function uniqueFileNames(stems, taken) {
  const used = new Set(taken);
  return stems.map((stem) => {
    let name = `${stem}.md`;
    for (let n = 2; used.has(name); n++) name = `${stem}-${n}.md`;
    used.add(name);
    return name;
  });
}

/**
 * One path segment as `[a-z0-9-]`: accents dropped, anything else a `-`; a segment with no
 * Latin letter or digit at all (`/日本語`) becomes `x` and 8 hex digits of its hash, so it
 * still names the same page on every run.
 * @param {string} segment
 */
function slug(segment) {
  const ascii = segment
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (ascii || !segment.trim()) return ascii;
  return `x${createHash('sha256').update(segment).digest('hex').slice(0, 8)}`;
}

/** @param {string} text */
function decode(text) {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
