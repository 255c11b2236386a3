/**
 * How a file's type is decided: from its bytes (magic numbers), never from
 * what the client claims. A claim (a Content-Type, a data URL's type, a
 * name's extension) may only agree with the bytes; one that disagrees, or
 * bytes that are none of the accepted types (src/protocol/media-types.ts:
 * what Gemini reads), is a 415. SVG, HTML and XML are refused although they
 * are text: a browser runs their scripts.
 */
import { MEDIA_TYPE_ALIASES, MEDIA_TYPES, type MediaType } from '../protocol/media-types';

export { MEDIA_TYPES, type MediaType };

/** What the 415 names: the kinds a person would recognise. */
export const ALLOWED_TYPES_TEXT = 'PNG, JPEG, WebP and HEIC/HEIF images, PDF, plain text and Markdown, WAV and MP3 audio';

/** Bytes the decision reads; a file's first bytes up to this many are enough for every type. */
export const SNIFF_BYTES = 4096;

/** Whether a type is an image (shown inline by the Worker and the widget; the rest download). */
export function isImage(type: string): boolean {
  return type.startsWith('image/');
}


/** Claims that say nothing: a browser sends these for a type it does not know. */
const NO_CLAIM = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown']);

const EXTENSIONS: Record<string, MediaType> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  jfif: 'image/jpeg',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
  txt: 'text/plain',
  text: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
};

/** The same family for a claim's purposes: HEIC and HEIF are one container, plain text and Markdown one encoding. */
function family(type: MediaType): string {
  if (type === 'image/heic' || type === 'image/heif') return 'heif';
  if (type === 'text/plain' || type === 'text/markdown') return 'text';
  return type;
}

/** What a client said a file is. */
export interface Claim {
  /** The Content-Type it sent with the file (a multipart part's, a data URL's). */
  type?: string;
  /** The file's name, whose extension is a claim too. */
  name?: string;
}

export type Sniffed = { ok: true; type: MediaType } | { ok: false; reason: string };

/**
 * Decides a file's type from its first bytes ({@link SNIFF_BYTES} of them, or
 * all of a shorter file) and checks the client's claims against it. A text
 * file's head alone says it is text: its rest goes through {@link TextCheckStream}.
 */
export function sniffMediaType(head: Uint8Array, claim: Claim = {}): Sniffed {
  const detected = detect(head);
  if (detected === 'markup') return { ok: false, reason: 'HTML, SVG and XML files are not accepted (a browser runs their scripts)' };
  if (detected === 'gif') return { ok: false, reason: 'GIF images are not accepted: Gemini does not read them (send a PNG or JPEG)' };
  if (detected === undefined) return { ok: false, reason: 'the file is none of the accepted types' };
  let type: MediaType = detected;
  const claimed = normalise(claim.type);
  const extension = claim.name ? /\.([a-z0-9]{1,10})$/i.exec(claim.name)?.[1]?.toLowerCase() : undefined;
  if (claimed !== undefined && claimed !== 'none') {
    if (claimed === 'other' || family(claimed) !== family(detected)) {
      return { ok: false, reason: `the file was sent as ${claim.type!.split(';')[0].trim()} but its content is ${describe(detected)}` };
    }
  }
  const byExtension = extension === undefined ? undefined : EXTENSIONS[extension];
  if (byExtension !== undefined && family(byExtension) !== family(detected)) {
    return { ok: false, reason: `the file is named .${extension} but its content is ${describe(detected)}` };
  }
  // Text is text/plain unless the client says Markdown (by type or by name).
  if (family(detected) === 'text' && (claimed === 'text/markdown' || byExtension === 'text/markdown')) type = 'text/markdown';
  return { ok: true, type };
}

function normalise(type: string | undefined): MediaType | 'none' | 'other' | undefined {
  if (type === undefined) return undefined;
  const bare = type.split(';')[0].trim().toLowerCase();
  if (NO_CLAIM.has(bare)) return 'none';
  if ((MEDIA_TYPES as readonly string[]).includes(bare)) return bare as MediaType;
  return MEDIA_TYPE_ALIASES[bare] ?? 'other';
}

function describe(type: MediaType): string {
  if (family(type) === 'text') return 'text';
  return type;
}

const ascii = (bytes: Uint8Array, at: number, text: string): boolean => {
  if (bytes.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
};

/** HEIF brands (ISO/IEC 23008-12): HEVC-coded images are HEIC, the rest of the container HEIF. */
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);
const HEIF_BRANDS = new Set(['mif1', 'msf1', 'heif']);

function detect(bytes: Uint8Array): MediaType | 'markup' | 'gif' | undefined {
  if (bytes.length === 0) return undefined;
  if (ascii(bytes, 0, '\x89PNG\r\n\x1a\n')) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WEBP')) return 'image/webp';
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WAVE')) return 'audio/wav';
  // Gemini answers "Unsupported MIME type: image/gif" (docs/fake-gemini.md): named, to say so.
  if (ascii(bytes, 0, 'GIF87a') || ascii(bytes, 0, 'GIF89a')) return 'gif';
  if (ascii(bytes, 4, 'ftyp') && bytes.length >= 12) {
    const brand = String.fromCharCode(bytes[8], bytes[9], bytes[10], bytes[11]);
    if (HEIC_BRANDS.has(brand)) return 'image/heic';
    if (HEIF_BRANDS.has(brand)) return 'image/heif';
    return undefined; // MP4, AVIF, QuickTime…
  }
  if (ascii(bytes, 0, '%PDF-')) return 'application/pdf';
  if (ascii(bytes, 0, 'ID3')) return 'audio/mpeg';
  // An MPEG audio frame header: 11 sync bits, a layer that is not "reserved".
  if (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0 && (bytes[1] & 0x06) !== 0) return 'audio/mpeg';
  return detectText(bytes);
}

/** Strict UTF-8; `stream` so a character cut at the end of the head is not an error. */
const decoder = () => new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Text: UTF-8 without NUL or other control characters than tab, line feed,
 * carriage return and form feed (an executable or a binary blob has them in
 * its first bytes). Markup is named, to be refused with its own reason.
 */
function detectText(bytes: Uint8Array): MediaType | 'markup' | undefined {
  let text: string;
  try {
    text = decoder().decode(bytes, { stream: true });
  } catch {
    return undefined;
  }
  if (/[\x00-\x08\x0b\x0e-\x1f\x7f]/.test(text)) return undefined;
  if (/^\s*<(\?xml|svg|!doctype|html|script|head|body)\b/i.test(text.replace(/^\ufeff/, ''))) return 'markup';
  return 'text/plain';
}

/**
 * Checks that the rest of a text file is UTF-8 without control characters, as
 * its head was: a stream stage the bytes pass through on their way to storage.
 */
export class TextCheckStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(onBad: () => Error) {
    const text = decoder();
    super({
      transform(chunk, controller) {
        let decoded: string;
        try {
          decoded = text.decode(chunk, { stream: true });
        } catch {
          throw onBad();
        }
        if (/[\x00-\x08\x0b\x0e-\x1f\x7f]/.test(decoded)) throw onBad();
        controller.enqueue(chunk);
      },
      flush() {
        try {
          text.decode();
        } catch {
          throw onBad();
        }
      },
    });
  }
}
