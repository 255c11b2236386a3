/**
 * The media types a file may have, shared by the Worker (which decides a
 * file's type from its bytes: src/files/media-type.ts) and the browser client
 * (which refuses a file before uploading it when the browser names a type the
 * Worker would not take). docs/files.md.
 */

/** Every type a file may have, by the name Gemini takes it under (Markdown aside: docs/files.md). */
export const MEDIA_TYPES = [
  'image/png',
  'image/jpeg',
  'image/webp',
  'image/heic',
  'image/heif',
  'application/pdf',
  'text/plain',
  'text/markdown',
  'audio/wav',
  'audio/mpeg',
] as const;

export type MediaType = (typeof MEDIA_TYPES)[number];

/** Names browsers and tools give the accepted types besides their own. */
export const MEDIA_TYPE_ALIASES: Readonly<Record<string, MediaType>> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'audio/mp3': 'audio/mpeg',
  'text/x-markdown': 'text/markdown',
  'text/md': 'text/markdown',
};
