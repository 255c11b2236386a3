import type { FileInfo, FileLimits } from '../protocol/messages.js';
import { MEDIA_TYPE_ALIASES } from '../protocol/media-types.js';
import { fetcher } from './http.js';
import type { FetchLike } from './types.js';

export type { FileLimits };

/** How far the uploads of one message have got, reported as the bytes go out. */
export interface UploadProgress {
  /** The file this report is about: its index in the message's `files`. */
  index: number;
  /** Bytes of that file sent so far, of `total` (its size). */
  loaded: number;
  total: number;
  /** Bytes of all the message's files sent so far, of `overallTotal`. */
  overallLoaded: number;
  overallTotal: number;
  /** On the report that ends a file: what the Worker stored (its id, name, type, size and url). */
  file?: FileInfo;
}

/** What `chat.upload` takes besides the file. */
export interface UploadOptions {
  signal?: AbortSignal;
  /**
   * Bytes of the file sent so far. With it the upload goes by `XMLHttpRequest`
   * (unless the chat was given its own `fetch`): `fetch` reports no upload
   * progress. Without it, or with a custom `fetch`, it is called once, at the end.
   */
  onProgress?: (loaded: number, total: number) => void;
}

/** A file of a message: bytes to upload, or one uploaded already (`chat.upload`). */
export type MessageFile = Blob | FileInfo;


/**
 * Why the Worker would refuse this file, told before uploading it, or
 * `undefined` when it may be sent: `too_large`, `invalid_request` (empty), or
 * `unsupported_media_type` when the browser names a type that is not accepted.
 * A file whose type the browser does not know (`''`) goes to the Worker, which
 * decides from its bytes.
 */
export function fileRefusal(file: { size: number; type: string }, limits: FileLimits): 'too_large' | 'invalid_request' | 'unsupported_media_type' | undefined {
  if (file.size > limits.maxBytes) return 'too_large';
  if (file.size === 0) return 'invalid_request';
  const type = file.type.split(';')[0].trim().toLowerCase();
  if (type === '' || type === 'application/octet-stream') return undefined;
  return limits.types.includes(MEDIA_TYPE_ALIASES[type] ?? type) ? undefined : 'unsupported_media_type';
}

/** Whether a message's file is bytes still to upload. */
export function isBlob(file: MessageFile): file is Blob {
  return typeof (file as FileInfo).id !== 'string';
}

/**
 * `POST`s one file as `multipart/form-data` (field `file`). Progress wanted
 * and no custom fetch: by `XMLHttpRequest`, whose answer is returned as a `Response`.
 */
export async function postFile(url: string, file: Blob, custom: FetchLike | undefined, { signal, onProgress }: UploadOptions): Promise<Response> {
  const body = new FormData();
  body.append('file', file, (file as File).name ?? 'file');
  if (onProgress && !custom && typeof XMLHttpRequest === 'function') return xhrPost(url, body, file.size, signal, onProgress);
  const response = await fetcher(custom)(url, { method: 'POST', body, signal });
  onProgress?.(file.size, file.size);
  return response;
}

function xhrPost(url: string, body: FormData, size: number, signal: AbortSignal | undefined, onProgress: (loaded: number, total: number) => void): Promise<Response> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    xhr.open('POST', url);
    xhr.responseType = 'blob';
    // The events count the form's bytes (boundaries, part headers): scaled to the file's.
    xhr.upload.onprogress = (event) => event.lengthComputable && onProgress(Math.min(size, Math.round((event.loaded / event.total) * size)), size);
    xhr.onloadend = () => {
      signal?.removeEventListener('abort', onAbort);
      if (xhr.status < 200) return reject(signal?.aborted ? signal.reason : new TypeError('the upload failed'));
      const retryAfter = xhr.getResponseHeader('retry-after');
      if (xhr.status < 300) onProgress(size, size);
      resolve(new Response(xhr.response as Blob, { status: xhr.status, statusText: xhr.statusText, headers: retryAfter ? { 'retry-after': retryAfter } : {} }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    xhr.send(body);
  });
}
