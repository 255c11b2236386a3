import { createExecutionContext, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import type { ChatRoom } from '../../src/chat/chat-room';
import type { Env } from '../../src/env';
import type { ChatSnapshot, FileInfo } from '../../src/protocol/messages';
import { fakeRequests, fakeUrl, uniqueTag } from '../fake-gemini';
import { base64, exe, formBody, jpeg, pdf, png, sha256, SVG_WITH_SCRIPT, text } from '../files';
import { joinedText, parseSse } from '../sse';

const worker = (path: string, init?: RequestInit) => exports.default.fetch(`http://worker${path}`, init);
const MAX_FILE_BYTES = 6_291_456;

async function createChat(): Promise<string> {
  const response = await worker('/api/chats', { method: 'POST' });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

function upload(chat: string, bytes: Uint8Array, name = 'file.bin', type?: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new File([bytes], name, type === undefined ? {} : { type }));
  return worker(`/api/chats/${chat}/files`, { method: 'POST', body: form });
}

async function uploaded(chat: string, bytes: Uint8Array, name: string, type?: string): Promise<FileInfo> {
  const response = await upload(chat, bytes, name, type);
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as FileInfo;
}

/** The keys R2 holds for a chat. */
async function storedKeys(chat: string): Promise<string[]> {
  const listing = await env.FILES.list({ prefix: `chats/${chat}/` });
  return listing.objects.map((o) => o.key);
}

const room = (chat: string) => env.CHAT_ROOMS.get(env.CHAT_ROOMS.idFromString(chat));

async function send(chat: string, body: Record<string, unknown>): Promise<Response> {
  return worker(`/api/chats/${chat}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function snapshot(chat: string): Promise<ChatSnapshot> {
  return (await (await worker(`/api/chats/${chat}`)).json()) as ChatSnapshot;
}

async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, ...body.error };
}

describe('POST /api/chats/:id/files', () => {
  it('stores an image and answers with its id, name, type, size and URL', async () => {
    const chat = await createChat();
    const bytes = png(3000);
    const file = await uploaded(chat, bytes, 'screenshot.png', 'image/png');
    expect(file).toEqual({ id: expect.stringMatching(/^f[0-9a-f]{32}$/), name: 'screenshot.png', type: 'image/png', size: 3000, url: `/api/chats/${chat}/files/${file.id}` });
    expect(await storedKeys(chat)).toEqual([`chats/${chat}/${file.id}`]);
  });

  it('decides the type from the bytes: a JPEG sent without a type is image/jpeg', async () => {
    const chat = await createChat();
    const file = await uploaded(chat, jpeg(), 'photo');
    expect(file.type).toBe('image/jpeg');
  });

  it('takes Markdown by its name, and plain text otherwise', async () => {
    const chat = await createChat();
    expect((await uploaded(chat, text('# Notes\n\n- one\n'), 'notes.md')).type).toBe('text/markdown');
    expect((await uploaded(chat, text('just words\n'), 'words.txt', 'text/plain')).type).toBe('text/plain');
  });

  it('streams a file larger than one R2 part into a multipart upload, intact', async () => {
    const chat = await createChat();
    const bytes = png(5 * 1024 * 1024 + 12_345, 7);
    const file = await uploaded(chat, bytes, 'big.png');
    expect(file.size).toBe(bytes.byteLength);
    const back = await worker(file.url);
    expect(back.status).toBe(200);
    expect(await sha256(await back.arrayBuffer())).toBe(await sha256(bytes));
  });

  describe('refuses hostile or broken files with a clear 4xx, storing nothing', () => {
    const cases: Array<[string, () => Promise<Response>, number, string, RegExp]> = [
      ['a renamed executable with an image extension', () => upload(chatForCase, exe(), 'cat.png', 'image/png'), 415, 'unsupported_media_type', /none of the accepted types; accepted: PNG/],
      ['an SVG with a script', () => upload(chatForCase, SVG_WITH_SCRIPT, 'logo.svg', 'image/svg+xml'), 415, 'unsupported_media_type', /SVG/],
      ['an SVG sent as plain text', () => upload(chatForCase, SVG_WITH_SCRIPT, 'logo.txt', 'text/plain'), 415, 'unsupported_media_type', /SVG/],
      ['a GIF, which Gemini does not read', () => upload(chatForCase, text('GIF89a\x01\x00\x01\x00'), 'anim.gif', 'image/gif'), 415, 'unsupported_media_type', /GIF images are not accepted/],
      ['JPEG bytes claimed to be a PNG', () => upload(chatForCase, jpeg(), 'x.png', 'image/png'), 415, 'unsupported_media_type', /sent as image\/png but its content is image\/jpeg/],
      ['PNG bytes named .pdf', () => upload(chatForCase, png(), 'report.pdf'), 415, 'unsupported_media_type', /named \.pdf but its content is image\/png/],
      ['a zero-byte file', () => upload(chatForCase, new Uint8Array(0), 'empty.png'), 400, 'invalid_request', /the file is empty/],
      ['a file one byte over MAX_FILE_BYTES', () => upload(chatForCase, png(MAX_FILE_BYTES + 1), 'huge.png'), 413, 'too_large', new RegExp(`at most ${MAX_FILE_BYTES} bytes`)],
      ['text that is not UTF-8 past its head', () => upload(chatForCase, new Uint8Array([...text('a'.repeat(5000)), 0xff, 0xfe, 0x41]), 'bad.txt'), 415, 'unsupported_media_type', /not UTF-8/],
    ];
    let chatForCase = '';
    it.each(cases)('%s', async (_name, send, status, code, message) => {
      chatForCase = await createChat();
      const response = await send();
      const error = await errorOf(response);
      expect(error).toMatchObject({ status, code });
      expect(error.message).toMatch(message);
      expect(await storedKeys(chatForCase)).toEqual([]);
      // The slot it took is given back: the chat still takes its full count of files.
      await runInDurableObject(room(chatForCase), (_instance: ChatRoom, state) => {
        expect(state.storage.sql.exec('SELECT COUNT(*) AS n FROM files').one().n).toBe(0);
      });
    });
  });

  it('refuses a truncated multipart body with 400 and stores nothing', async () => {
    const chat = await createChat();
    const { body, contentType } = formBody([{ filename: 'cut.png', type: 'image/png', bytes: png(9000) }]);
    const response = await worker(`/api/chats/${chat}/files`, { method: 'POST', headers: { 'content-type': contentType }, body: body.subarray(0, 6000) });
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'invalid_request', message: expect.stringMatching(/cut short/) });
    expect(await storedKeys(chat)).toEqual([]);
  });

  it('refuses a form with a second part, a field not named "file", or a text value', async () => {
    const chat = await createChat();
    const post = (parts: Parameters<typeof formBody>[0]) => {
      const { body, contentType } = formBody(parts);
      return worker(`/api/chats/${chat}/files`, { method: 'POST', headers: { 'content-type': contentType }, body });
    };
    expect(await errorOf(await post([{ filename: 'a.png', bytes: png() }, { filename: 'b.png', bytes: png() }]))).toMatchObject({ status: 400, message: expect.stringMatching(/one file per upload/) });
    expect(await errorOf(await post([{ field: 'upload', filename: 'a.png', bytes: png() }]))).toMatchObject({ status: 400, message: expect.stringMatching(/one field named "file", got "upload"/) });
    expect(await errorOf(await post([{ bytes: text('hello') }]))).toMatchObject({ status: 400, message: expect.stringMatching(/must be a file/) });
    expect(await storedKeys(chat)).toEqual([]);
  });

  it('refuses a body that is not a form with 415', async () => {
    const chat = await createChat();
    const response = await worker(`/api/chats/${chat}/files`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png() });
    expect(await errorOf(response)).toMatchObject({ status: 415, code: 'unsupported_media_type' });
  });

  it('takes 20 concurrent uploads to one chat up to its slots (twice MAX_FILES_PER_MESSAGE), refusing the rest whole', async () => {
    const chat = await createChat();
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => upload(chat, png(4000 + i, i + 1), `shot-${i}.png`)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(6);
    expect(statuses.filter((s) => s === 409)).toHaveLength(14);
    const refused = await errorOf(responses.find((r) => r.status === 409)!);
    expect(refused.code).toBe('too_many_files');
    const accepted = await Promise.all(responses.filter((r) => r.status === 201).map((r) => r.json() as Promise<FileInfo>));
    expect((await storedKeys(chat)).sort()).toEqual(accepted.map((f) => `chats/${chat}/${f.id}`).sort());
    // Each accepted file's bytes are its own.
    for (const file of accepted) {
      const i = Number(/shot-(\d+)/.exec(file.name)![1]);
      expect(await sha256(await (await worker(file.url)).arrayBuffer())).toBe(await sha256(png(4000 + i, i + 1)));
    }
  });

  it('deletes from R2 only what it stored: nothing for a file refused before (regression: every refusal cost a delete), the bytes of one whose chat went meanwhile', async () => {
    const deleted: unknown[] = [];
    let afterPut = async () => {};
    const FILES = new Proxy(env.FILES, {
      get(bucket, name) {
        if (name === 'delete') return (keys: string | string[]) => (deleted.push(keys), bucket.delete(keys));
        if (name === 'put') {
          return async (...args: Parameters<R2Bucket['put']>) => {
            const object = await bucket.put(...args);
            await afterPut();
            return object;
          };
        }
        const value: unknown = Reflect.get(bucket, name);
        return typeof value === 'function' ? value.bind(bucket) : value;
      },
    });
    const settings = { ...env, FILES } as Env;
    const post = (chat: string, bytes: Uint8Array, name: string) => {
      const form = new FormData();
      form.append('file', new File([bytes], name));
      return app.fetch(new Request(`http://worker/api/chats/${chat}/files`, { method: 'POST', body: form }), settings, createExecutionContext());
    };
    const chat = await createChat();
    expect((await post(chat, SVG_WITH_SCRIPT, 'logo.svg')).status).toBe(415);
    expect((await post(chat, new Uint8Array(0), 'empty.png')).status).toBe(400);
    expect((await post(chat, new Uint8Array([...text('a'.repeat(5000)), 0xff, 0xfe, 0x41]), 'bad.txt')).status).toBe(415);
    expect(deleted).toEqual([]);
    afterPut = async () => void expect((await worker(`/api/chats/${chat}`, { method: 'DELETE' })).status).toBe(204);
    expect(await errorOf(await post(chat, png(), 'late.png'))).toMatchObject({ status: 404, code: 'not_found' });
    expect(deleted).toEqual([expect.stringMatching(new RegExp(`^chats/${chat}/f[0-9a-f]{32}$`))]);
    expect(await storedKeys(chat)).toEqual([]);
  });

  it('answers 404 for an upload to a deleted chat, storing nothing', async () => {
    const chat = await createChat();
    expect((await worker(`/api/chats/${chat}`, { method: 'DELETE' })).status).toBe(204);
    expect(await errorOf(await upload(chat, png(), 'late.png'))).toMatchObject({ status: 404, code: 'not_found' });
    expect(await storedKeys(chat)).toEqual([]);
  });
});

