import { ApiError } from '../errors';
import { fromBase64 } from '../gemini/file-parts';
import type { FileSource } from '../gemini/file-parts';
import type { FilePart } from '../protocol/parts';
import { FileFacts } from './file-tokens';
import { hex } from './file-store';
import { ALLOWED_TYPES_TEXT, sniffMediaType, SNIFF_BYTES, type MediaType } from './media-type';

/** A file a JSON request carried inline (base64), checked: its bytes are in memory. */
export interface InlineFile {
  part: FilePart;
  bytes: Uint8Array;
}

/** A data URL: `data:<type>[;params];base64,<data>`. */
const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*?);base64,(.*)$/s;

/**
 * Decodes and checks a file a JSON body carried: base64 (or a base64 data
 * URL), its type from its bytes (the claim must agree), not empty, at most
 * `maxBytes`. `field` names it in every refusal.
 * @throws {ApiError} 400 (not base64, empty), 413 (too large), 415 (not an accepted type)
 */
export async function decodeInlineFile(
  data: string,
  claim: { type?: string; name?: string },
  maxBytes: number,
  field: string,
): Promise<InlineFile> {
  let base64 = data;
  let type = claim.type;
  const url = data.startsWith('data:') ? DATA_URL.exec(data) : null;
  if (data.startsWith('data:')) {
    if (!url) throw new ApiError(400, 'invalid_request', `${field} must be a base64 data URL (data:<type>;base64,<data>)`);
    base64 = url[3];
    type = url[1] || type;
  }
  // Base64 is 4 characters per 3 bytes: a string this long cannot fit, whatever it holds.
  if (base64.length > Math.ceil(maxBytes / 3) * 4 + 4) throw tooLarge(field, maxBytes);
  const bytes = fromBase64(base64);
  if (!bytes) throw new ApiError(400, 'invalid_request', `${field} must be base64`);
  if (bytes.byteLength === 0) throw new ApiError(400, 'invalid_request', `${field} is empty`);
  if (bytes.byteLength > maxBytes) throw tooLarge(field, maxBytes);
  const sniffed = sniffMediaType(bytes.subarray(0, SNIFF_BYTES), { type, name: claim.name });
  if (!sniffed.ok) throw new ApiError(415, 'unsupported_media_type', `${field}: ${sniffed.reason}; accepted: ${ALLOWED_TYPES_TEXT}`);
  if (sniffed.type.startsWith('text/') && !isText(bytes)) {
    throw new ApiError(415, 'unsupported_media_type', `${field}: the text file is not UTF-8 text all through`);
  }
  const facts = new FileFacts(sniffed.type as MediaType);
  facts.observe(bytes);
  const sha256 = hex(await crypto.subtle.digest('SHA-256', bytes));
  const name = claim.name ?? `file.${sniffed.type.split('/')[1]}`;
  return { part: { type: 'file', id: sha256.slice(0, 16), name, mediaType: sniffed.type, size: bytes.byteLength, sha256, tokens: facts.tokens() }, bytes };
}

/** The files of a stateless request, for {@link resolveFiles}: their bytes are at hand, and always go inline. */
export function inlineFileSource(files: readonly InlineFile[]): FileSource {
  const bytes = new Map(files.map((f) => [f.part, f.bytes]));
  return {
    bytes: async (part) => {
      const found = bytes.get(part);
      if (!found) throw new Error(`no bytes for the file ${part.name}`);
      return found;
    },
  };
}

/**
 * Checks that a request's inline files together stay within `maxInlineBytes`
 * (MAX_INLINE_BYTES): a request carries no more inline than Gemini is sent
 * inline. `hint` ends the refusal where the route has a way out.
 */
export function checkInlineTotal(files: readonly InlineFile[], maxInlineBytes: number, field: string, hint = ''): void {
  const total = files.reduce((n, f) => n + f.bytes.byteLength, 0);
  if (total > maxInlineBytes) {
    throw new ApiError(413, 'too_large', `${field}: the files of one request must be at most ${maxInlineBytes} bytes together${hint}`);
  }
}

function isText(bytes: Uint8Array): boolean {
  try {
    return !/[\x00-\x08\x0b\x0e-\x1f\x7f]/.test(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return false;
  }
}

function tooLarge(field: string, maxBytes: number): ApiError {
  return new ApiError(413, 'too_large', `${field} must be at most ${maxBytes} bytes`);
}

/** Largest JSON body a route that takes inline files reads: its text, and MAX_INLINE_BYTES of files in base64. */
export function maxInlineBodyBytes(config: { maxBodyBytes: number; maxInlineBytes: number }): number {
  return config.maxBodyBytes + Math.ceil(config.maxInlineBytes / 3) * 4;
}
