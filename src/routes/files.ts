import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';
import { FILE_ID, fileKey, storeFile } from '../files/file-store';
import { ALLOWED_TYPES_TEXT, isImage, sniffMediaType, SNIFF_BYTES } from '../files/media-type';
import { openMultipartFile } from '../files/multipart';
import { admitUpload } from '../limits/admission';
import { DRAIN_FACTOR, discardBody } from '../limits/read-json-body';
import { concatBytes } from '../stream/coalescing-queue';
import type { FileInfo } from '../protocol/messages';
import { chatIdParam, chatRoom, notFound } from './chats';

/**
 * A stored chat's files: uploaded one per request into R2 (streamed, checked
 * on the way), sent with a message by id, served back to whoever holds the
 * chat's id. docs/files.md.
 */
export const filesRoutes = new Hono<AppEnv>();

/** What a form adds around its file (boundaries, part headers): a declared length past the file limit by more is refused unread. */
const FORM_OVERHEAD_BYTES = 16 * 1024;

filesRoutes.post('/api/chats/:id/files', async (c) => {
  const { config } = c.var;
  const request = c.req.raw;
  const room = chatRoom(c);
  if (config.maxFilesPerMessage === 0) throw new ApiError(400, 'invalid_request', 'this deployment takes no files (MAX_FILES_PER_MESSAGE is 0)');
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  // Left unread, not cancelled (see readJsonBody): nothing of it is stored or counted.
  if (declared > config.maxFileBytes + FORM_OVERHEAD_BYTES) throw tooLarge(config.maxFileBytes);
  if (!/^multipart\/form-data\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) {
    throw new ApiError(415, 'unsupported_media_type', 'Content-Type must be multipart/form-data, with the file in a field named "file"');
  }
  // The declared size (or what is left, up to the largest file) is held against today's allowance while the bytes arrive.
  const hold = await admitUpload(c, declared >= 0 ? Math.min(declared, config.maxFileBytes) : undefined);
  let stored = 0;
  try {
    const slot = await room.reserveFile(config.maxFilesPerMessage * 2);
    if ('refused' in slot) {
      if (slot.refused === 'not_found') throw notFound();
      throw new ApiError(
        409,
        'too_many_files',
        `this chat already holds ${config.maxFilesPerMessage * 2} files not yet sent; send them with a message first (unsent files are removed after a day)`,
      );
    }
    const chatId = chatIdParam(c);
    const key = fileKey(chatId, slot.id);
    /** The file's bytes not yet read: given up on a refusal, so the body can be drained. */
    let unread: ReadableStreamDefaultReader<Uint8Array> | undefined;
    /** Whether the bytes are in the bucket (storeFile removes what it wrote of an upload it refuses). */
    let inBucket = false;
    try {
      const file = await openMultipartFile(request);
      const { head, rest } = await readHead(file.body, SNIFF_BYTES);
      unread = rest;
      if (head.byteLength === 0) throw new ApiError(400, 'invalid_request', 'the file is empty');
      const sniffed = sniffMediaType(head.subarray(0, SNIFF_BYTES), { type: file.type, name: file.name });
      if (!sniffed.ok) throw new ApiError(415, 'unsupported_media_type', `${sniffed.reason}; accepted: ${ALLOWED_TYPES_TEXT}`);
      // No more than the allowance held, whose refusal then says so; else the file limit's.
      const byAllowance = hold.reserved < config.maxFileBytes;
      const limit = byAllowance ? hold.reserved : config.maxFileBytes;
      const facts = await storeFile(c.env.FILES, key, sniffed.type, file.name, prepend(head, rest), limit, byAllowance ? hold.exhausted : undefined);
      inBucket = true;
      const info = await room.completeFile({ id: slot.id, name: file.name, type: sniffed.type, size: facts.size, sha256: facts.sha256, tokens: facts.tokens });
      // Null: the chat was deleted while the bytes arrived.
      if (!info) throw notFound();
      stored = facts.size;
      return c.json(info satisfies FileInfo, 201);
    } catch (error) {
      // A refusal after the bytes were stored (the chat went meanwhile) removes them.
      if (inBucket) await c.env.FILES.delete(key).catch(() => {});
      await room.abandonFile(slot.id);
      // Under wrangler dev a body left half read breaks the connection for the next request (see readJsonBody).
      await unread?.cancel().catch(() => {});
      await discardBody(request, config.maxFileBytes * DRAIN_FACTOR);
      throw error;
    }
  } finally {
    c.executionCtx.waitUntil(hold.settle(stored));
  }
});

filesRoutes.get('/api/chats/:id/files/:fileId', async (c) => {
  const chatId = chatIdParam(c);
  const fileId = c.req.param('fileId');
  if (!FILE_ID.test(fileId)) throw noFile();
  const object = await c.env.FILES.get(fileKey(chatId, fileId));
  if (!object) throw noFile();
  const type = object.httpMetadata?.contentType ?? 'application/octet-stream';
  const name = decodeURIComponent(object.customMetadata?.name ?? 'file');
  return new Response(object.body, {
    headers: {
      'Content-Type': type.startsWith('text/') ? `${type}; charset=utf-8` : type,
      'Content-Length': String(object.size),
      // The bytes were checked to be this type; a browser must not guess another (an image that is HTML).
      'X-Content-Type-Options': 'nosniff',
      // Nothing in it may run, load or style anything, whatever it is.
      'Content-Security-Policy': "default-src 'none'; sandbox",
      // Images show in the page (the widget's transcript); everything else downloads.
      'Content-Disposition': `${isImage(type) ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(name)}`,
      // A file id names one file's bytes forever.
      'Cache-Control': 'private, max-age=31536000, immutable',
      ETag: object.httpEtag,
      // Pages of other origins show the images (an <img> of a cross-origin-isolated page needs this).
      'Cross-Origin-Resource-Policy': 'cross-origin',
    },
  });
});

function noFile(): ApiError {
  return new ApiError(404, 'not_found', 'no such file');
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'too_large', `a file must be at most ${maxBytes} bytes`);
}

/** The stream's first `bytes` bytes (fewer if it is shorter), and a reader for the rest. */
async function readHead(body: ReadableStream<Uint8Array>, bytes: number): Promise<{ head: Uint8Array; rest: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < bytes) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  return { head: concatBytes(chunks, size), rest: reader };
}

/** The head, then the rest of its stream. */
function prepend(head: Uint8Array, rest: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  let first = true;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        first = false;
        controller.enqueue(head);
        return;
      }
      const { done, value } = await rest.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return rest.cancel(reason);
    },
  });
}