describe('GET /api/chats/:id/files/:fileId', () => {
  it('serves an image inline with nosniff and a sandboxing CSP', async () => {
    const chat = await createChat();
    const bytes = png(1500);
    const file = await uploaded(chat, bytes, 'cat "one".png');
    const response = await worker(file.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(response.headers.get('content-disposition')).toBe(`inline; filename*=UTF-8''${encodeURIComponent('cat "one".png')}`);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
  });

  it('serves anything but an image as an attachment', async () => {
    const chat = await createChat();
    const file = await uploaded(chat, pdf(), 'contract.pdf');
    const response = await worker(file.url);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename\*=UTF-8''contract\.pdf$/);
    await response.arrayBuffer();
  });

  it('answers 404 for another chat\'s file, a malformed id and an unknown one', async () => {
    const chat = await createChat();
    const other = await createChat();
    const file = await uploaded(chat, png(), 'mine.png');
    for (const path of [`/api/chats/${other}/files/${file.id}`, `/api/chats/${chat}/files/nope`, `/api/chats/${chat}/files/f${'0'.repeat(32)}`]) {
      expect(await errorOf(await worker(path))).toMatchObject({ status: 404, code: 'not_found' });
    }
  });
});

describe('messages with files', () => {
  it('sends the files inline with the message, bytes intact, and lists them on the stored message', async () => {
    const chat = await createChat();
    const image = png(2500);
    const doc = pdf(3);
    const [a, b] = [await uploaded(chat, image, 'error.png'), await uploaded(chat, doc, 'contract.pdf')];
    const tag = uniqueTag();
    const response = await send(chat, { message: `What do these say? [fake:reply tag=${tag}]`, files: [a.id, b.id] });
    expect(response.status).toBe(200);
    expect(parseSse(await response.text()).at(-1)?.event).toBe('done');
    const [record] = await fakeRequests(tag);
    const last = record.body.contents.at(-1)! as { parts: Array<{ inlineData?: { mimeType: string; data: string }; text?: string }> };
    expect(last.parts.map((p) => p.inlineData?.mimeType ?? 'text')).toEqual(['image/png', 'application/pdf', 'text']);
    expect(last.parts[0].inlineData!.data).toBe(base64(image));
    expect(last.parts[1].inlineData!.data).toBe(base64(doc));
    const { messages } = await snapshot(chat);
    expect(messages[0].files).toEqual([a, b]);
    expect(messages[1].files).toBeUndefined();
  });

  it('sends a message of files alone, with no text part', async () => {
    const chat = await createChat();
    const file = await uploaded(chat, png(), 'only.png');
    const response = await send(chat, { files: [file.id] });
    expect(response.status).toBe(200);
    await response.text();
    const { messages } = await snapshot(chat);
    expect(messages[0]).toMatchObject({ role: 'user', text: '', files: [file] });
  });

  it('sends earlier turns\' files again with later turns', async () => {
    const chat = await createChat();
    const notes = text('Deadline: Friday.\n');
    const file = await uploaded(chat, notes, 'notes.txt');
    await (await send(chat, { message: 'Read this [fake:reply]', files: [file.id] })).text();
    const tag = uniqueTag();
    await (await send(chat, { message: `And the deadline? [fake:reply tag=${tag}]` })).text();
    const [record] = await fakeRequests(tag);
    const first = record.body.contents[0] as { role: string; parts: Array<{ inlineData?: { mimeType: string; data: string } }> };
    expect(first.role).toBe('user');
    expect(first.parts[0].inlineData).toEqual({ mimeType: 'text/plain', data: base64(notes) });
  });

  it('asks a message again with its files when its answer is regenerated', async () => {
    const chat = await createChat();
    const image = png(1800, 21);
    const file = await uploaded(chat, image, 'again.png');
    const tag = uniqueTag();
    await (await send(chat, { message: `What is it? [fake:reply tag=${tag}]`, files: [file.id] })).text();
    const regenerated = await room(chat).fetch('https://chat-room/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: '', regenerate: true }),
    });
    expect(regenerated.status).toBe(200);
    await regenerated.text();
    const records = await fakeRequests(tag);
    expect(records).toHaveLength(2);
    expect(records[1].files).toEqual([expect.objectContaining({ kind: 'inline', sha256: await sha256(image) })]);
    const { messages } = await snapshot(chat);
    expect(messages).toHaveLength(2);
    expect(messages[0].files).toEqual([file]);
  });

  it('refuses a file id the chat does not have before calling Gemini', async () => {
    const chat = await createChat();
    const other = await createChat();
    const foreign = await uploaded(other, png(), 'theirs.png');
    const tag = uniqueTag();
    const response = await send(chat, { message: `Look [fake:reply tag=${tag}]`, files: [foreign.id] });
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'invalid_request', message: expect.stringMatching(/no file/) });
    expect(await fakeRequests(tag)).toEqual([]);
  });

  it('refuses more files than MAX_FILES_PER_MESSAGE, duplicates and malformed ids', async () => {
    const chat = await createChat();
    const id = `f${'a'.repeat(32)}`;
    for (const [files, rule] of [
      [[id, `f${'b'.repeat(32)}`, `f${'c'.repeat(32)}`, `f${'d'.repeat(32)}`], /at most 3 files/],
      [[id, id], /twice/],
      [['../../etc/passwd'], /files\[0\] must be a file id/],
      ['f1', /must be an array/],
    ] as const) {
      expect(await errorOf(await send(chat, { message: 'hi', files }))).toMatchObject({ status: 400, message: expect.stringMatching(rule) });
    }
  });
});

