import type { ErrorCode } from '../protocol/events.js';
import { MAX_TOOL_ERROR_CHARS } from '../protocol/parts.js';
import { MESSAGE_ID_HEADER, type ChatMessage, type ChatSnapshot, type FileInfo, type NewChatBody, type Rating, type ThinkingSettings } from '../protocol/messages.js';
import { GeminiEdgeError } from './client-error.js';
import { fileRefusal, isBlob, postFile, type FileLimits, type MessageFile, type UploadOptions, type UploadProgress } from './files.js';
import { apiUrl, fetcher, responseError } from './http.js';
import { reconnectingEvents } from './reconnecting-events.js';
import { challengedFetch } from './turnstile.js';
import type { ClientOptions, FetchLike, ReconnectOptions, StreamEvent, ToolHandler, ToolStreamEvent } from './types.js';

export interface OpenChatOptions extends ClientOptions, NewChatBody {
  /**
   * A chat to reopen (its id from an earlier `openChat`). When absent, or
   * when that chat no longer exists, a new chat is created with `system`,
   * `model`, `thinking` and `assistant`.
   */
  id?: string;
  /** How a dropped stream reconnects. */
  reconnect?: ReconnectOptions;
  /**
   * The deployment's file limits (`files` of `GET /api/assistant`): with them a
   * file that is too large, empty or of a type not taken, or one file too many,
   * is refused before anything is uploaded.
   */
  fileLimits?: FileLimits;
  /**
   * Where the chat looks for the handler of a page-side tool that `chat.registerTool` did not
   * register, when the model calls it: a registry kept elsewhere (the widget's, the hook's `tools`).
   */
  toolHandler?: (name: string) => ToolHandler | undefined;
}

export interface TurnOptions {
  /**
   * Aborting it closes the connection. The turn runs on for the Worker's
   * `RESUME_GRACE_MS` so `resume()` can pick it up, then is cancelled; call
   * `chat.cancel()` to stop it at once.
   */
  signal?: AbortSignal;
  /**
   * Sees the turn's tool steps (an assistant with tools: each `tool-call`, then its
   * `tool-result`), which the iteration itself leaves out: it yields the answer.
   */
  onToolEvent?: (event: ToolStreamEvent) => void;
}

/** What `chat.send` takes besides the message. */
export interface SendOptions extends TurnOptions {
  /**
   * How the model thinks for this answer only (`{ show: true }` streams the
   * thought summary as `thought` events); without it, the chat's own
   * `thinking`, else the Worker's default.
   */
  thinking?: ThinkingSettings;
  /** Called as the message's files upload (`chat.send({ text, files })`): per file, and over all of them. */
  onProgress?: (progress: UploadProgress) => void;
}

/** A message with files: `text` may be empty when there are files. */
export interface MessageInput {
  text?: string;
  /** Sent before the text, in this order: `File`s or `Blob`s to upload, or files `chat.upload` returned. */
  files?: readonly MessageFile[];
}

const CHAT_ID = /^[0-9a-f]{64}$/;

/**
 * Opens a stored chat: the one named by `id` if it still exists, else a new
 * one. The chat lives in the Worker (a Durable Object), so it survives page
 * reloads: keep `chat.id` (in `localStorage`, say) and pass it next time.
 *
 * @example
 * const chat = await openChat({ endpoint, id: localStorage.getItem('chat') ?? undefined });
 * localStorage.setItem('chat', chat.id);
 * if (chat.messages.at(-1)?.status === 'streaming') for await (const e of chat.resume()) show(e);
 * for await (const event of chat.send('Hello!')) show(event);
 *
 * @throws {GeminiEdgeError} when the Worker refuses (an origin not allowed, a bad setting) or cannot be reached
 */
