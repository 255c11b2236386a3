/**
 * Headers of every Server-Sent Events response.
 * - `no-transform` and `Content-Encoding: identity` keep proxies, `wrangler dev`
 *   and Cloudflare's edge from compressing (and so buffering) the stream.
 * - `X-Accel-Buffering: no` does the same for nginx-style proxies in front.
 */
export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'Content-Encoding': 'identity',
  'X-Accel-Buffering': 'no',
} as const satisfies Record<string, string>;
