import type { MediaType } from './media-type';

/**
 * Gemini's token count for a file, estimated from facts gathered while the
 * file streams past ({@link FileFacts}): what a file weighs in the context
 * budget, where it counts as {@link CHARS_PER_TOKEN} characters per token.
 * Figures: Gemini 3 at its default media resolution (docs/files.md cites them).
 */
export const TOKENS_PER_IMAGE = 1120;
export const TOKENS_PER_PDF_PAGE = 560;
export const AUDIO_TOKENS_PER_SECOND = 32;
/** The context budget (MAX_CONTEXT_CHARS) is in characters; a token is about four of them. */
export const CHARS_PER_TOKEN = 4;

/** An MP3's bytes per second when its frames do not say: 128 kbit/s, the most common rate. */
const MP3_BYTES_PER_SECOND = 16_000;
const PAGE_MARKER = new TextEncoder().encode('/Type');

/**
 * What a file's bytes tell about its size in tokens, learnt as they pass:
 * a PDF's page objects (`/Type /Page`, not `/Pages`), a WAV's byte rate.
 * Chunks may cut a marker anywhere: the last bytes of each are kept.
 */
export class FileFacts {
  private pages = 0;
  private tail = new Uint8Array(0);
  private wavBytesPerSecond = 0;
  size = 0;

  constructor(private readonly type: MediaType) {}

  observe(chunk: Uint8Array): void {
    if (this.size === 0 && this.type === 'audio/wav' && chunk.byteLength >= 32) {
      // RIFF/WAVE "fmt " chunk: the byte rate at offset 28 (little-endian), when the fmt chunk comes first.
      this.wavBytesPerSecond = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(28, true);
    }
    this.size += chunk.byteLength;
    if (this.type !== 'application/pdf') return;
    const bytes = this.tail.byteLength ? joined(this.tail, chunk) : chunk;
    let counted = 0;
    for (let at = indexOfMarker(bytes, 0); at !== -1; at = indexOfMarker(bytes, at + 1)) {
      if (isPage(bytes, at + PAGE_MARKER.byteLength)) {
        this.pages++;
        counted = at + PAGE_MARKER.byteLength;
      }
    }
    // Keep enough to find a marker the chunk's end cut, but nothing of one already counted.
    this.tail = bytes.slice(Math.max(counted, bytes.byteLength - 32));
  }

  /** The estimate, once every byte was seen. */
  tokens(): number {
    switch (this.type) {
      case 'application/pdf':
        // Compressed object streams hide page objects: then a page per 50 KB, a scanned page's size.
        return Math.max(1, this.pages || Math.ceil(this.size / 50_000)) * TOKENS_PER_PDF_PAGE;
      case 'text/plain':
      case 'text/markdown':
        return Math.max(1, Math.ceil(this.size / CHARS_PER_TOKEN));
      case 'audio/wav':
        return Math.max(1, Math.ceil((this.size / (this.wavBytesPerSecond || 32_000)) * AUDIO_TOKENS_PER_SECOND));
      case 'audio/mpeg':
        return Math.max(1, Math.ceil((this.size / MP3_BYTES_PER_SECOND) * AUDIO_TOKENS_PER_SECOND));
      default:
        return TOKENS_PER_IMAGE;
    }
  }
}

function joined(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

function indexOfMarker(bytes: Uint8Array, from: number): number {
  for (let i = bytes.indexOf(47, from); i !== -1; i = bytes.indexOf(47, i + 1)) {
    let j = 1;
    while (j < PAGE_MARKER.byteLength && bytes[i + j] === PAGE_MARKER[j]) j++;
    if (j === PAGE_MARKER.byteLength) return i;
  }
  return -1;
}

/** After `/Type`: optional whitespace, `/Page`, then not `s` (and the bytes to say so). */
function isPage(bytes: Uint8Array, at: number): boolean {
  let i = at;
  while (i < bytes.byteLength && (bytes[i] === 32 || bytes[i] === 10 || bytes[i] === 13 || bytes[i] === 9)) i++;
  const page = '/Page';
  for (let k = 0; k < page.length; k++) if (bytes[i + k] !== page.charCodeAt(k)) return false;
  const next = bytes[i + page.length];
  return next !== undefined && next !== 115; // 's': /Pages, the page tree
}
