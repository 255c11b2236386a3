// @ts-check
/**
 * Files in requests, as the Gemini API takes them in 2026: `inlineData` parts (base64 in the
 * request, up to 100 MB a request, 50 MB a PDF) and `fileData` parts naming a file uploaded
 * with the Files API (resumable upload, 2 GB a file, 20 GB a project, deleted after 48 hours).
 * This module holds the fake's file store, its Files API endpoints, the checks on file parts,
 * the token count of each file and the record of what arrived. Sources and every (inference):
 * docs/fake-gemini.md, "Files".
 */
import { createHash } from 'node:crypto';
import { googleError, invalidArgument } from './errors.mjs';
import { checkKey } from './keys.mjs';

/** "100 MB per request or payload" (file-input-methods): counted as MiB, like the 20 MB limit's 20971520 bytes before it (inference). */
export const INLINE_LIMIT_BYTES = 100 * 1024 * 1024;
/** "50 MB for PDFs" sent inline (file-input-methods), on the decoded bytes (inference), in MiB (inference). */
export const PDF_INLINE_LIMIT_BYTES = 50 * 1024 * 1024;
/** Files API uploads "expire after 48 hours" (file-input-methods). */
export const FILE_TTL_MS = 48 * 3600 * 1000;
/** "2 GB per file, up to 20GB per project" (file-input-methods); GiB: inference. */
export const MAX_FILE_BYTES = 2 * 1024 ** 3;
export const MAX_PROJECT_BYTES = 20 * 1024 ** 3;

/**
 * The MIME types the fake accepts in a file part, and the modality each counts as in
 * `promptTokensDetails`. Exact strings: a parameter (`; charset=…`) or another spelling is
 * refused (inference: the strict reading). Sources in docs/fake-gemini.md.
 * @type {Record<string, 'IMAGE' | 'DOCUMENT' | 'TEXT' | 'AUDIO' | 'VIDEO'>}
 */
export const FILE_TYPES = {
  // image-understanding "Supported image formats"; image/gif is not one of them.
  'image/png': 'IMAGE',
  'image/jpeg': 'IMAGE',
  'image/webp': 'IMAGE',
  'image/heic': 'IMAGE',
  'image/heif': 'IMAGE',
  // document-processing: PDFs are read with vision (DOCUMENT modality: inference).
  'application/pdf': 'DOCUMENT',
  // Other documents are read as plain text (TEXT modality: inference).
  'text/plain': 'TEXT',
  'text/md': 'TEXT',
  'text/markdown': 'TEXT', // (inference) see docs: text/md is the documented name
  'text/html': 'TEXT',
  'text/css': 'TEXT',
  'text/csv': 'TEXT',
  'text/xml': 'TEXT',
  'text/rtf': 'TEXT',
  'text/javascript': 'TEXT',
  'application/x-javascript': 'TEXT',
  'text/x-python': 'TEXT',
  'application/x-python': 'TEXT',
  'application/json': 'TEXT',
  // audio "Supported audio formats"; audio/mpeg as the cookbook's audio notebook sends it.
  'audio/wav': 'AUDIO',
  'audio/mp3': 'AUDIO',
  'audio/mpeg': 'AUDIO',
  'audio/aiff': 'AUDIO',
  'audio/aac': 'AUDIO',
  'audio/ogg': 'AUDIO',
  'audio/flac': 'AUDIO',
  // video: accepted, counted as one second (inference: the fake reads no video lengths).
  'video/mp4': 'VIDEO',
  'video/mpeg': 'VIDEO',
  'video/mov': 'VIDEO',
  'video/quicktime': 'VIDEO',
  'video/avi': 'VIDEO',
  'video/x-flv': 'VIDEO',
  'video/mpg': 'VIDEO',
  'video/webm': 'VIDEO',
  'video/wmv': 'VIDEO',
  'video/3gpp': 'VIDEO',
};


/**
 * Tokens a file costs, by the answering model's generation. Gemini 3 at the default media
 * resolution: 1120 an image, 560 a PDF page, 70 a video frame; 32 a second of audio; text about 4
 * characters a token. Gemini 2.5: 258 an image and a PDF page (tiling of large images ignored:
 * inference). Video: one frame plus one second of audio (inference).
 * @param {string} mimeType
 * @param {Buffer} bytes
 * @param {'3' | '2.5'} generation
 * @returns {{ modality: string, tokens: number, pages?: number, seconds?: number }}
 */
