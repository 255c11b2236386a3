import type { Content, Part } from '@google/generative-ai';
import type { FilePart } from '../protocol/parts';
import { uploadFile, type GeminiFile, type UploadSettings } from './files-api';

/** A content whose files are still references: {@link resolveFiles} makes them Gemini parts. */
export interface PendingContent {
  role: string;
  parts: Array<Part | { file: FilePart }>;
}

/** Where a call's files come from, and what Gemini already holds of them. */
export interface FileSource {
  /** The file's bytes, to send inline. */
  bytes(file: FilePart): Promise<Uint8Array>;
  /** The file's bytes as a stream, to upload (stored files only). */
  stream?(file: FilePart): Promise<ReadableStream<Uint8Array>>;
  /** A Files API URI Gemini still holds for the file, with an hour to spare. */
  uri?(file: FilePart): string | undefined;
  /** Keeps what an upload made, for the next call. */
  remember?(file: FilePart, uploaded: GeminiFile): void;
}

/**
 * The type Gemini is sent for a file: its own, but Markdown as plain text —
 * Google lists Markdown as `text/md`, a name browsers do not use, and plain
 * text is what it is (docs/files.md).
 */
export function geminiMimeType(mediaType: string): string {
  return mediaType === 'text/markdown' ? 'text/plain' : mediaType;
}

/** A URI closer to its expiry than this is uploaded again: a long answer must not outlive its file. */
export const URI_MARGIN_MS = 3600_000;

/**
 * Turns the files of a call into Gemini parts: a URI Gemini still holds as
 * `fileData`; else the bytes as `inlineData`, newest files first, while the
 * call's inline bytes stay within `maxInlineBytes`; the rest uploaded to the
 * Files API (when the source can stream them) and sent as `fileData`.
 */
export async function resolveFiles(
  contents: readonly PendingContent[],
  source: FileSource,
  options: { maxInlineBytes: number; upload?: UploadSettings; signal?: AbortSignal },
): Promise<Content[]> {
  // Most calls carry no file: their contents are Gemini's already.
  if (!contents.some((c) => c.parts.some((p) => 'file' in p))) return contents as Content[];
  let inlineBytes = 0;
  const resolved: Content[] = contents.map((c) => ({ role: c.role, parts: [] }));
  // Newest first: the message being sent keeps its files inline when the budget is short.
  for (let i = contents.length - 1; i >= 0; i--) {
    const parts: Part[] = [];
    for (const part of contents[i].parts) {
      if (!('file' in part)) {
        parts.push(part);
        continue;
      }
      const { file } = part;
      const uri = source.uri?.(file);
      if (uri !== undefined) {
        parts.push({ fileData: { mimeType: geminiMimeType(file.mediaType), fileUri: uri } });
      } else if (inlineBytes + file.size <= options.maxInlineBytes || !source.stream || !options.upload) {
        inlineBytes += file.size;
        parts.push({ inlineData: { mimeType: geminiMimeType(file.mediaType), data: toBase64(await source.bytes(file)) } });
      } else {
        const uploaded = await uploadFile(
          { body: await source.stream(file), size: file.size, mimeType: geminiMimeType(file.mediaType), displayName: file.name },
          options.upload,
          options.signal,
        );
        source.remember?.(file, uploaded);
        parts.push({ fileData: { mimeType: geminiMimeType(file.mediaType), fileUri: uploaded.uri } });
      }
    }
    resolved[i].parts = parts;
  }
  return resolved;
}

/** Base64 of bytes: the runtime's own where it has one (`Uint8Array.prototype.toBase64`), else in blocks through `btoa`. */
export function toBase64(bytes: Uint8Array): string {
  const native = (bytes as Uint8Array & { toBase64?: () => string }).toBase64;
  if (typeof native === 'function') return native.call(bytes);
  let out = '';
  // A multiple of 3, so each block's base64 joins the next without padding.
  const block = 3 * 8192;
  for (let i = 0; i < bytes.byteLength; i += block) {
    out += btoa(String.fromCharCode(...bytes.subarray(i, i + block)));
  }
  return out;
}

/** Bytes of base64 (standard alphabet, padding optional); undefined when it is not base64. */
export function fromBase64(text: string): Uint8Array | undefined {
  const clean = text.replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) return undefined;
  let binary: string;
  try {
    binary = atob(clean);
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
