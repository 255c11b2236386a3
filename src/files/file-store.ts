import { ApiError } from '../errors';
import { concatBytes } from '../stream/coalescing-queue';
import { FileFacts } from './file-tokens';
import { TextCheckStream, type MediaType } from './media-type';

/**
 * Files in R2, one object per file under its chat (`chats/<chat id>/<file id>`),
 * so a chat's files are found, and deleted, by their prefix. The chat's
 * Durable Object keeps the references; the bytes live here only.
 */
export function chatPrefix(chatId: string): string {
  return `chats/${chatId}/`;
}

export function fileKey(chatId: string, fileId: string): string {
  return `${chatPrefix(chatId)}${fileId}`;
}

/** A file id: `f` and 32 hex digits (random: ids are not counted). */
export const FILE_ID = /^f[0-9a-f]{32}$/;

export function newFileId(): string {
  return `f${crypto.randomUUID().replaceAll('-', '')}`;
}

/** R2's smallest multipart part (all but the last): what an upload holds in memory at most. */
export const PART_BYTES = 5 * 1024 * 1024;

/** What storing a file learnt of it. */
export interface StoredFile {
  size: number;
  /** SHA-256 of the bytes, hex. */
  sha256: string;
  /** Gemini's token count for it, estimated (file-tokens.ts). */
  tokens: number;
}

/**
 * Streams a file into R2 under `key`, checking it as it passes: at most
 * `maxBytes` (`tooLarge` past it: a 413), not empty, and a text file UTF-8 to its end.
 * Memory holds one part ({@link PART_BYTES}) at most: a file that fits in one
 * is one `put`, a larger one a multipart upload. On any failure nothing is
 * left stored: a multipart upload is aborted, and a single put never happened.
 * @param bytes the whole file, its head (already sniffed) first
 */
export async function storeFile(
  bucket: R2Bucket,
  key: string,
  type: MediaType,
  name: string,
  bytes: ReadableStream<Uint8Array>,
  maxBytes: number,
  tooLarge: () => ApiError = () => new ApiError(413, 'too_large', `a file must be at most ${maxBytes} bytes`),
): Promise<StoredFile> {
  const checked = type.startsWith('text/')
    ? bytes.pipeThrough(new TextCheckStream(() => new ApiError(415, 'unsupported_media_type', 'the text file is not UTF-8 text all through')))
    : bytes;
  const reader = checked.getReader();
  const digest = new crypto.DigestStream('SHA-256');
  const digestWriter = digest.getWriter();
  const facts = new FileFacts(type);
  const options: R2PutOptions = { httpMetadata: { contentType: type }, customMetadata: { name: encodeURIComponent(name) } };
  let upload: R2MultipartUpload | undefined;
  const parts: R2UploadedPart[] = [];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flushPart = async () => {
    upload ??= await bucket.createMultipartUpload(key, options);
    parts.push(await upload.uploadPart(parts.length + 1, concatBytes(pending, pendingBytes)));
    pending = [];
    pendingBytes = 0;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (facts.size + value.byteLength > maxBytes) throw tooLarge();
      facts.observe(value);
      await digestWriter.write(value);
      pending.push(value);
      pendingBytes += value.byteLength;
      if (pendingBytes >= PART_BYTES) await flushPart();
    }
    if (facts.size === 0) throw new ApiError(400, 'invalid_request', 'the file is empty');
    await digestWriter.close();
    const sha256 = hex(await digest.digest);
    if (upload) {
      if (pendingBytes > 0) await flushPart();
      await upload.complete(parts);
    } else {
      await bucket.put(key, concatBytes(pending, pendingBytes), options);
    }
    return { size: facts.size, sha256, tokens: facts.tokens() };
  } catch (error) {
    await reader.cancel().catch(() => {});
    if (upload) await upload.abort().catch(() => {});
    throw error;
  }
}

/** Deletes every file of a chat (R2 deletes up to 1,000 keys a call). */
export async function deleteChatFiles(bucket: R2Bucket, chatId: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const listing = await bucket.list({ prefix: chatPrefix(chatId), cursor, limit: 1000 });
    if (listing.objects.length > 0) await bucket.delete(listing.objects.map((o) => o.key));
    deleted += listing.objects.length;
    cursor = listing.truncated ? listing.cursor : undefined;
  } while (cursor);
  return deleted;
}

export function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
