// @ts-check
/**
 * One GET for `npm run knowledge`: redirects followed by hand (same origin only, each
 * hop checked against robots.txt), a timeout per request, a size cap on the body.
 */
import { gunzipSync } from 'node:zlib';
import { PRODUCT_TOKEN } from './robots.mjs';

/** Sent with every request: the robots.txt product token first. */
export const USER_AGENT = `${PRODUCT_TOKEN}/1.0 (gemini-edge npm run knowledge)`;

const MAX_REDIRECTS = 5;

/**
 * What a fetch gave. `skipped`: the site answered, with nothing to keep (a 404, a redirect
 * to another host, too large); `error`: no usable answer (no connection, a timeout, a 5xx).
 * @typedef {{ kind: 'ok', url: URL, contentType: string, body: Buffer }
 *   | { kind: 'skipped', url: URL, reason: string }
 *   | { kind: 'error', url: URL, reason: string }} FetchResult
 * @typedef {{ timeoutMs: number, maxBytes: number }} FetchLimits
 */

/**
 * Fetches `url`, following up to five redirects within `url`'s origin.
 * @param {URL} url
 * @param {{ limits: FetchLimits, accept: string, isAllowed?: (url: URL) => boolean }} options
 *   `isAllowed`: robots.txt's verdict, asked again for every redirect's target
 * @returns {Promise<FetchResult>}
 */
export async function fetchResource(url, { limits, accept, isAllowed }) {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    /** @type {Response} */
    let response;
    try {
      response = await fetch(current, {
        redirect: 'manual',
        headers: { 'user-agent': USER_AGENT, accept },
        signal: AbortSignal.timeout(limits.timeoutMs),
      });
    } catch (error) {
      return { kind: 'error', url: current, reason: failure(error, limits) };
    }

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next = new URL(location, current);
      next.hash = '';
      if (next.origin !== url.origin) return { kind: 'skipped', url: current, reason: `redirects to another host: ${next.href}` };
      if (isAllowed && !isAllowed(next)) return { kind: 'skipped', url: current, reason: `redirects to ${next.href}, which robots.txt disallows` };
      current = next;
      continue;
    }
    if (response.status >= 400 && response.status < 500) {
      await response.body?.cancel();
      return { kind: 'skipped', url: current, reason: `${response.status} ${response.statusText}`.trim() };
    }
    if (response.status !== 200 && response.status !== 203) {
      await response.body?.cancel();
      return { kind: 'error', url: current, reason: `${response.status} ${response.statusText}`.trim() };
    }

    const contentType = response.headers.get('content-type') ?? '';
    try {
      const body = await readCapped(response, limits.maxBytes);
      if (!body) return { kind: 'skipped', url: current, reason: `larger than ${limits.maxBytes} bytes` };
      return { kind: 'ok', url: current, contentType, body };
    } catch (error) {
      return { kind: 'error', url: current, reason: failure(error, limits) };
    }
  }
  return { kind: 'skipped', url: current, reason: `more than ${MAX_REDIRECTS} redirects` };
}

/**
 * A response's body, or `null` past `maxBytes` (the rest is not read).
 * @param {Response} response
 * @param {number} maxBytes
 */
async function readCapped(response, maxBytes) {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes || !response.body) {
    await response.body?.cancel();
    return declared > maxBytes ? null : Buffer.alloc(0);
  }
  /** @type {Uint8Array[]} */
  const chunks = [];
  let total = 0;
  const reader = response.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    total += read.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks);
}

/**
 * The media type of a Content-Type header, lowercased, without parameters.
 * @param {string} contentType
 */
export function mediaType(contentType) {
  return contentType.split(';')[0].trim().toLowerCase();
}

/**
 * A body as text: gunzipped if it is gzip (a `sitemap.xml.gz`), decoded with the charset
 * of the Content-Type, else of an HTML `<meta>` in its first 1024 bytes, else UTF-8.
 * @param {Buffer} body
 * @param {string} contentType
 */
export function decodeBody(body, contentType) {
  const bytes = body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body;
  const fromHeader = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
  const head = bytes.subarray(0, 1024).toString('latin1');
  const fromMeta = /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(head)?.[1];
  for (const label of [fromHeader, fromMeta, 'utf-8']) {
    if (!label) continue;
    try {
      return new TextDecoder(label).decode(bytes);
    } catch {
      // An unknown charset label: try the next source.
    }
  }
  return bytes.toString('utf8');
}

/**
 * A failed request in a few words.
 * @param {unknown} error
 * @param {FetchLimits} limits
 */
function failure(error, limits) {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${limits.timeoutMs / 1000} s`;
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : null;
  const code = cause && 'code' in cause ? String(cause.code) : '';
  return code || (cause ?? /** @type {Error} */ (error)).message || String(error);
}
