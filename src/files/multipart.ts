import { ApiError } from '../errors';
import { concatBytes } from '../stream/coalescing-queue';

/** The one file of an upload form, its bytes still arriving. */
export interface MultipartFile {
  /** The file name the client gave, without any path, at most {@link MAX_NAME_CHARS} characters. */
  name: string;
  /** The part's Content-Type, as sent (a claim, checked against the bytes later). */
  type: string | undefined;
  /**
   * The file's bytes, read from the request as they are pulled. It errors with
   * a 400 {@link ApiError} if the body ends before the form does, or if the
   * form holds anything after the file; it closes only once the form's closing
   * boundary has been read.
   */
  body: ReadableStream<Uint8Array>;
}

export const MAX_NAME_CHARS = 200;
/** Longest part header block a form may send: a name and a type need far less. */
const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = new Uint8Array([13, 10]);
const encoder = new TextEncoder();

/**
 * Opens a `multipart/form-data` body with exactly one field, `file`, holding
 * one file, and hands over the file's bytes as a stream: the body is never
 * held whole, only the bytes between two reads (and a boundary's length).
 * @throws {ApiError} 415 (not a form), 400 (no boundary, no `file` field, a malformed or cut form)
 */
export async function openMultipartFile(request: Request): Promise<MultipartFile> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*(;|$)/i.test(type)) {
    throw new ApiError(415, 'unsupported_media_type', 'Content-Type must be multipart/form-data, with the file in a field named "file"');
  }
  const boundary = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(type);
  if (!boundary) throw invalid('the multipart/form-data Content-Type has no boundary');
  if (!request.body) throw invalid('the form is empty: send the file in a field named "file"');
  const source = new ByteSource(request.body.getReader());
  const delimiter = encoder.encode(`\r\n--${boundary[1] ?? boundary[2]}`);
  try {
    return await openFile(source, delimiter);
  } catch (error) {
    // The caller may read the rest of the body (to drain it): the lock goes with the failure.
    source.release();
    throw error;
  }
}

async function openFile(source: ByteSource, delimiter: Uint8Array): Promise<MultipartFile> {
  // The body starts with the first delimiter (a preamble before it is allowed, and skipped):
  // reading it as if a CRLF came first finds a delimiter at the very start too.
  source.prepend(CRLF);
  await source.skipPast(delimiter, 'the form ended before its first part');
  if (await source.startsWith('--')) throw invalid('the form is empty: send the file in a field named "file"');
  await source.expect(CRLF, 'a boundary is not followed by a line break');
  const headers = parseHeaders(await source.readUntil(encoder.encode('\r\n\r\n'), MAX_HEADER_BYTES, 'the part headers are cut short or too long'));

  const disposition = headers.get('content-disposition') ?? '';
  const field = parameter(disposition, 'name');
  const filename = parameter(disposition, 'filename*') ?? parameter(disposition, 'filename');
  if (!/^form-data\b/i.test(disposition) || field !== 'file') {
    throw invalid(`the form must hold one field named "file"${field === undefined ? '' : `, got "${field.slice(0, 40)}"`}`);
  }
  if (filename === undefined) throw invalid('the "file" field must be a file, not a text value');

  return { name: cleanName(filename), type: headers.get('content-type'), body: fileBody(source, delimiter) };
}

function fileBody(source: ByteSource, delimiter: Uint8Array): ReadableStream<Uint8Array> {
  let ended = false;
  const pullFile = async (controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> => {
    const piece = await source.readTo(delimiter, 'the upload was cut short: the form ended before its closing boundary');
    if (!piece.found) {
      controller.enqueue(piece.bytes);
      return;
    }
    ended = true;
    if (piece.bytes.byteLength > 0) controller.enqueue(piece.bytes);
    // After the file: the closing boundary ("--"), then at most an epilogue the form's reader ignores.
    const next = await source.peek(2);
    if (next.byteLength < 2) throw invalid('the upload was cut short: the form ended before its closing boundary');
    if (next[0] !== 45 || next[1] !== 45) throw invalid('the form holds more than one part: send one file per upload');
    source.release();
    controller.close();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (ended) return;
        try {
          await pullFile(controller);
        } catch (error) {
          source.release();
          throw error;
        }
      },
      cancel() {
        source.release();
      },
    },
    { highWaterMark: 0 },
  );
}

/** A body reader with a small look-ahead buffer. */
class ByteSource {
  private buffer: Uint8Array = new Uint8Array(0);
  private done = false;
  private released = false;

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  prepend(bytes: Uint8Array): void {
    this.buffer = concatBytes([bytes, this.buffer]);
  }