export function fileTokens(mimeType, bytes, generation) {
  const modality = FILE_TYPES[mimeType];
  switch (modality) {
    case 'IMAGE':
      return { modality, tokens: generation === '2.5' ? 258 : 1120 };
    case 'DOCUMENT': {
      const pages = pdfPages(bytes);
      return { modality, tokens: pages * (generation === '2.5' ? 258 : 560), pages };
    }
    case 'AUDIO': {
      const seconds = audioSeconds(mimeType, bytes);
      return { modality, tokens: Math.ceil(seconds * 32), seconds };
    }
    case 'VIDEO':
      return { modality, tokens: 70 + 32, seconds: 1 };
    default:
      return { modality: 'TEXT', tokens: Math.ceil(bytes.toString('utf8').length / 4) };
  }
}

/**
 * A PDF's pages: the page objects (`/Type /Page`, not `/Pages`) in its bytes, at least 1
 * (inference: compressed object streams hide them; such a PDF counts as one page).
 * @param {Buffer} bytes
 */
export function pdfPages(bytes) {
  const text = bytes.toString('latin1');
  const matches = text.match(/\/Type\s*\/Page(?![a-zA-Z])/g);
  return Math.max(1, matches ? matches.length : 0);
}

/** MPEG-1 Layer III bit rates (kbit/s) by the header's index. */
const MP3_BITRATES = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];

/**
 * An audio file's length in seconds: a WAV's from its `fmt ` byte rate and `data` size; an MP3's
 * from the first frame's bit rate (constant bit rate assumed: inference); 1 second for any other
 * format or an unreadable file (inference).
 * @param {string} mimeType
 * @param {Buffer} bytes
 */
export function audioSeconds(mimeType, bytes) {
  if (mimeType === 'audio/wav' && bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WAVE') {
    let byteRate = 0;
    let dataSize = 0;
    for (let at = 12; at + 8 <= bytes.length; ) {
      const id = bytes.toString('latin1', at, at + 4);
      const size = bytes.readUInt32LE(at + 4);
      if (id === 'fmt ' && at + 16 <= bytes.length) byteRate = bytes.readUInt32LE(at + 8 + 8);
      if (id === 'data') {
        dataSize = Math.min(size, bytes.length - at - 8);
        break;
      }
      at += 8 + size + (size & 1);
    }
    if (byteRate > 0) return dataSize / byteRate;
  }
  if (mimeType === 'audio/mp3' || mimeType === 'audio/mpeg') {
    let start = 0;
    // Skip an ID3v2 tag.
    if (bytes.length >= 10 && bytes.toString('latin1', 0, 3) === 'ID3') {
      start = 10 + ((bytes[6] & 0x7f) << 21) + ((bytes[7] & 0x7f) << 14) + ((bytes[8] & 0x7f) << 7) + (bytes[9] & 0x7f);
    }
    for (let i = start; i + 4 <= bytes.length; i++) {
      // Frame sync, MPEG-1, Layer III.
      if (bytes[i] === 0xff && (bytes[i + 1] & 0xfe) === 0xfa) {
        const kbps = MP3_BITRATES[bytes[i + 2] >> 4];
        if (kbps) return ((bytes.length - i) * 8) / (kbps * 1000);
      }
    }
  }
  return 1;
}

/** Proto JSON bytes: standard or URL-safe base64, padded or not (inference: the proto3 JSON rule). */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Decodes a `bytes` field as Google's JSON parser would, or returns undefined.
 * @param {unknown} data
 */
