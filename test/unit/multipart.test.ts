import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/errors';
import { cleanName, openMultipartFile } from '../../src/files/multipart';
import { formBody, png, text } from '../files';
import { seededRandom } from '../random';

/** A request whose body arrives in the given pieces. */
function request(pieces: Uint8Array[], contentType: string): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(piece);
      controller.close();
    },
  });
  return new Request('http://worker/upload', { method: 'POST', headers: { 'content-type': contentType }, body, duplex: 'half' } as RequestInit);
}

/** Cuts bytes at random points (eventsource-parser's fixtures do the same to SSE). */
function cut(bytes: Uint8Array, seed: number): Uint8Array[] {
  const random = seededRandom(seed);
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; ) {
    const size = 1 + Math.floor(random() * (random() < 0.3 ? 8 : 4000));
    pieces.push(bytes.slice(at, at + size));
    at += size;
  }
  return pieces;
}

async function read(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe('openMultipartFile', () => {
  it.each(Array.from({ length: 40 }, (_, i) => i + 1))('hands over the file bytes exactly, however the body is cut (seed %i)', async (seed) => {
    // The file holds CR, LF and dashes, and the boundary's own start, to tempt a false match.
    const file = new Uint8Array([...png(3000, seed), ...text('\r\n--testboundary4\r\n--'), ...png(2000, seed + 1)]);
    const { body, contentType } = formBody([{ filename: 'a.png', type: 'image/png', bytes: file }]);
    const opened = await openMultipartFile(request(cut(body, seed), contentType));
    expect(opened).toMatchObject({ name: 'a.png', type: 'image/png' });
    expect(await read(opened.body)).toEqual(file);
  });

  it('skips a preamble and takes a quoted boundary', async () => {
    // A boundary with a space must be quoted (RFC 2046).
    const { body } = formBody([{ filename: 'x.txt', bytes: text('hello') }], 'my boundary');
    const withPreamble = new Uint8Array([...text('This is a preamble.\r\n'), ...body]);
    const opened = await openMultipartFile(request([withPreamble], 'multipart/form-data; boundary="my boundary"'));
    expect(opened.name).toBe('x.txt');
    expect(new TextDecoder().decode(await read(opened.body))).toBe('hello');
  });

  it('reads an RFC 5987 file name and strips any path from it', async () => {
    const encoder = new TextEncoder();
    const boundary = 'zzz';
    const body = encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="fallback.txt"; filename*=UTF-8''%C3%A9t%C3%A9.txt\r\n\r\nsummer\r\n--${boundary}--\r\n`);
    const opened = await openMultipartFile(request([body], `multipart/form-data; boundary=${boundary}`));
    expect(opened.name).toBe('été.txt');
    expect(new TextDecoder().decode(await read(opened.body))).toBe('summer');
    expect(cleanName('C:\\Users\\me\\Desktop\\shot.png')).toBe('shot.png');
    expect(cleanName('../../etc/passwd')).toBe('passwd');
    expect(cleanName('\u0000\u0007')).toBe('file');
    expect(cleanName(`${'a'.repeat(300)}.png`)).toHaveLength(200);
  });

  it.each([
    ['no boundary', 'multipart/form-data', [{ filename: 'a', bytes: text('x') }], /no boundary/],
    ['a field that is not "file"', undefined, [{ field: 'photo', filename: 'a.png', bytes: png() }], /one field named "file", got "photo"/],
    ['a text value', undefined, [{ bytes: text('just text') }], /must be a file/],
  ] as const)('refuses %s with 400', async (_name, type, parts, message) => {
    const { body, contentType } = formBody([...parts]);
    const error = await openMultipartFile(request([body], type ?? contentType)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_request', message: expect.stringMatching(message) });
  });

  it('errors the file stream when the body ends before the closing boundary, or holds a second part', async () => {
    const { body, contentType } = formBody([{ filename: 'a.png', bytes: png(5000) }]);
    const cutShort = await openMultipartFile(request([body.subarray(0, 4000)], contentType));
    await expect(read(cutShort.body)).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/cut short/) });
    const justBeforeDashes = await openMultipartFile(request([body.subarray(0, body.byteLength - 4)], contentType));
    await expect(read(justBeforeDashes.body)).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/cut short/) });
    const two = formBody([{ filename: 'a.png', bytes: png() }, { filename: 'b.png', bytes: png() }]);
    const second = await openMultipartFile(request([two.body], two.contentType));
    await expect(read(second.body)).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/one file per upload/) });
  });

  it('refuses a body that is not a form with 415', async () => {
    await expect(openMultipartFile(request([text('{}')], 'application/json'))).rejects.toMatchObject({ status: 415 });
  });
});