describe('file lifetime', () => {
  it('deletes a chat\'s files with the chat', async () => {
    const chat = await createChat();
    await uploaded(chat, png(), 'a.png');
    await uploaded(chat, pdf(), 'b.pdf');
    expect(await storedKeys(chat)).toHaveLength(2);
    expect((await worker(`/api/chats/${chat}`, { method: 'DELETE' })).status).toBe(204);
    expect(await storedKeys(chat)).toEqual([]);
  });

  it('removes a file never sent with a message after a day, and keeps sent ones', async () => {
    const chat = await createChat();
    const unsent = await uploaded(chat, png(), 'forgotten.png');
    const sent = await uploaded(chat, png(1000, 9), 'sent.png');
    await (await send(chat, { message: 'see [fake:reply]', files: [sent.id] })).text();
    // A day passes: the files' upload times move back.
    await runInDurableObject(room(chat), (_instance: ChatRoom, state) => {
      state.storage.sql.exec('UPDATE files SET created_at = created_at - 86400001');
    });
    expect(await runDurableObjectAlarm(room(chat))).toBe(true);
    expect(await storedKeys(chat)).toEqual([`chats/${chat}/${sent.id}`]);
    expect((await worker(unsent.url)).status).toBe(404);
    expect((await worker(sent.url)).status).toBe(200);
  });
});

