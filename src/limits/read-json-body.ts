import { ApiError } from '../errors';

/**
 * Reads a JSON request body of at most `maxBytes`, without ever buffering more:
 * a declared Content-Length over the limit is refused before reading, and a
 * chunked body is cut off as soon as it passes the limit.
 * @throws {ApiError} 415 (not JSON), 413 (too large), 400 (invalid JSON)
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    await request.body?.cancel();
    throw new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json');
  }
  const tooLarge = () => new ApiError(413, 'too_large', `request body must be at most ${maxBytes} bytes`);
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await request.body?.cancel();
    throw tooLarge();
  }
  if (!request.body) throw new ApiError(400, 'invalid_json', 'request body must be a JSON object');

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }

  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError(400, 'invalid_json', 'request body must be UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_json', 'request body is not valid JSON');
  }
}