  /** Lets go of the body (idempotent), leaving what was not read in it. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.reader.releaseLock();
  }

  /** Reads one more chunk into the buffer; false at the end of the body. */
  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const { done, value } = await this.reader.read();
    if (done) {
      this.done = true;
      return false;
    }
    this.buffer = this.buffer.byteLength === 0 ? value : concatBytes([this.buffer, value]);
    return true;
  }

  private async atLeast(bytes: number): Promise<boolean> {
    while (this.buffer.byteLength < bytes) if (!(await this.fill())) return false;
    return true;
  }

  /** Up to `bytes` next bytes, left in place (fewer at the end of the body). */
  async peek(bytes: number): Promise<Uint8Array> {
    await this.atLeast(bytes);
    return this.buffer.subarray(0, bytes);
  }

  async startsWith(text: string): Promise<boolean> {
    const bytes = encoder.encode(text);
    if (!(await this.atLeast(bytes.byteLength))) return false;
    return bytes.every((b, i) => this.buffer[i] === b);
  }

  async expect(bytes: Uint8Array, problem: string): Promise<void> {
    if (!(await this.atLeast(bytes.byteLength)) || !bytes.every((b, i) => this.buffer[i] === b)) throw invalid(problem);
    this.buffer = this.buffer.subarray(bytes.byteLength);
  }

  /** Drops everything up to and including `needle`. */
  async skipPast(needle: Uint8Array, problem: string): Promise<void> {
    for (;;) {
      const at = indexOf(this.buffer, needle);
      if (at >= 0) {
        this.buffer = this.buffer.subarray(at + needle.byteLength);
        return;
      }
      // Keep what could be the start of the needle; a preamble is not kept.
      this.buffer = this.buffer.subarray(Math.max(0, this.buffer.byteLength - needle.byteLength + 1));
      if (!(await this.fill())) throw invalid(problem);
    }
  }

  /** The bytes before `needle` (at most `max`), dropping the needle. */
  async readUntil(needle: Uint8Array, max: number, problem: string): Promise<Uint8Array> {
    for (;;) {
      const at = indexOf(this.buffer, needle);
      if (at >= 0 && at <= max) {
        const before = this.buffer.subarray(0, at);
        this.buffer = this.buffer.subarray(at + needle.byteLength);
        return before;
      }
      if (this.buffer.byteLength > max + needle.byteLength || !(await this.fill())) throw invalid(problem);
    }
  }

  /**
   * The next bytes before `needle`: all of them (`found`, the needle dropped),
   * or as many as can be told apart from a needle's start.
   */
  async readTo(needle: Uint8Array, problem: string): Promise<{ bytes: Uint8Array; found: boolean }> {
    for (;;) {
      const at = indexOf(this.buffer, needle);
      if (at >= 0) {
        const bytes = this.buffer.slice(0, at);
        this.buffer = this.buffer.subarray(at + needle.byteLength);
        return { bytes, found: true };
      }
      const safe = this.buffer.byteLength - needle.byteLength + 1;
      if (safe > 0) {
        const bytes = this.buffer.slice(0, safe);
        this.buffer = this.buffer.subarray(safe);
        return { bytes, found: false };
      }
      if (!(await this.fill())) throw invalid(problem);
    }
  }
}

/** Where `needle` starts in `haystack`, or -1. */
export function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const last = haystack.byteLength - needle.byteLength;
  for (let i = haystack.indexOf(needle[0], from); i !== -1 && i <= last; i = haystack.indexOf(needle[0], i + 1)) {
    let j = 1;
    while (j < needle.byteLength && haystack[i + j] === needle[j]) j++;
    if (j === needle.byteLength) return i;
  }
  return -1;
}

function parseHeaders(block: Uint8Array): Map<string, string> {
  const headers = new Map<string, string>();
  // Browsers send a file name's UTF-8 bytes as they are.
  for (const line of new TextDecoder().decode(block).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw invalid('a part header is malformed');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** A Content-Disposition parameter: quoted (browsers escape `"` as %22), bare, or RFC 5987 (`filename*=UTF-8''…`). */
function parameter(header: string, name: string): string | undefined {
  const escaped = name.replace('*', '\\*');
  const match = new RegExp(`;\\s*${escaped}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, 'i').exec(header);
  if (!match) return undefined;
  const value = match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2].trim();
  if (!name.endsWith('*')) return value;
  const extended = /^utf-8''(.*)$/i.exec(value);
  if (!extended) return undefined;
  try {
    return decodeURIComponent(extended[1]);
  } catch {
    return undefined;
  }
}

/** A file name fit to show and store: its last path segment, no control characters, not too long. */
export function cleanName(raw: string): string {
  const last = raw.split(/[/\\]/).pop() ?? '';
  let name = last.replace(/%22/g, '"').replace(/[\x00-\x1f\x7f]/g, '').trim();
  if (name.length > MAX_NAME_CHARS) {
    const extension = /\.[a-z0-9]{1,10}$/i.exec(name)?.[0] ?? '';
    name = name.slice(0, MAX_NAME_CHARS - extension.length) + extension;
  }
  return name === '' || name === '.' || name === '..' ? 'file' : name;
}

function invalid(message: string): ApiError {
  return new ApiError(400, 'invalid_request', message);
}