/** The fake's own record of the files uploaded to its Files API. */
interface FakeUpload {
  name: string;
  uri: string;
  mimeType: string;
  size: number;
  sha256: string;
  expired: boolean;
}

async function fakeUploads(sha: string): Promise<FakeUpload[]> {
  const all = (await (await fetch(`${fakeUrl()}/__fake/files`)).json()) as FakeUpload[];
  return all.filter((f) => f.sha256 === sha);
}

async function turnRecord(chat: string, body: Record<string, unknown>) {
  const tag = uniqueTag();
  const response = await send(chat, { ...body, message: `${String(body.message ?? 'Look')} [fake:reply tag=${tag}]` });
  expect(response.status, await response.clone().text()).toBe(200);
  const frames = parseSse(await response.text());
  expect(frames.at(-1)?.event).toBe('done');
  const records = await fakeRequests(tag);
  return { record: records[0], records, frames };
}

/**
 * A one-page PDF padded to `size` bytes: large enough for the Files API, light enough (560 tokens,
 * 2,240 characters) for the test settings' context budget of 3,000, so later turns carry it.
 */
function largePdf(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const head = pdf(1);
  bytes.set(head);
  bytes.fill(0x20, head.byteLength);
  bytes[size - 1] = 0x30 + seed;
  return bytes;
}

