import { ApiError } from '../errors';
import { readUpTo } from '../limits/read-json-body';

/** What a fetch of a caller's link may take. */
export interface RemoteFileRules {
  /** The most bytes read (the body is cut off, and refused, past it). */
  maxBytes: number;
  /** The whole fetch, redirects and body included. */
  timeoutMs: number;
  /** Redirects followed, each to an `https:` URL. */
  maxRedirects: number;
  /** The field that named the link, in every refusal. */
  field: string;
}

/** The defaults: a few redirects, ten seconds. */
export const REMOTE_FILE_RULES = { timeoutMs: 10_000, maxRedirects: 3 } as const;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches a file a caller linked to (OpenAI's `image_url` with an `https:`
 * URL): `https:` only, redirects followed by hand (`redirect: 'manual'`) and
 * only to `https:` URLs, at most `maxRedirects`, the whole fetch within
 * `timeoutMs`, at most `maxBytes` read. What the bytes are is the caller's
 * check (by their magic numbers, never the server's Content-Type).
 * `fetcher` is the runtime's `fetch` unless a test gives another.
 * @throws {ApiError} 400 for a scheme, a redirect, a status or a timeout; 413 past `maxBytes`
 */
export async function fetchRemoteFile(link: string, rules: RemoteFileRules, fetcher: typeof fetch = fetch): Promise<Uint8Array> {
  const { field } = rules;
  let url = checkLink(link, field);
  const signal = AbortSignal.timeout(rules.timeoutMs);
  try {
    for (let redirects = 0; ; redirects++) {
      const response = await fetcher(url.href, { redirect: 'manual', signal, headers: { accept: '*/*' } });
      if (REDIRECTS.has(response.status)) {
        await response.body?.cancel();
        const location = response.headers.get('location');
        if (location === null) throw refused(field, `the server answered ${response.status} without a Location`);
        if (redirects >= rules.maxRedirects) throw refused(field, `more than ${rules.maxRedirects} redirects`);
        url = httpsUrl(new URL(location, url).href, field, 'redirects to a URL that is not https:');
        continue;
      }
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        throw refused(field, `the server answered ${response.status}`);
      }
      const declared = Number(response.headers.get('content-length') ?? Number.NaN);
      if (declared > rules.maxBytes) {
        await response.body.cancel();
        throw tooLarge(field, rules.maxBytes);
      }
      return await readCapped(response.body, rules.maxBytes, field);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (signal.aborted) throw refused(field, `no answer within ${rules.timeoutMs / 1000} s`);
    throw refused(field, 'the server could not be reached');
  }
}

/**
 * A caller's link as the URL to fetch: `https:` only.
 * @throws {ApiError} 400 naming `field`
 */
export function checkLink(link: string, field: string): URL {
  return httpsUrl(link, field, 'must be an https: URL or a base64 data URL');
}

/** `value` as a URL whose scheme is `https:`, or a 400 saying `rule`. */
function httpsUrl(value: string, field: string, rule: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ApiError(400, 'invalid_request', `${field} must be an https: URL or a base64 data URL`);
  }
  if (url.protocol !== 'https:') throw new ApiError(400, 'invalid_request', `${field} ${rule} (got ${url.protocol})`);
  return url;
}

async function readCapped(body: ReadableStream<Uint8Array>, maxBytes: number, field: string): Promise<Uint8Array> {
  const reader = body.getReader();
  const read = await readUpTo(reader, maxBytes);
  if ('bytes' in read) return read.bytes;
  await reader.cancel();
  throw tooLarge(field, maxBytes);
}

function refused(field: string, why: string): ApiError {
  return new ApiError(400, 'invalid_request', `${field}: could not fetch the file: ${why}`);
}

function tooLarge(field: string, maxBytes: number): ApiError {
  return new ApiError(413, 'too_large', `${field}: the file must be at most ${maxBytes} bytes`);
}
