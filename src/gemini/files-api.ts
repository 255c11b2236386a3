import { httpError } from './gemini-adapter';
import { GeminiError } from './gemini-error';

/**
 * The Gemini Files API, for files too large to send inline: a resumable
 * upload (start, then one "upload, finalize" with the bytes), then the file's
 * URI in `fileData` parts until it expires (48 hours; docs/files.md). The SDK
 * this project uses has no Worker-ready upload (its `GoogleAIFileManager`
 * reads paths from disk), so this is two plain fetches behind the adapter.
 * The bytes stream from R2 to Gemini: no file is held whole in memory.
 */
export interface UploadSettings {
  apiKey: string;
  baseUrl: string;
  /** Longest wait for one step of the upload. */
  timeoutMs: number;
}

export interface GeminiFile {
  /** `files/…`: the resource name. */
  name: string;
  /** What a `fileData.fileUri` names. */
  uri: string;
  /** When Gemini deletes it (epoch ms). */
  expiresAt: number;
}

/** A file to upload: its bytes as a stream of known length. */
export interface UploadSource {
  body: ReadableStream<Uint8Array>;
  size: number;
  mimeType: string;
  displayName: string;
}

/** How often, and how many times, a file still PROCESSING is looked at again before it is given up. */
const POLL_MS = 500;
const POLLS = 20;
/** When Gemini gives no expiry: its documented 48 hours, less a margin. */
const DEFAULT_LIFETIME_MS = 47 * 3600_000;

/**
 * Uploads a file and waits until Gemini can use it (ACTIVE).
 * @throws {GeminiError} an HTTP failure in our words (as for a model call), a timeout, a file Gemini could not process
 */
export async function uploadFile(source: UploadSource, settings: UploadSettings, signal?: AbortSignal): Promise<GeminiFile> {
  const start = await call(`${settings.baseUrl}/upload/v1beta/files`, settings, signal, {
    method: 'POST',
    headers: {
      'x-goog-upload-protocol': 'resumable',
      'x-goog-upload-command': 'start',
      'x-goog-upload-header-content-length': String(source.size),
      'x-goog-upload-header-content-type': source.mimeType,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ file: { display_name: source.displayName } }),
  });
  await start.body?.cancel();
  const uploadUrl = start.headers.get('x-goog-upload-url');
  if (!uploadUrl) throw new GeminiError('stream', 'Gemini did not start the file upload', { code: 'upstream_malformed' });

  const finish = await call(uploadUrl, settings, signal, {
    method: 'POST',
    headers: {
      'x-goog-upload-command': 'upload, finalize',
      'x-goog-upload-offset': '0',
      'content-length': String(source.size),
    },
    body: source.body,
  });
  let file = fileOf(await finish.json().catch(() => undefined));
  for (let polls = 0; file.state === 'PROCESSING'; polls++) {
    if (polls === POLLS) throw new GeminiError('timeout', 'Gemini took too long to process an uploaded file');
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const response = await call(`${settings.baseUrl}/v1beta/${file.name}`, settings, signal, { method: 'GET' });
    file = fileOf({ file: await response.json().catch(() => undefined) });
  }
  if (file.state === 'FAILED') throw new GeminiError('http', 'Gemini could not process an uploaded file', { status: 400 });
  const expires = Date.parse(file.expirationTime ?? '');
  return { name: file.name, uri: file.uri, expiresAt: Number.isFinite(expires) ? expires : Date.now() + DEFAULT_LIFETIME_MS };
}

interface FileResource {
  name: string;
  uri: string;
  state?: string;
  expirationTime?: string;
}

function fileOf(body: unknown): FileResource {
  const file = (body as { file?: Partial<FileResource> } | undefined)?.file;
  if (typeof file?.name !== 'string' || typeof file.uri !== 'string') {
    throw new GeminiError('stream', 'Gemini answered a file upload with something else than a file', { code: 'upstream_malformed' });
  }
  return file as FileResource;
}

/** One request with the key, a timeout, and Google's errors in our words. */
async function call(url: string, settings: UploadSettings, signal: AbortSignal | undefined, init: RequestInit): Promise<Response> {
  const timeout = AbortSignal.timeout(settings.timeoutMs);
  const headers = new Headers(init.headers);
  headers.set('x-goog-api-key', settings.apiKey);
  let response: Response;
  try {
    response = await fetch(url, { ...init, headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  } catch (error) {
    if (timeout.aborted) throw new GeminiError('timeout', 'Gemini did not answer a file upload in time', { cause: error });
    if (signal?.aborted) throw new GeminiError('aborted', 'The file upload was aborted', { cause: error });
    throw new GeminiError('network', 'Could not reach Gemini', { cause: error });
  }
  if (response.ok) return response;
  const body = (await response.json().catch(() => undefined)) as { error?: { message?: string; details?: unknown } } | undefined;
  throw httpError({ status: response.status, statusText: response.statusText, details: body?.error?.details, upstreamMessage: body?.error?.message });
}
