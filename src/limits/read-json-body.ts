import { ApiError } from '../errors';
import { concatBytes } from '../stream/coalescing-queue';

/** How far past the limit a chunked body is drained before the Worker gives up on it. */
export const DRAIN_FACTOR = 16;

/**
 * Reads a JSON request body of at most `maxBytes`, without ever buffering more:
 * a declared Content-Length over the limit is refused before reading, and a
 * chunked body is no longer kept once it passes the limit.
 *
 * A refused body is never cancelled: under `wrangler dev` a cancelled request
 * body makes the proxy answer "503 Your worker restarted mid-request", to this
 * request or the next on the connection (cloudflare/workers-sdk#5095, #4660).
 * One refused before reading is left unread (the runtime discards it); a
 * chunked one found too large while reading is read on to its end and thrown
 * away, up to {@link DRAIN_FACTOR} times the limit, since leaving it half read
 * breaks the connection the same way.
 * @throws {ApiError} 415 (not JSON), 413 (too large), 400 (invalid JSON)
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json');
  }
  const tooLarge = () => new ApiError(413, 'too_large', `request body must be at most ${maxBytes} bytes`);
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge();
  if (!request.body) throw new ApiError(400, 'invalid_json', 'request body must be a JSON object');

  // A declared length is the body's length (HTTP framing holds it to that): read it natively, in one call.
  const bytes = declared >= 0 ? new Uint8Array(await request.arrayBuffer()) : await readChunked(request.body, maxBytes, tooLarge);
  if (bytes.byteLength > maxBytes) throw tooLarge(); // only a caller inside the runtime can declare a false length
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new ApiError(400, 'invalid_json', 'request body must be UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_json', 'request body is not valid JSON');
  }
}

/** Strict UTF-8 (a malformed byte is an error, not U+FFFD); without `stream`, one decoder serves every call. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** A body of unknown length, read chunk by chunk and refused once it passes `maxBytes`. */
async function readChunked(body: ReadableStream<Uint8Array>, maxBytes: number, tooLarge: () => ApiError): Promise<Uint8Array> {
  const bytes = await readCapped(body, maxBytes);
  if (!bytes) throw tooLarge();
  return bytes;
}

/**
 * A body's bytes, read chunk by chunk, or undefined once it passes `maxBytes`:
 * nothing past the limit is kept, and the rest is drained (see {@link readJsonBody}).
 */
export async function readCapped(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array | undefined> {
  const reader = body.getReader();
  const read = await readUpTo(reader, maxBytes);
  if ('bytes' in read) return read.bytes;
  await drain(reader, maxBytes * DRAIN_FACTOR - read.over);
  return undefined;
}

/**
 * Reads a stream to its end while it stays within `maxBytes`: its bytes, or,
 * once it passes the limit, how far it got (`over`), the reader left where it
 * stopped, for the caller to drain, cancel or release. Nothing past the limit is kept.
 */
export async function readUpTo(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): Promise<{ bytes: Uint8Array } | { over: number }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: concatBytes(chunks, size) };
    size += value.byteLength;
    if (size > maxBytes) return { over: size };
    chunks.push(value);
  }
}

/**
 * Reads and throws away what is left of a refused body, up to `budget` bytes
 * (see {@link readJsonBody}: under `wrangler dev` a body left half read breaks
 * its connection). A body another reader holds, or one already read, is left.
 */
export async function discardBody(request: Request, budget: number): Promise<void> {
  const body = request.body;
  if (!body || body.locked) return;
  await drain(body.getReader(), budget).catch(() => {});
}

/** Reads and discards up to `budget` more bytes, or to the end of the body. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, budget: number): Promise<void> {
  while (budget > 0) {
    const { done, value } = await reader.read();
    if (done) return;
    budget -= value.byteLength;
  }
  reader.releaseLock();
}