function decodeBase64(data) {
  if (typeof data !== 'string' || !BASE64.test(data)) return undefined;
  const body = data.replace(/=+$/, '');
  if (body.length % 4 === 1) return undefined;
  if (data.includes('=') && data.length % 4 !== 0) return undefined;
  return Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/**
 * @typedef {object} FileEntry one file part a request carried, in order (FakeRecord.files)
 * @property {number} turn index into `contents`
 * @property {string} role the content's role (`user` when none)
 * @property {'inline' | 'uri'} kind
 * @property {string} mimeType the MIME type the model reads the file as (the part's; for a URI
 *   part without one, the file's)
 * @property {number} bytes the decoded size (inline) or the uploaded file's size (uri)
 * @property {string} sha256 hex SHA-256 of those bytes
 * @property {string} [uri] the `fileUri` as sent
 * @property {string} [name] the file's resource name, `files/<id>`
 * @property {string} [fileMimeType] the uploaded file's own MIME type
 * @property {number} tokens the tokens the file counted for
 * @property {string} modality
 */

/**
 * @typedef {object} StoredFile
 * @property {string} id
 * @property {string} owner the key that uploaded it (one project per key: inference)
 * @property {string} displayName
 * @property {string} mimeType
 * @property {Buffer} bytes
 * @property {string} sha256 hex
 * @property {number} createdAt epoch ms
 * @property {number} expiresAt epoch ms
 * @property {boolean} expired set by `/__fake/files/expire` (or found past expiresAt)
 * @property {number} pollsLeft GETs left before the file turns ACTIVE (0: ACTIVE)
 * @property {string} uri
 */

/**
 * @typedef {object} UploadSession
 * @property {string} owner
 * @property {string} displayName
 * @property {string | undefined} mimeType from X-Goog-Upload-Header-Content-Type
 * @property {number | undefined} length from X-Goog-Upload-Header-Content-Length
 * @property {Buffer[]} chunks
 * @property {number} received
 */

/**
 * @typedef {object} FileOptions
 * @property {number} inlineLimitBytes the largest request payload (bytes of the JSON body)
 * @property {number} pdfInlineLimitBytes the largest inline PDF (decoded bytes)
 * @property {number} fileTtlMs how long an uploaded file lives
 * @property {number} processingPolls uploads come back PROCESSING and turn ACTIVE on the N-th GET (0: ACTIVE at once)
 */

/**
 * RFC 3339 as the File resource writes its times: microseconds for createTime/updateTime,
 * nanoseconds for expirationTime (the cookbook's recording: "2025-02-14T22:33:33.377817Z",
 * "2025-02-16T22:33:33.359672295Z").
 * @param {number} t epoch ms
 * @param {number} [digits]
 */
const rfc3339 = (t, digits = 6) => new Date(t).toISOString().replace(/\.(\d{3})Z$/, `.$1${'0'.repeat(digits - 3)}Z`);

export class FileStore {
  /** @param {Partial<FileOptions>} [options] */
  constructor(options = {}) {
    /** @type {FileOptions} */
    this.defaults = {
      inlineLimitBytes: options.inlineLimitBytes ?? INLINE_LIMIT_BYTES,
      pdfInlineLimitBytes: options.pdfInlineLimitBytes ?? PDF_INLINE_LIMIT_BYTES,
      fileTtlMs: options.fileTtlMs ?? FILE_TTL_MS,
      processingPolls: options.processingPolls ?? 0,
    };
    /** @type {FileOptions} */
    this.options = { ...this.defaults };
    /** @type {Map<string, StoredFile>} by id */
    this.files = new Map();
    /** @type {Map<string, UploadSession>} by upload_id */
    this.sessions = new Map();
    this.counter = 0;
  }

  /** @param {string} kind */
  nextId(kind) {
    const digest = createHash('sha256').update(`fake-gemini ${kind} ${++this.counter}`).digest();
    // Real file IDs are 12 lowercase letters and digits (e.g. "cxgja95z0ak1").
    let id = '';
    for (const byte of digest) {
      id += '0123456789abcdefghijklmnopqrstuvwxyz'[byte % 36];
      if (id.length === 12) break;
    }
    return id;
  }

  /**
   * A file as its owner sees it, or undefined when it does not exist for that key (never
   * uploaded, deleted, expired, or another project's).
   * @param {string} id
   * @param {string} owner
   */
  visible(id, owner) {
    const file = this.files.get(id);
    if (!file || file.owner !== owner) return undefined;
    if (!file.expired && Date.now() >= file.expiresAt) file.expired = true;
    return file.expired ? undefined : file;
  }

  /** @param {StoredFile} file */
  resource(file) {
    return {
      name: `files/${file.id}`,
      ...(file.displayName ? { displayName: file.displayName } : {}),
      mimeType: file.mimeType,
      sizeBytes: String(file.bytes.length),
      createTime: rfc3339(file.createdAt),
      updateTime: rfc3339(file.createdAt),
      expirationTime: rfc3339(file.expiresAt, 9),
      // Base64 of the hex digest, as the real API writes it (the cookbook's recording:
      // "MGU3ZmFm…" is base64 of "0e7faf…"), though the reference says "SHA-256 hash of the
      // uploaded bytes. A base64-encoded string."
      sha256Hash: Buffer.from(file.sha256, 'latin1').toString('base64'),
      uri: file.uri,
      state: file.pollsLeft > 0 ? 'PROCESSING' : 'ACTIVE',
      source: 'UPLOADED',
    };
  }

  /** What `GET /__fake/files` lists. */
  listing() {
    const all = [...this.files.values()];
    return all.map((file) => ({
      name: `files/${file.id}`,
      uri: file.uri,
      displayName: file.displayName,
      mimeType: file.mimeType,
      size: file.bytes.length,
      sha256: file.sha256,
      uploads: all.filter((other) => other.owner === file.owner && other.sha256 === file.sha256 && other.createdAt <= file.createdAt).length,
      createdAt: file.createdAt,
      expiresAt: file.expiresAt,
      expired: file.expired || Date.now() >= file.expiresAt,
      state: file.pollsLeft > 0 ? 'PROCESSING' : 'ACTIVE',
    }));
  }
}

/** The 403 for a file that does not exist for this key (python-genai#1218, deprecated-generative-ai-js#236). */
const noFile = (/** @type {string} */ id) => googleError(403, { message: `You do not have permission to access the File ${id} or it may not exist.` });

/**
 * Serves the Files API and the fake's own file endpoints. Returns false when the path is not one of them.
 * @param {FileStore} store
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {URL} url
 * @param {(res: import('node:http').ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void} send
 * @returns {Promise<boolean>}
 */
export async function handleFiles(store, req, res, url, send) {
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const base = `http://${req.headers.host ?? '127.0.0.1'}`;

  // The fake's own endpoints.
  if (path === '/__fake/files') {
    if (method === 'DELETE') {
      store.files.clear();
      store.sessions.clear();
      return send(res, 200, { ok: true }), true;
    }
    return send(res, 200, store.listing()), true;
  }
  if (path === '/__fake/files/expire' && method === 'POST') {
    const raw = (await readBytes(req)).toString('utf8');
    const name = url.searchParams.get('name') ?? (raw ? JSON.parse(raw).name : undefined);
    const expired = [];
    for (const file of store.files.values()) {
      if (name && `files/${file.id}` !== name && file.id !== name && file.uri !== name) continue;
      file.expired = true;
      expired.push(`files/${file.id}`);
    }
    return send(res, 200, { expired }), true;
  }
  if (path === '/__fake/files/options') {
    if (method === 'DELETE') store.options = { ...store.defaults };
    else if (method === 'POST') {
      const raw = (await readBytes(req)).toString('utf8');
      const patch = raw ? JSON.parse(raw) : {};
      for (const key of /** @type {(keyof FileOptions)[]} */ (['inlineLimitBytes', 'pdfInlineLimitBytes', 'fileTtlMs', 'processingPolls'])) {
        if (typeof patch[key] === 'number') store.options[key] = patch[key];
      }
    }
    return send(res, 200, store.options), true;
  }

  // Resumable upload: start, then the bytes.
  if (path === '/upload/v1beta/files' && method === 'POST') {
    const uploadId = url.searchParams.get('upload_id');
    if (uploadId) return uploadBytes(store, req, res, uploadId, base, send), true;
    return startUpload(store, req, res, url, base, send), true;
  }

  const match = /^\/v1beta\/files(?:\/([^/:]+))?$/.exec(path);
  if (!match) return false;
  const id = match[1];
  const rpc = id === undefined ? 'ListFiles' : method === 'DELETE' ? 'DeleteFile' : 'GetFile';
  const auth = checkKey(req.headers['x-goog-api-key'], url.searchParams.get('key'), `FileService.${rpc}`);
  if ('status' in auth) return send(res, auth.status, auth.body), true;
  if (id === undefined) {
    if (method !== 'GET') return false;
    const files = [...store.files.values()].filter((file) => store.visible(file.id, auth.key)).map((file) => store.resource(file));
    // (inference) pageSize 10 by default, at most 100; an empty list is `{}` (proto JSON omits empty fields).
    const size = Math.min(100, Math.max(1, Number(url.searchParams.get('pageSize') ?? 10) || 10));
    const offset = Number(Buffer.from(url.searchParams.get('pageToken') ?? '', 'base64url').toString('utf8') || 0) || 0;
    const page = files.slice(offset, offset + size);
    return send(res, 200, {
      ...(page.length ? { files: page } : {}),
      ...(offset + size < files.length ? { nextPageToken: Buffer.from(String(offset + size)).toString('base64url') } : {}),
    }), true;
  }
  const file = store.visible(id, auth.key);
  if (!file) return send(res, 403, noFile(id)), true;
  if (method === 'DELETE') {
    store.files.delete(id);
    return send(res, 200, {}), true;
  }
  if (method !== 'GET') return false;
  // Each poll moves a PROCESSING file on; the N-th GET sees it ACTIVE.
  if (file.pollsLeft > 0) file.pollsLeft--;
  return send(res, 200, store.resource(file)), true;
}

/**
 * `POST /upload/v1beta/files` with `X-Goog-Upload-Protocol: resumable`, `X-Goog-Upload-Command:
 * start`: answers 200 with the session's URL in `X-Goog-Upload-URL` and an empty body.
 * @param {FileStore} store
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {URL} url
 * @param {string} base
 * @param {(res: import('node:http').ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void} send
 */
async function startUpload(store, req, res, url, base, send) {
  const bytes = await readBytes(req);
  const raw = bytes.toString('utf8');
  const auth = checkKey(req.headers['x-goog-api-key'], url.searchParams.get('key'), 'FileService.CreateFile');
  if ('status' in auth) return send(res, auth.status, auth.body);
  const protocol = header(req, 'x-goog-upload-protocol');
  const command = header(req, 'x-goog-upload-command');
  if (protocol === 'multipart') {
    const answer = multipartUpload(store, auth.key, req, bytes, base);
    return send(res, answer.status, answer.body);
  }
  if (protocol !== 'resumable' || command !== 'start') {
    // (inference) the fake speaks the resumable and multipart protocols the docs and SDKs use.
    return send(res, 400, invalidArgument(`The fake Gemini takes resumable (X-Goog-Upload-Protocol: resumable, X-Goog-Upload-Command: start) or multipart uploads; got protocol ${JSON.stringify(protocol ?? null)}, command ${JSON.stringify(command ?? null)}.`));
  }
  let metadata = {};
  try {
    metadata = raw ? JSON.parse(raw) : {};
  } catch {
    return send(res, 400, invalidArgument('Invalid JSON payload received.'));
  }
  const file = /** @type {any} */ (metadata)?.file ?? {};
  const lengthHeader = header(req, 'x-goog-upload-header-content-length');
  const length = lengthHeader === undefined ? undefined : Number(lengthHeader);
  if (length !== undefined && length > MAX_FILE_BYTES) {
    // (inference) the wording; the limit is the docs' "2 GB per file".
    return send(res, 400, invalidArgument(`File size ${length} bytes exceeds the maximum of ${MAX_FILE_BYTES} bytes.`));
  }
  const used = [...store.files.values()].filter((f) => store.visible(f.id, auth.key)).reduce((sum, f) => sum + f.bytes.length, 0);
  if (length !== undefined && used + length > MAX_PROJECT_BYTES) {
    // (inference) status and wording; the limit is the docs' "up to 20GB per project".
    return send(res, 429, googleError(429, { message: `The project's files would exceed ${MAX_PROJECT_BYTES} bytes of storage.` }));
  }
  const uploadId = store.nextId('upload') + store.nextId('upload');
  store.sessions.set(uploadId, {
    owner: auth.key,
    displayName: String(file.displayName ?? file.display_name ?? ''),
    mimeType: header(req, 'x-goog-upload-header-content-type'),
    length: Number.isFinite(length) ? length : undefined,
    chunks: [],
    received: 0,
  });
  // (inference) the URL's query: the real one carries an upload_id.
  return send(res, 200, '', {
    'X-Goog-Upload-URL': `${base}/upload/v1beta/files?upload_id=${uploadId}&upload_protocol=resumable`,
    'X-Goog-Upload-Status': 'active',
    'X-Goog-Upload-Chunk-Granularity': String(8 * 1024 * 1024),
  });
}

/**
 * `POST <upload URL>` with `X-Goog-Upload-Command: upload[, finalize]` and
 * `X-Goog-Upload-Offset`: appends the bytes; on finalize answers 200, `X-Goog-Upload-Status:
 * final`, `{ file: File }`; before that `X-Goog-Upload-Status: active` (js-genai's uploader reads
 * both). The session's URL is its credential: no key is needed (the docs' curl sends none).
 * @param {FileStore} store
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {string} uploadId
 * @param {string} base
 * @param {(res: import('node:http').ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void} send
 */
async function uploadBytes(store, req, res, uploadId, base, send) {
  const bytes = await readBytes(req);
  const session = store.sessions.get(uploadId);
  // (inference) statuses and wording of the upload protocol's own errors.
  if (!session) return send(res, 404, googleError(404, { message: 'Upload session not found.' }));
  const commands = (header(req, 'x-goog-upload-command') ?? '').split(',').map((c) => c.trim());
  const offset = Number(header(req, 'x-goog-upload-offset') ?? session.received);
  if (commands.includes('upload')) {
    if (offset !== session.received) {
      return send(res, 400, invalidArgument(`Invalid upload offset ${offset}: ${session.received} bytes received so far.`), { 'X-Goog-Upload-Status': 'active' });
    }
    session.chunks.push(bytes);
    session.received += bytes.length;
  }
  if (!commands.includes('finalize')) return send(res, 200, '', { 'X-Goog-Upload-Status': 'active', 'X-Goog-Upload-Size-Received': String(session.received) });
  const data = Buffer.concat(session.chunks);
  if (session.length !== undefined && data.length !== session.length) {
    return send(res, 400, invalidArgument(`The upload declared ${session.length} bytes and sent ${data.length}.`), { 'X-Goog-Upload-Status': 'active' });
  }
  store.sessions.delete(uploadId);
  const mimeType = session.mimeType ?? header(req, 'content-type') ?? 'application/octet-stream';
  const file = createFile(store, session.owner, session.displayName, mimeType, data, base);
  return send(res, 200, { file: store.resource(file) }, { 'X-Goog-Upload-Status': 'final' });
}

/**
 * Stores an uploaded file. Files are ACTIVE at once unless `processingPolls` says otherwise;
 * video is always processed before use (the video guide) for at least one poll (inference).
 * @param {FileStore} store
 * @param {string} owner
 * @param {string} displayName
 * @param {string} mimeType
 * @param {Buffer} data
 * @param {string} base
 */
function createFile(store, owner, displayName, mimeType, data, base) {
  const id = store.nextId('file');
  const now = Date.now();
  /** @type {StoredFile} */
  const file = {
    id,
    owner,
    displayName,
    mimeType,
    bytes: data,
    sha256: createHash('sha256').update(data).digest('hex'),
    createdAt: now,
    expiresAt: now + store.options.fileTtlMs,
    expired: false,
    pollsLeft: Math.max(store.options.processingPolls, FILE_TYPES[mimeType] === 'VIDEO' ? 1 : 0),
    uri: `${base}/v1beta/files/${id}`,
  };
  store.files.set(id, file);
  return file;
}

/**
 * `POST /upload/v1beta/files` with `X-Goog-Upload-Protocol: multipart` and a
 * `multipart/related` body (the JSON metadata, then the bytes with their Content-Type): how
 * `@google/generative-ai/server`'s `GoogleAIFileManager.uploadFile` uploads. Answers 200
 * `{ file: File }` (inference: the status; the SDK only reads the JSON).
 * @param {FileStore} store
 * @param {string} owner
 * @param {import('node:http').IncomingMessage} req
 * @param {Buffer} body
 * @param {string} base
 * @returns {{ status: number, body: unknown }}
 */
function multipartUpload(store, owner, req, body, base) {
  const boundary = /boundary=("?)([^";]+)\1/.exec(header(req, 'content-type') ?? '')?.[2];
  const parts = [];
  if (boundary) {
    const marker = Buffer.from(`--${boundary}`);
    let at = body.indexOf(marker);
    while (at !== -1) {
      const start = at + marker.length;
      if (body.subarray(start, start + 2).toString() === '--') break;
      const next = body.indexOf(marker, start);
      if (next === -1) break;
      const chunk = body.subarray(start + 2, next - 2); // drop the CRLF after the marker and before the next
      const split = chunk.indexOf('\r\n\r\n');
      if (split !== -1) {
        const headers = chunk.subarray(0, split).toString('utf8');
        parts.push({ type: /content-type:\s*([^\r\n;]+)/i.exec(headers)?.[1]?.trim(), data: chunk.subarray(split + 4) });
      }
      at = next;
    }
  }
  if (parts.length !== 2) return { status: 400, body: invalidArgument('The multipart upload must hold the metadata and the file, two parts.') }; // (inference)
  let metadata;
  try {
    metadata = JSON.parse(parts[0].data.toString('utf8'));
  } catch {
    return { status: 400, body: invalidArgument('Invalid JSON payload received.') };
  }
  const meta = metadata?.file ?? {};
  const mimeType = meta.mimeType ?? meta.mime_type ?? parts[1].type ?? 'application/octet-stream';
  if (parts[1].data.length > MAX_FILE_BYTES) return { status: 400, body: invalidArgument(`File size ${parts[1].data.length} bytes exceeds the maximum of ${MAX_FILE_BYTES} bytes.`) };
  const file = createFile(store, owner, String(meta.displayName ?? meta.display_name ?? ''), mimeType, parts[1].data, base);
  return { status: 200, body: { file: store.resource(file) } };
}

