// @ts-check
/**
 * robots.txt as RFC 9309 reads it, for `npm run knowledge`: the group for our product
 * token (else the `*` group), its Allow and Disallow rules with `*` and `$`, the longest
 * match winning and Allow winning a tie; and the file's `Sitemap:` lines.
 */

/** The product token the knowledge command crawls as (its User-Agent starts with it). */
export const PRODUCT_TOKEN = 'gemini-edge-knowledge';

/**
 * @typedef {{ allow: boolean, pattern: string }} RobotsRule
 * @typedef {{ isAllowed: (url: URL) => boolean, sitemaps: string[] }} Robots
 */

/** Everything allowed: no robots.txt (a 4xx), as RFC 9309 §2.3.1.3 says. */
export const ALLOW_ALL = /** @type {Robots} */ ({ isAllowed: () => true, sitemaps: [] });

/** Nothing allowed: robots.txt unreachable or a 5xx, as RFC 9309 §2.3.1.4 says. */
export const DISALLOW_ALL = /** @type {Robots} */ ({ isAllowed: () => false, sitemaps: [] });

/**
 * Reads a robots.txt for `agent` (a product token, matched case-insensitively).
 * @param {string} text
 * @param {string} [agent]
 * @returns {Robots}
 * @example
 * parseRobots('User-agent: *\nDisallow: /private\n').isAllowed(new URL('https://example.com/private/x')) // false
 */
export function parseRobots(text, agent = PRODUCT_TOKEN) {
  /** @type {{ agents: string[], rules: RobotsRule[] }[]} */
  const groups = [];
  /** @type {string[]} */
  const sitemaps = [];
  /** @type {{ agents: string[], rules: RobotsRule[] } | null} */
  let group = null;
  let lastWasAgent = false;
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    const line = raw.replace(/#.*/, '').trim();
    const match = /^([A-Za-z-]+)\s*:\s*(.*)$/.exec(line);
    if (!match) continue;
    const key = match[1].toLowerCase();
    const value = match[2].trim();
    if (key === 'user-agent') {
      // Consecutive User-agent lines open one group together (RFC 9309 §2.1).
      if (!group || !lastWasAgent) groups.push((group = { agents: [], rules: [] }));
      group.agents.push(value.toLowerCase());
      lastWasAgent = true;
    } else if (key === 'allow' || key === 'disallow') {
      lastWasAgent = false;
      // An empty Disallow allows everything: it adds no rule.
      if (group && value) group.rules.push({ allow: key === 'allow', pattern: value });
    } else if (key === 'sitemap') {
      if (value) sitemaps.push(value);
    } else {
      lastWasAgent = false;
    }
  }

  const token = agent.toLowerCase();
  const own = groups.filter((g) => g.agents.includes(token));
  const chosen = own.length > 0 ? own : groups.filter((g) => g.agents.includes('*'));
  const rules = chosen.flatMap((g) => g.rules).map((rule) => {
    const pattern = normalizePath(rule.pattern);
    return { allow: rule.allow, length: pattern.length, regex: patternRegex(pattern) };
  });

  return {
    sitemaps,
    isAllowed(url) {
      const path = normalizePath(url.pathname + url.search);
      /** @type {(typeof rules)[number] | null} */
      let best = null;
      for (const rule of rules) {
        if (!rule.regex.test(path)) continue;
        if (!best || rule.length > best.length || (rule.length === best.length && rule.allow)) best = rule;
      }
      return best ? best.allow : true;
    },
  };
}

/**
 * A path with its percent-encodings in one form: escapes of unreserved characters decoded,
 * the others upper-cased, and characters outside ASCII encoded (RFC 9309 §2.2.2).
 * @param {string} path
 */
function normalizePath(path) {
  return path
    .replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c))
    .replace(/%([0-9a-fA-F]{2})/g, (escape, hex) => {
      const char = String.fromCharCode(parseInt(hex, 16));
      return /[A-Za-z0-9\-._~]/.test(char) ? char : `%${hex.toUpperCase()}`;
    });
}

/**
 * A rule's pattern as a regular expression matching paths from their start: `*` is any
 * run of characters, a final `$` anchors the end.
 * @param {string} pattern
 */
function patternRegex(pattern) {
  const anchored = pattern.endsWith('$');
  const body = anchored ? pattern.slice(0, -1) : pattern;
  const source = body.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${source}${anchored ? '$' : ''}`);
}
