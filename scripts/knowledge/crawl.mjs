// @ts-check
/**
 * Gathers a site's pages for `npm run knowledge`: from a sitemap (the one given, else the
 * site's `/sitemap.xml`, else those its robots.txt names), or else by following links
 * breadth-first from the start page. Same origin only, robots.txt respected, at most
 * `maxPages` pages, only `text/html` answers.
 */
import { decodeBody, fetchResource, mediaType } from './fetch-resource.mjs';
import { htmlToPage } from './extract.mjs';
import { ALLOW_ALL, DISALLOW_ALL, parseRobots } from './robots.mjs';
import { looksLikeSitemap, parseSitemap } from './sitemap.mjs';

/** Requests in flight at once: light on the site, and the order of pages stays fixed. */
const CONCURRENCY = 4;
/** Sitemap files read at most, an index's children included. */
const MAX_SITEMAPS = 50;
/** A sitemap may be 50 MB uncompressed (sitemaps.org); robots.txt is read up to 500 KiB at least (RFC 9309). */
const SITEMAP_BYTES = 50 * 1024 * 1024;
const ROBOTS_BYTES = 512 * 1024;
/** Links to files that are not pages are not followed. */
const NOT_A_PAGE = /\.(pdf|zip|gz|tgz|tar|7z|rar|png|jpe?g|gif|webp|avif|svg|ico|bmp|tiff?|mp[34]|webm|mov|avi|wav|ogg|woff2?|ttf|otf|eot|css|js|mjs|json|xml|rss|atom|txt|csv|docx?|xlsx?|pptx?|odt|ods|epub|dmg|exe|msi|apk|deb|rpm|iso)$/i;

/**
 * What a crawl found. `failed`: pages with no usable answer (the writer keeps such a page's
 * previous file); `skipped`: pages that answered with nothing to keep; `otherHostEntries`:
 * sitemap entries (and sitemaps) on other hosts; `otherHostLinks`: links to other hosts,
 * counted by host; `via`: how the pages were found; `left`: pages known but not fetched
 * because of `maxPages`; `fatal`: why nothing could be fetched at all.
 * @typedef {{
 *   pages: SitePage[],
 *   failed: Skip[],
 *   skipped: Skip[],
 *   disallowed: string[],
 *   otherHostEntries: string[],
 *   otherHostLinks: Map<string, number>,
 *   via: string,
 *   left: number,
 *   fatal: string | null,
 * }} Crawl
 * @typedef {import('./fetch-resource.mjs').FetchLimits} FetchLimits
 * @typedef {{ url: string, title: string, markdown: string }} SitePage
 * @typedef {{ url: string, reason: string }} Skip
 */

/**
 * Fetches the pages of the site at `start` (a page or a sitemap).
 * @param {URL} start
 * @param {{ maxPages: number, limits: FetchLimits }} options
 * @returns {Promise<Crawl>}
 */
export async function crawlSite(start, { maxPages, limits }) {
  /** @type {Crawl} */
  const crawl = {
    pages: [],
    failed: [],
    skipped: [],
    disallowed: [],
    otherHostEntries: [],
    otherHostLinks: new Map(),
    via: '',
    left: 0,
    fatal: null,
  };
  const origin = start.origin;

  const robotsUrl = new URL('/robots.txt', origin);
  const robotsAnswer = await fetchResource(robotsUrl, { limits: { ...limits, maxBytes: ROBOTS_BYTES }, accept: 'text/plain' });
  const robots =
    robotsAnswer.kind === 'ok'
      ? parseRobots(decodeBody(robotsAnswer.body, robotsAnswer.contentType))
      : robotsAnswer.kind === 'skipped'
        ? ALLOW_ALL
        : DISALLOW_ALL;
  if (robotsAnswer.kind === 'error') {
    // RFC 9309 §2.3.1.4: an unreachable robots.txt means the whole site is disallowed.
    crawl.fatal = `could not read ${robotsUrl.href} (${robotsAnswer.reason}), so nothing may be crawled`;
    return crawl;
  }

  /** @type {URL[] | null} */
  let listed = null;
  if (looksLikeSitemap(start)) {
    listed = await readSitemaps(start, origin, limits, crawl, true);
    if (!listed) return crawl;
    crawl.via = `the sitemap ${start.href}`;
  } else {
    const candidates = [new URL('/sitemap.xml', origin), ...robots.sitemaps.flatMap((href) => absolute(href, origin) ?? [])];
    const tried = new Set();
    for (const sitemap of candidates) {
      if (sitemap.origin !== origin || tried.has(sitemap.href)) continue;
      tried.add(sitemap.href);
      // An empty sitemap lists nothing to go by: the links still may.
      listed = await readSitemaps(sitemap, origin, limits, crawl, false);
      if (listed?.length === 0) listed = null;
      if (listed) {
        crawl.via = `the site's sitemap ${sitemap.href}`;
        break;
      }
    }
  }

  /** @type {Set<string>} */
  const seen = new Set();
  /** @type {URL[]} */
  const queue = [];
  /** @param {URL} url @param {'entry' | 'link'} from */
  const enqueue = (url, from) => {
    const page = new URL(url);
    page.hash = '';
    if (seen.has(page.href)) return;
    seen.add(page.href);
    if (page.origin !== origin) {
      if (from === 'entry') crawl.otherHostEntries.push(page.href);
      else crawl.otherHostLinks.set(page.host, (crawl.otherHostLinks.get(page.host) ?? 0) + 1);
    } else if (from === 'link' && NOT_A_PAGE.test(page.pathname)) {
      // A file, not a page.
    } else if (!robots.isAllowed(page)) {
      crawl.disallowed.push(page.href);
    } else {
      queue.push(page);
    }
  };

  if (listed) {
    for (const url of listed) enqueue(url, 'entry');
  } else {
    crawl.via = `links from ${start.href}`;
    enqueue(start, 'link');
  }

  /** @type {Set<string>} */
  const fetched = new Set();
  while (queue.length > 0 && crawl.pages.length < maxPages) {
    const batch = queue.splice(0, Math.min(CONCURRENCY, maxPages - crawl.pages.length));
    const answers = await Promise.all(batch.map((url) => fetchPage(url, limits, robots.isAllowed)));
    for (const [i, answer] of answers.entries()) {
      const url = batch[i].href;
      if (answer.kind !== 'page') {
        (answer.kind === 'failed' ? crawl.failed : crawl.skipped).push({ url, reason: answer.reason });
      } else if (fetched.has(answer.page.url)) {
        crawl.skipped.push({ url, reason: `the same page as ${answer.page.url}` });
      } else {
        fetched.add(answer.page.url);
        crawl.pages.push(answer.page);
        if (!listed) for (const link of answer.links) enqueue(link, 'link');
      }
    }
  }
  crawl.left = queue.length;
  return crawl;
}