/**
 * @typedef {{ status: number, body: import('./errors.mjs').ErrorBody }} Refusal
 */

/**
 * Checks the file parts of a request's `contents` as Gemini does and measures them. Returns the
 * refusal, or the files in order with their tokens.
 * @param {any} body
 * @param {FileStore} store
 * @param {string} owner the key
 * @param {'3' | '2.5'} generation the answering model's
 * @returns {Refusal | { files: FileEntry[] }}
 */
export function checkFileParts(body, store, owner, generation) {
  /** @type {FileEntry[]} */
  const files = [];
  const contents = Array.isArray(body?.contents) ? body.contents : [];
  for (let turn = 0; turn < contents.length; turn++) {
    const content = contents[turn];
    const parts = Array.isArray(content?.parts) ? content.parts : [];
    for (let p = 0; p < parts.length; p++) {
      const part = parts[p];
      const inline = part?.inlineData ?? part?.inline_data;
      const fileData = part?.fileData ?? part?.file_data;
      if (inline) {
        const mimeType = inline.mimeType ?? inline.mime_type;
        const field = `contents[${turn}].parts[${p}].inline_data.data`;
        const bytes = decodeBase64(inline.data ?? '');
        if (!bytes) {
          const shown = String(inline.data).length > 200 ? `${String(inline.data).slice(0, 200)}...` : String(inline.data);
          const description = `Invalid value at '${field}' (TYPE_BYTES), Base64 decoding failed for "${shown}"`;
          return { status: 400, body: googleError(400, { message: description, details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description }] }] }) };
        }
        if (typeof mimeType !== 'string' || !FILE_TYPES[mimeType]) {
          return { status: 400, body: invalidArgument(`Unsupported MIME type: ${mimeType ?? ''}`) };
        }
        if (mimeType === 'application/pdf' && bytes.length > store.options.pdfInlineLimitBytes) {
          // (inference) the wording; the limit is the docs' "50 MB for PDFs" sent inline.
          return { status: 400, body: invalidArgument(`Inline PDF data at contents[${turn}].parts[${p}] is ${bytes.length} bytes, over the limit of ${store.options.pdfInlineLimitBytes} bytes. Please use the File API for larger files.`) };
        }
        const { modality, tokens } = fileTokens(mimeType, bytes, generation);
        files.push({ turn, role: content.role ?? 'user', kind: 'inline', mimeType, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), tokens, modality });
      } else if (fileData) {
        const uri = String(fileData.fileUri ?? fileData.file_uri ?? '');
        const id = /(?:^|\/)files\/([a-z0-9-]+)$/.exec(uri)?.[1];
        if (!id) {
          // Not a Files API URI (an external URL or gs:// object): the fake fetches nothing.
          return { status: 400, body: invalidArgument(`The fake Gemini only reads Files API URIs (…/v1beta/files/<id>); got ${JSON.stringify(uri)}.`) };
        }
        const file = store.visible(id, owner);
        if (!file) return { status: 403, body: noFile(id) };
        if (file.pollsLeft > 0) {
          return { status: 400, body: googleError(400, { status: 'FAILED_PRECONDITION', message: `The File ${id} is not in an ACTIVE state and usage is not allowed.` }) };
        }
        // (inference) the part's MIME type, when given, is how the model reads the file.
        const mimeType = fileData.mimeType ?? fileData.mime_type ?? file.mimeType;
        if (!FILE_TYPES[mimeType]) return { status: 400, body: invalidArgument(`Unsupported MIME type: ${mimeType}`) };
        const { modality, tokens } = fileTokens(mimeType, file.bytes, generation);
        files.push({ turn, role: content.role ?? 'user', kind: 'uri', mimeType, bytes: file.bytes.length, sha256: file.sha256, uri, name: `files/${id}`, fileMimeType: file.mimeType, tokens, modality });
      }
    }
  }
  return { files };
}