export async function openChat(options: OpenChatOptions): Promise<Chat> {
  const { endpoint, id, system, model, thinking, assistant } = options;
  const doFetch = fetcher(options.fetch);
  if (id !== undefined && CHAT_ID.test(id)) {
    const response = await call(doFetch, apiUrl(endpoint, `/api/chats/${id}`), { cache: 'no-store' });
    if (response.ok) return new Chat((await response.json()) as ChatSnapshot, options);
    if (response.status !== 404) throw await toError(response);
    await response.body?.cancel();
  }
  const settings: NewChatBody = { system, model, thinking, assistant };
  const hasSettings = Object.values(settings).some((value) => value !== undefined);
  // Without settings the POST has no body, which keeps it a simple request (no preflight).
  // Creating a chat is what Turnstile guards; its own routes then need nothing (docs/turnstile.md).
  const response = await call(
    challengedFetch(doFetch, endpoint, options.turnstile),
    apiUrl(endpoint, '/api/chats'),
    hasSettings ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings) } : { method: 'POST' },
  );
  if (response.status !== 201) throw await toError(response);
  return new Chat((await response.json()) as ChatSnapshot, options);
}

/**
 * A stored chat. Get one with {@link openChat}. `send` and `resume` return
 * the same kind of async iterable as `streamChat`: `thought` and `text`
 * events, then one `done` or `error`; a connection that drops mid-answer reconnects by itself
 * and continues where it broke off, every character exactly once.
 */
export class Chat {
  /** The chat's id: 64 hex characters, and the capability to read and write it. */
  readonly id: string;
  /** The model the chat uses, fixed at its creation. */
  readonly model: string;
  readonly system: string | undefined;
  /** The chat's own thinking, fixed at its creation, when it was created with one. */
  readonly thinking: ThinkingSettings | undefined;
  /**
   * The conversation as stored when the chat was opened (or last `refresh()`ed).
   * When its last message has status `streaming`, a turn is in flight: `resume()` follows it.
   */
  messages: ChatMessage[];
  private readonly endpoint: string;
  private readonly fetch: FetchLike;
  private readonly customFetch: FetchLike | undefined;
  private readonly stallTimeoutMs: number;
  private readonly reconnect: ReconnectOptions | undefined;
  /**
   * The deployment's file limits (`files` of `GET /api/assistant`): a file they refuse is refused
   * before it is uploaded. Set at `openChat`, or later, once the app has them.
   */
  fileLimits: FileLimits | undefined;
  /** Files uploaded and not yet sent with a message: sending the same `File` again (a retry) does not upload it twice. */
  private readonly uploads = new WeakMap<Blob, FileInfo>();
  /** The last event id this chat has seen settled or streamed: where a resume picks up. */
  private cursor: number;
  private readonly tools = new Map<string, ToolHandler>();
  private readonly toolHandler: ((name: string) => ToolHandler | undefined) | undefined;
  /** Page-side calls this page has run: each runs once, however often a replay repeats it. */
  private readonly settledCalls = new Set<string>();

  /** @internal Use {@link openChat}. */
  constructor(snapshot: ChatSnapshot, options: OpenChatOptions) {
    this.id = snapshot.id;
    this.model = snapshot.model;
    this.system = snapshot.system;
    this.thinking = snapshot.thinking;
    this.messages = snapshot.messages;
    this.cursor = snapshot.settledEventId;
    this.endpoint = options.endpoint;
    this.fetch = fetcher(options.fetch);
    this.customFetch = options.fetch;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 45_000;
    this.reconnect = options.reconnect;
    this.fileLimits = options.fileLimits;
    this.toolHandler = options.toolHandler;
  }

  /**
   * Registers the handler of one of the assistant's page-side tools (`runs: page`,
   * docs/assistants.md). When the model calls it in a turn this chat follows (`send`, `resume`),
   * the chat runs `handler(args)` and sends the Worker what it returns, or the message of what it
   * throws as the call's error; a call with no handler is answered with an error, so the turn never
   * waits in vain. A call runs once, even when a resume replays it. `null` removes the handler.
   * @example
   * chat.registerTool('show_section', async ({ section }) => {
   *   document.getElementById(String(section))?.scrollIntoView();
   *   return { shown: section };
   * });
   */
  registerTool(name: string, handler: ToolHandler | null): void {
    if (handler) this.tools.set(name, handler);
    else this.tools.delete(name);
  }

