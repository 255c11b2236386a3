/** Sample files for the attachment tests: real magic numbers, deterministic filler. */

const encoder = new TextEncoder();
/** UTF-8 bytes, in a buffer of their own (what Blob and digest take). */
const utf8 = (text: string): Uint8Array<ArrayBuffer> => new Uint8Array(encoder.encode(text));

/** `size` bytes that start with `head`, the rest a fixed pseudo-random filler (never all zero). */
export function bytesWith(head: Uint8Array | string, size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const start = typeof head === 'string' ? encoder.encode(head) : head;
  const out = new Uint8Array(Math.max(size, start.byteLength));
  out.set(start);
  let x = seed * 2654435761;
  for (let i = start.byteLength; i < out.byteLength; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export const PNG_SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG of `size` bytes (its signature and an IHDR chunk start; enough for every sniffer). */
export function png(size = 2048, seed = 1): Uint8Array<ArrayBuffer> {
  const head = new Uint8Array([...PNG_SIGNATURE, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 16, 0, 0, 0, 16, 8, 6, 0, 0, 0]);
  return bytesWith(head, size, seed);
}

export function jpeg(size = 2048, seed = 2): Uint8Array<ArrayBuffer> {
  return bytesWith(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0]), size, seed);
}

/** A PDF whose page objects a page counter finds. */
export function pdf(pages = 2): Uint8Array<ArrayBuffer> {
  let text = '%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n';
  text += `2 0 obj << /Type /Pages /Count ${pages} >> endobj\n`;
  for (let i = 0; i < pages; i++) text += `${3 + i} 0 obj << /Type /Page /Parent 2 0 R >> endobj\n`;
  return utf8(`${text}%%EOF\n`);
}

/** A Windows executable (MZ header) of `size` bytes. */
export function exe(size = 4096): Uint8Array<ArrayBuffer> {
  return bytesWith(new Uint8Array([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0, 0]), size, 3);
}

export const SVG_WITH_SCRIPT = utf8('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>');

export function text(content: string): Uint8Array<ArrayBuffer> {
  return utf8(content);
}

/** SHA-256 of bytes, hex. */
export async function sha256(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes instanceof Uint8Array ? new Uint8Array(bytes) : bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.byteLength; i += 8192) binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(binary);
}

/** A multipart/form-data body built by hand, to cut it or bend it where a test wants. */
export function formBody(parts: Array<{ field?: string; filename?: string; type?: string; bytes: Uint8Array }>, boundary = 'testboundary42'): { body: Uint8Array<ArrayBuffer>; contentType: string } {
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.field ?? 'file'}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    chunks.push(encoder.encode(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.type ? `Content-Type: ${part.type}\r\n` : ''}\r\n`));
    chunks.push(part.bytes);
    chunks.push(encoder.encode('\r\n'));
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  const size = chunks.reduce((n, c) => n + c.byteLength, 0);
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