/**
 * `promptTokensDetails` for the prompt's text tokens plus its files', by modality, each listed
 * where it first appears in the request (system instruction first), as in the recordings: TEXT
 * then AUDIO for a text part before an audio part (the cookbook's audio REST notebook), IMAGE
 * then TEXT for images sent before the text. A request with files and no text has no TEXT entry.
 * @param {any} body
 * @param {number} textTokens
 * @param {FileEntry[]} files in request order
 */
export function promptDetails(body, textTokens, files) {
  /** @type {string[]} */
  const order = [];
  const see = (/** @type {string} */ m) => order.includes(m) || order.push(m);
  if ((body?.systemInstruction?.parts ?? []).some((/** @type {any} */ p) => typeof p?.text === 'string')) see('TEXT');
  let next = 0;
  for (const content of Array.isArray(body?.contents) ? body.contents : []) {
    for (const part of Array.isArray(content?.parts) ? content.parts : []) {
      if (part?.inlineData ?? part?.inline_data ?? part?.fileData ?? part?.file_data) {
        if (files[next]) see(files[next++].modality);
      } else if (typeof part?.text === 'string') see('TEXT');
    }
  }
  /** @type {Record<string, number>} */
  const counts = {};
  if (textTokens > 0 || files.length === 0) counts.TEXT = textTokens;
  for (const file of files) counts[file.modality] = (counts[file.modality] ?? 0) + file.tokens;
  see('TEXT');
  return order.filter((m) => counts[m] !== undefined).map((modality) => ({ modality, tokenCount: counts[modality] }));
}

/**
 * The line the answer starts with for each file of the last user turn:
 * `[fake] received image/png, 1234 bytes, sha256 3f2a0c1d9e8b7a65` (+ ` from files/<id>`).
 * @param {FileEntry} file
 */
export function receivedLine(file) {
  return `[fake] received ${file.mimeType}, ${file.bytes} bytes, sha256 ${file.sha256.slice(0, 16)}${file.name ? ` from ${file.name}` : ''}`;
}

/** @param {import('node:http').IncomingMessage} req @param {string} name */
function header(req, name) {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** @param {import('node:http').IncomingMessage} req */
export async function readBytes(req) {
  const parts = [];
  for await (const part of req) parts.push(part);
  return Buffer.concat(parts);
}