  /**
   * Sends a message and streams the answer. The message is posted once, never
   * re-sent: after a drop the stream resumes with `GET /api/chats/:id/stream`.
   * A message while a turn is in flight ends at once with a `turn_in_progress` error.
   *
   * With files (`{ text, files }`) each file is uploaded first, in order
   * (`onProgress` follows them), then the message is posted with their ids. A
   * refused file ends the stream with an `error` event carrying the Worker's
   * code (`too_large`, `unsupported_media_type`, `too_many_files`,
   * `upload_budget_exhausted`, …) and `status`; with `fileLimits` a file the
   * Worker would refuse ends it before any upload, without `status`.
   *
   * @example
   * for await (const event of chat.send('Why is the sky blue?', { thinking: { level: 'high', show: true } })) {
   *   if (event.type === 'thought') thoughts.textContent += event.text;
   *   else if (event.type === 'text') answer.textContent += event.text;
   * }
   * @example
   * const events = chat.send({ text: 'What is in this picture?', files: input.files ? [...input.files] : [] }, {
   *   onProgress: ({ overallLoaded, overallTotal }) => (bar.value = overallLoaded / overallTotal),
   * });
   */
  send(message: string | MessageInput, options: SendOptions = {}): AsyncIterable<StreamEvent> {
    const { text = '', files = [] } = typeof message === 'string' ? { text: message } : message;
    return files.length ? this.sendFiles(text, files, options) : this.post({ message: text }, options);
  }