describe('files past MAX_INLINE_BYTES go by the Gemini Files API', () => {
  it('uploads a large file once, sends its URI, and sends the same URI with later turns', async () => {
    const chat = await createChat();
    const bytes = largePdf(300_000, 1);
    const file = await uploaded(chat, bytes, 'manual.pdf');
    const sha = await sha256(bytes);
    const first = await turnRecord(chat, { message: 'Summarise', files: [file.id] });
    expect(first.record.files).toEqual([expect.objectContaining({ kind: 'uri', mimeType: 'application/pdf', sha256: sha, bytes: 300_000 })]);
    // The answer saw the file: the fake names it in its first line.
    expect(joinedText(first.frames)).toContain(`received application/pdf, 300000 bytes, sha256 ${sha.slice(0, 16)}`);
    const uploads = await fakeUploads(sha);
    expect(uploads).toHaveLength(1);

    const second = await turnRecord(chat, { message: 'And page 2?' });
    expect(second.record.files).toEqual([expect.objectContaining({ kind: 'uri', uri: uploads[0].uri, sha256: sha })]);
    expect(await fakeUploads(sha)).toHaveLength(1);
  });

  it('keeps a small file inline while a large one of the same message goes by URI', async () => {
    const chat = await createChat();
    const small = png(1200, 11);
    const large = png(270_000, 12);
    const [a, b] = [await uploaded(chat, small, 'small.png'), await uploaded(chat, large, 'large.png')];
    const { record } = await turnRecord(chat, { files: [a.id, b.id] });
    expect(record.files.map((f) => [f.kind, f.sha256])).toEqual([
      ['inline', await sha256(small)],
      ['uri', await sha256(large)],
    ]);
  });

  it('uploads again when the URI would expire within the hour', async () => {
    const chat = await createChat();
    const bytes = largePdf(280_000, 2);
    const sha = await sha256(bytes);
    const file = await uploaded(chat, bytes, 'soon.pdf');
    await fetch(`${fakeUrl()}/__fake/files/options`, { method: 'POST', body: JSON.stringify({ fileTtlMs: 30 * 60_000 }) });
    try {
      await turnRecord(chat, { files: [file.id] });
      const { record } = await turnRecord(chat, { message: 'Again' });
      const uploads = await fakeUploads(sha);
      expect(uploads).toHaveLength(2);
      expect(record.files[0]).toMatchObject({ kind: 'uri', uri: uploads[1].uri });
    } finally {
      await fetch(`${fakeUrl()}/__fake/files/options`, { method: 'DELETE' });
    }
  });

  it('uploads again, once, when Gemini no longer has a file it was sent (its 403), and the turn succeeds', async () => {
    const chat = await createChat();
    const bytes = largePdf(290_000, 3);
    const sha = await sha256(bytes);
    const file = await uploaded(chat, bytes, 'gone.pdf');
    await turnRecord(chat, { files: [file.id] });
    const [first] = await fakeUploads(sha);
    await fetch(`${fakeUrl()}/__fake/files/expire`, { method: 'POST', body: JSON.stringify({ name: first.name }) });
    const { records } = await turnRecord(chat, { message: 'Still there?' });
    // Two calls: the first refused for the file (403), the second with the file uploaded again.
    expect(records.map((r) => r.httpStatus)).toEqual([403, 200]);
    const record = records[1];
    const uploads = await fakeUploads(sha);
    expect(uploads).toHaveLength(2);
    expect(record.files[0]).toMatchObject({ kind: 'uri', uri: uploads[1].uri, sha256: sha });
  });
});

describe('usage by modality', () => {
  it('passes Gemini\'s promptTokensDetails through in done when the prompt had files', async () => {
    const chat = await createChat();
    const file = await uploaded(chat, pdf(2), 'two-pages.pdf');
    const { frames, record } = await turnRecord(chat, { message: 'Pages?', files: [file.id] });
    const done = frames.at(-1)!.data as { usage: { promptTokenCount: number; promptTokensDetails?: Array<{ modality: string; tokenCount: number }> } };
    const details = done.usage.promptTokensDetails!;
    expect(details.map((d) => d.modality).sort()).toEqual(['DOCUMENT', 'TEXT']);
    expect(details.find((d) => d.modality === 'DOCUMENT')!.tokenCount).toBe(record.files[0].tokens);
    expect(details.reduce((n, d) => n + d.tokenCount, 0)).toBe(done.usage.promptTokenCount);
    // A text-only turn's done says nothing by modality.
    const plain = await turnRecord(chat, { message: 'Thanks' });
    expect((plain.frames.at(-1)!.data as { usage: object }).usage).not.toHaveProperty('promptTokensDetails');
  });
});