/**
 * One page: fetched, checked to be HTML, turned into Markdown.
 * @param {URL} url
 * @param {FetchLimits} limits
 * @param {(url: URL) => boolean} isAllowed
 * @returns {Promise<{ kind: 'page', page: SitePage, links: URL[] } | { kind: 'skipped' | 'failed', reason: string }>}
 */
async function fetchPage(url, limits, isAllowed) {
  const answer = await fetchResource(url, { limits, accept: 'text/html', isAllowed });
  if (answer.kind === 'error') return { kind: 'failed', reason: answer.reason };
  if (answer.kind === 'skipped') return answer;
  const type = mediaType(answer.contentType);
  if (type !== 'text/html') return { kind: 'skipped', reason: `not HTML: ${type || 'no Content-Type'}` };
  const { title, markdown, links } = htmlToPage(decodeBody(answer.body, answer.contentType), answer.url);
  if (!markdown) return { kind: 'skipped', reason: 'no text in its main content' };
  return { kind: 'page', page: { url: answer.url.href, title, markdown }, links };
}

/**
 * The pages a sitemap lists, through the sitemaps of an index (same origin only), in
 * order; `null` when `sitemap` itself is not a sitemap (a fatal error when `required`).
 * @param {URL} sitemap
 * @param {string} origin
 * @param {FetchLimits} limits
 * @param {Crawl} crawl
 * @param {boolean} required
 * @returns {Promise<URL[] | null>}
 */
async function readSitemaps(sitemap, origin, limits, crawl, required) {
  /** @type {URL[]} */
  const pages = [];
  const queue = [sitemap];
  const read = new Set([sitemap.href]);
  for (let count = 0; queue.length > 0; count++) {
    const url = /** @type {URL} */ (queue.shift());
    if (count >= MAX_SITEMAPS) {
      crawl.skipped.push({ url: url.href, reason: `more than ${MAX_SITEMAPS} sitemaps` });
      continue;
    }
    const answer = await fetchResource(url, { limits: { ...limits, maxBytes: SITEMAP_BYTES }, accept: 'application/xml, text/xml' });
    const parsed = answer.kind === 'ok' ? parseSitemap(decodeBody(answer.body, answer.contentType)) : null;
    if (!parsed) {
      const why = answer.kind === 'ok' ? 'not a sitemap' : answer.reason;
      if (count === 0) {
        if (required) crawl.fatal = `could not read the sitemap ${url.href} (${why})`;
        return null;
      }
      crawl.skipped.push({ url: url.href, reason: why });
      continue;
    }
    for (const loc of parsed.locs) {
      const entry = absolute(loc, url);
      if (!entry) continue;
      if (parsed.kind === 'urlset') pages.push(entry);
      else if (entry.origin !== origin) crawl.otherHostEntries.push(entry.href);
      else if (!read.has(entry.href)) {
        read.add(entry.href);
        queue.push(entry);
      }
    }
  }
  return pages;
}

/**
 * An absolute http(s) address from a possibly relative one, or `null`.
 * @param {string} href
 * @param {URL | string} base
 */
function absolute(href, base) {
  try {
    const url = new URL(href, base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}