  /**
   * Uploads one file to the chat (`POST /api/chats/:id/files`), to send with a
   * message later (`send({ files: [info] })`); unsent, the Worker removes it after a day.
   * @throws {GeminiEdgeError} with the Worker's code (`too_large`, `unsupported_media_type`, `too_many_files`,
   *   `upload_budget_exhausted`, …) and `status`; without `status` when `fileLimits` refused it before uploading
   */
  async upload(file: Blob, options: UploadOptions = {}): Promise<FileInfo> {
    const refusal = this.fileLimits && fileRefusal(file, this.fileLimits);
    if (refusal) throw new GeminiEdgeError(refusal, refusalText(refusal, file, this.fileLimits!));
    let response: Response;
    try {
      response = await postFile(apiUrl(this.endpoint, `/api/chats/${this.id}/files`), file, this.customFetch, options);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new GeminiEdgeError('network_error', `Could not upload the file: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (response.status !== 201) throw await toError(response);
    const info = (await response.json()) as FileInfo;
    this.uploads.set(file, info);
    return info;
  }

  /** A file's address (`FileInfo.url` is relative to the Worker): for an `<img src>` or a link. */
  fileUrl(file: FileInfo): string {
    return apiUrl(this.endpoint, file.url);
  }

  private async *sendFiles(text: string, files: readonly MessageFile[], options: SendOptions): AsyncGenerator<StreamEvent, void, undefined> {
    const { signal, onProgress } = options;
    const limits = this.fileLimits;
    if (limits && files.length > limits.maxPerMessage) {
      yield { type: 'error', code: 'too_many_files', message: `a message may carry at most ${limits.maxPerMessage} files` };
      return;
    }
    const loaded = files.map(() => 0);
    const overallTotal = files.reduce((sum, file) => sum + file.size, 0);
    const report = (index: number, bytes: number, file?: FileInfo) => {
      loaded[index] = bytes;
      onProgress?.({ index, loaded: bytes, total: files[index].size, overallLoaded: loaded.reduce((a, b) => a + b, 0), overallTotal, ...(file && { file }) });
    };
    const ids: string[] = [];
    for (const [index, file] of files.entries()) {
      let info = isBlob(file) ? this.uploads.get(file) : file;
      if (!info) {
        try {
          info = await this.upload(file as Blob, { signal, onProgress: onProgress && ((bytes) => report(index, bytes)) });
        } catch (error) {
          if (signal?.aborted) return;
          const { code, message, status } = error as GeminiEdgeError;
          yield { type: 'error', code, message, ...(status === undefined ? {} : { status }) };
          return;
        }
      }
      report(index, file.size, info);
      ids.push(info.id);
    }
    let first = true;
    for await (const event of this.post({ message: text, files: ids }, options)) {
      // Refused before streaming (a 4xx), the files were not attached: a retry sends the same uploads.
      if (first && !(event.type === 'error' && event.status !== undefined)) for (const file of files) if (isBlob(file)) this.uploads.delete(file);
      first = false;
      yield event;
    }
  }

  private post(body: { message: string; files?: string[] }, { signal, thinking, onToolEvent }: SendOptions): AsyncIterable<StreamEvent> {
    const url = apiUrl(this.endpoint, `/api/chats/${this.id}/messages`);
    const json = JSON.stringify(thinking === undefined ? body : { ...body, thinking });
    return this.follow({
      open: (attempt) => this.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json, signal: attempt }),
      signal,
      onToolEvent,
    });
  }

  /**
   * Re-attaches to the turn in flight — after a page reload, or after an
   * aborted `send` — from its start, then live. Ends at once, with no event,
   * when there is none.
   */
  resume({ signal, onToolEvent }: TurnOptions = {}): AsyncIterable<StreamEvent> {
    return this.follow({ open: (attempt) => this.streamFrom(this.cursor, attempt), retryOpen: true, emptyIsEnd: true, signal, onToolEvent });
  }

  /** Stops the turn in flight (the Worker aborts Gemini). Resolves to false when there was none. */
  async cancel(): Promise<boolean> {
    const response = await call(this.fetch, apiUrl(this.endpoint, `/api/chats/${this.id}/cancel`), { method: 'POST' });
    if (!response.ok) throw await toError(response);
    return ((await response.json()) as { cancelled: boolean }).cancelled;
  }

  /** Deletes the chat and everything stored with it. */
  async delete(): Promise<void> {
    const response = await call(this.fetch, apiUrl(this.endpoint, `/api/chats/${this.id}`), { method: 'DELETE' });
    if (!response.ok && response.status !== 404) throw await toError(response);
    await response.body?.cancel();
  }

  /**
   * Rates an answer: thumbs `'up'` or `'down'`, or `null` to take the rating back. Stored with
   * the message (`rating` in `messages`); the owner's dashboard lists the latest rated answers.
   * `messageId` is a model message's `id`, or the `messageId` of a `done` event `send` yielded.
   * @throws {GeminiEdgeError} `not_found` for a message this chat does not have, `invalid_request` for one that is not a finished answer
   * @example
   * for await (const event of chat.send('Hi')) if (event.type === 'done') answerId = event.messageId;
   * await chat.feedback(answerId, 'up');
   */
  async feedback(messageId: number, rating: Rating | null): Promise<void> {
    const url = apiUrl(this.endpoint, `/api/chats/${this.id}/messages/${messageId}/feedback`);
    const response = await call(this.fetch, url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rating }) });
    if (!response.ok) throw await toError(response);
    await response.body?.cancel();
    const message = this.messages.find((m) => m.id === messageId);
    if (message) {
      if (rating) message.rating = rating;
      else delete message.rating;
    }
  }

  /** Reloads `messages` from the Worker. */
  async refresh(): Promise<ChatMessage[]> {
    const response = await call(this.fetch, apiUrl(this.endpoint, `/api/chats/${this.id}`), { cache: 'no-store' });
    if (!response.ok) throw await toError(response);
    const snapshot = (await response.json()) as ChatSnapshot;
    this.messages = snapshot.messages;
    this.cursor = Math.max(this.cursor, snapshot.settledEventId);
    return this.messages;
  }

  private async *follow(request: {
    open: (signal: AbortSignal) => Promise<Response>;
    retryOpen?: boolean;
    emptyIsEnd?: boolean;
    signal?: AbortSignal;
    onToolEvent?: (event: ToolStreamEvent) => void;
  }): AsyncGenerator<StreamEvent, void, undefined> {
    const start = this.cursor;
    // The Worker names the answer's message in a header of the turn's stream: its `done` carries it.
    let messageId: number | undefined;
    const noted = (response: Response) => {
      const header = Number(response.headers.get(MESSAGE_ID_HEADER) ?? Number.NaN);
      if (Number.isSafeInteger(header) && header > 0) messageId = header;
      return response;
    };
    for await (const event of reconnectingEvents({
      ...request,
      open: (attempt) => request.open(attempt).then(noted),
      reopen: (lastEventId, attempt) => this.streamFrom(lastEventId ?? start, attempt).then(noted),
      stallTimeoutMs: this.stallTimeoutMs,
      reconnect: this.reconnect,
      onToolEvent: (event) => {
        if (event.id !== undefined) this.cursor = Math.max(this.cursor, event.id);
        this.track(event);
        request.onToolEvent?.(event);
      },
    })) {
      if (event.id !== undefined) this.cursor = Math.max(this.cursor, event.id);
      yield event.type === 'done' && messageId !== undefined ? { ...event, messageId } : event;
    }
  }

  /**
   * Runs a page-side call, once. A call is the page's to run only while it is open: a replay sends
   * one answered already without `runsOn` (the Worker's Turn.replayed), so only a call replayed
   * before its result came can arrive twice, and `settledCalls` keeps it to one run.
   */
  private track(event: ToolStreamEvent): void {
    const id = event.toolCallId;
    if (event.type === 'tool-result' || event.runsOn !== 'page' || this.settledCalls.has(id)) return;
    this.settledCalls.add(id);
    void this.runTool(event);
  }

  /**
   * Runs the page's handler for a call and posts its outcome. A result over the Worker's
   * TOOLS_MAX_RESPONSE_BYTES (413) becomes an error the model reads; a 409 (answered already,
   * or past TOOLS_PAGE_TIMEOUT_MS) and a failed post are left to the Worker, whose wait ends the call.
   */
  private async runTool({ toolCallId, name, args }: { toolCallId: string; name: string; args: Record<string, unknown> }): Promise<void> {
    let outcome: string;
    try {
      const handler = this.tools.get(name) ?? this.toolHandler?.(name);
      if (!handler) throw new Error(`the page has no handler for "${name}"`);
      // Serialised here, so a result that is not JSON (a cycle, a BigInt) is the handler's error.
      outcome = JSON.stringify({ results: [{ toolCallId, result: (await handler(args)) ?? null }] });
    } catch (error) {
      outcome = toolError(toolCallId, error);
    }
    const url = apiUrl(this.endpoint, `/api/chats/${this.id}/tool-results`);
    const post = (body: string) => this.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    try {
      let response = await post(outcome);
      if (response.status === 413) response = await post(toolError(toolCallId, new Error((await responseError(response)).message)));
      await response.body?.cancel();
    } catch {
      // The Worker could not be reached: its wait ends the call, and the model is told the page did not answer.
    }
  }

  /** `?lastEventId=` rather than the header keeps this GET a simple request: no preflight. */
  private streamFrom(lastEventId: number, signal: AbortSignal): Promise<Response> {
    const url = apiUrl(this.endpoint, `/api/chats/${this.id}/stream?lastEventId=${lastEventId}`);
    return this.fetch(url, { cache: 'no-store', signal });
  }
}

/** fetch, with a failure to connect as a {@link GeminiEdgeError}. */
async function call(doFetch: FetchLike, url: string, init: RequestInit): Promise<Response> {
  try {
    return await doFetch(url, init);
  } catch (error) {
    throw new GeminiEdgeError('network_error', `Could not reach the Worker: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function toError(response: Response): Promise<GeminiEdgeError> {
  const { code, message, status } = await responseError(response);
  return new GeminiEdgeError(code as ErrorCode, message, status);
}

/** A page-side call's failure, as `POST /api/chats/:id/tool-results` takes it. */
function toolError(toolCallId: string, error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)) || 'the tool failed';
  return JSON.stringify({ results: [{ toolCallId, error: message.slice(0, MAX_TOOL_ERROR_CHARS) }] });
}

/** Why `fileLimits` refuse a file, in the Worker's words for the same refusal. */
function refusalText(code: string, file: Blob, limits: FileLimits): string {
  return `${(file as File).name ?? 'file'}: ${code === 'too_large' ? `a file must be at most ${limits.maxBytes} bytes` : code === 'invalid_request' ? 'the file is empty' : `${file.type} is not accepted`}`;
}
