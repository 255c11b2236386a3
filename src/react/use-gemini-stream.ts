import { useCallback, useEffect, useRef, useState } from 'react';
import { apiUrl } from '../client/http.js';
import { GeminiEdgeError, openChat, streamChat, type Chat, type FetchLike, type FileLimits, type MessageInput, type StreamErrorEvent, type StreamEvent, type ToolHandler, type TurnstileOption, type UploadProgress } from '../client/index.js';
import type { Usage } from '../protocol/events.js';
import type { ChatRequestBody, FileInfo, Rating, ThinkingSettings } from '../protocol/messages.js';

export interface UseGeminiStreamOptions {
  /** The Worker's base URL ('' on pages the Worker serves itself). */
  endpoint: string;
  /**
   * A stored chat to talk in: its history stays on the Worker and a dropped
   * connection resumes by itself. When that chat no longer exists a new one
   * is made: read its id from `chatId` in the result. Without it, each
   * message is a stateless request.
   */
  chatId?: string;
  /** Replaces the global `fetch`. */
  fetch?: FetchLike;
  /**
   * How the model thinks, for every message that does not set its own:
   * `{ show: true }` fills `thoughts` with the model's thought summary,
   * `level` or `budget` sets how much it thinks. Without it, the Worker's
   * default (THINKING_LEVEL, SHOW_THOUGHTS); with `chatId`, the chat's own.
   */
  thinking?: ThinkingSettings;
  /**
   * The deployment's file limits (`files` of `GET /api/assistant`): with them
   * a file the Worker would refuse is refused before any upload.
   */
  fileLimits?: FileLimits;
  /**
   * With Turnstile on the Worker: a token, or a function that gets a fresh one, passed to the
   * client (docs/turnstile.md). Read when it is needed, so an inline function is fine.
   */
  turnstile?: TurnstileOption;
  /**
   * With `chatId`: the handlers of the assistant's page-side tools (`runs: page`), by name, as
   * `chat.registerTool` takes them. Read when the model calls one, so an inline object is fine.
   * @example tools: { show_section: async ({ section }) => ({ shown: section }) }
   */
  tools?: Record<string, ToolHandler>;
}

/**
 * What `streamMessage` may send along. With `chatId` only `thinking` is used
 * (for that message): the chat holds its history and other settings.
 */
export type StreamMessageOptions = Omit<ChatRequestBody, 'message'>;

/** The terminal error of the latest message. */
export type StreamError = Omit<StreamErrorEvent, 'type'>;

export interface UseGeminiStreamResult {
  /**
   * Streams the answer to `message` into `streamedText`. Stops the message before it, if it still runs. Resolves when the answer ends.
   * `{ text, files }` sends files (`File`s or `Blob`s, uploaded first, with `uploadProgress`): only with `chatId`.
   */
  streamMessage: (message: string | MessageInput, options?: StreamMessageOptions) => Promise<void>;
  /** The same as `streamMessage`: `send({ text, files })`. */
  send: (message: string | MessageInput, options?: StreamMessageOptions) => Promise<void>;
  /** While the message's files upload: how far (per file and overall); `null` otherwise. */
  uploadProgress: UploadProgress | null;
  /** The files the latest message carried, as the Worker stored them, each `url` resolved against `endpoint` (for an `<img src>` or a link). */
  files: FileInfo[];
  /** True from the call until the answer's last event (or `stop()`). */
  isStreaming: boolean;
  /** The answer so far; reset by each `streamMessage`. */
  streamedText: string;
  /**
   * The model's thought summary so far, never part of the answer; reset by
   * each `streamMessage`. Empty unless thoughts are shown (`thinking.show`,
   * or the Worker's SHOW_THOUGHTS) and Gemini sends a summary.
   */
  thoughts: string;
  /** True from the first piece of `thoughts` until the first piece of the answer's text (or its end). */
  isThinking: boolean;
  /** Why the latest answer failed, or null. */
  error: StreamError | null;
  /** Gemini's finish reason once the answer is done (STOP, MAX_TOKENS, SAFETY, …). */
  finishReason: string | null;
  /** Token usage once the answer is done. */
  usage: Usage | null;
  /**
   * The model that answered, once the answer is done, when the Worker reports it: Gemini's
   * `modelVersion`, which differs from the model asked for when Gemini reroutes it.
   */
  model: string | null;
  /** With `chatId`, once the answer is done: its message id in the chat, for `feedback`. */
  messageId: number | null;
  /**
   * With `chatId`: rates an answer of the chat (`'up'`, `'down'`; `null` takes it back), stored with
   * it and listed on the owner's dashboard.
   * @example <button onClick={() => feedback(messageId!, 'up')} disabled={messageId === null}>👍</button>
   */
  feedback: (messageId: number, rating: Rating | null) => Promise<void>;
  /** Stops the answer now: the connection closes and Gemini is aborted (with `chatId`, the turn is cancelled). */
  stop: () => void;
  /** The stored chat in use, with `chatId`, once opened. */
  chatId: string | undefined;
}

interface State {
  uploadProgress: UploadProgress | null;
  files: FileInfo[];
  isStreaming: boolean;
  streamedText: string;
  thoughts: string;
  isThinking: boolean;
  error: StreamError | null;
  finishReason: string | null;
  usage: Usage | null;
  model: string | null;
  messageId: number | null;
}

const IDLE: State = { uploadProgress: null, files: [], isStreaming: false, streamedText: '', thoughts: '', isThinking: false, error: null, finishReason: null, usage: null, model: null, messageId: null };

/**
 * Streams Gemini answers from a gemini-edge Worker into React state.
 * Unmounting closes the connection; no state is set after that.
 *
 * @example
 * const { streamMessage, isStreaming, streamedText, thoughts, isThinking, stop } =
 *   useGeminiStream({ endpoint: 'https://chat.example.workers.dev', thinking: { show: true } });
 * <button onClick={() => streamMessage('Tell me a story')} disabled={isStreaming}>Ask</button>
 * <button onClick={stop} disabled={!isStreaming}>Stop</button>
 * <details open={isThinking}><summary>{isThinking ? 'Thinking…' : 'Thoughts'}</summary>{thoughts}</details>
 * <p>{streamedText}</p>
 */
export function useGeminiStream({ endpoint, chatId, fetch, thinking, fileLimits, turnstile, tools }: UseGeminiStreamOptions): UseGeminiStreamResult {
  const [state, setState] = useState<State>(IDLE);
  const [openedChatId, setOpenedChatId] = useState<string | undefined>(undefined);
  /** The answer in progress: aborting it ends its connection and silences its state updates. */
  const current = useRef<AbortController | null>(null);
  const chat = useRef<{ key: string; chat: Promise<Chat> } | null>(null);
  // The latest `thinking`, read when a message is sent: an inline object must not make a new `streamMessage` on every render.
  const defaultThinking = useRef(thinking);
  const limits = useRef(fileLimits);
  const challenge = useRef(turnstile);
  const handlers = useRef(tools);
  useEffect(() => {
    defaultThinking.current = thinking;
    limits.current = fileLimits;
    challenge.current = turnstile;
    handlers.current = tools;
  }, [thinking, fileLimits, turnstile, tools]);
  /** The latest `tools`' handler for `name` (its own keys only: not `toString`). */
  const toolHandler = (name: string): ToolHandler | undefined => {
    const latest = handlers.current;
    return latest && Object.hasOwn(latest, name) ? latest[name] : undefined;
  };
  /** The latest `turnstile`, as the client takes it; undefined when there is none. */
  const proof = (): TurnstileOption | undefined => {
    const latest = challenge.current;
    return typeof latest === 'function' ? () => (typeof challenge.current === 'function' ? challenge.current() : challenge.current ?? '') : latest;
  };

  // Unmount: close the connection. With a stored chat the turn runs on for the
  // Worker's grace period, so a reload can resume it.
  useEffect(
    () => () => {
      current.current?.abort();
      current.current = null;
    },
    [],
  );

  const openedChat = useCallback((): Promise<Chat> => {
    const key = `${endpoint}\n${chatId}`;
    if (chat.current?.key !== key) {
      const opening = openChat({ endpoint, id: chatId, fetch, fileLimits: limits.current, turnstile: proof(), toolHandler });
      // A failed open is retried by the next message.
      opening.catch(() => {
        if (chat.current?.chat === opening) chat.current = null;
      });
      chat.current = { key, chat: opening };
    }
    // The latest `fileLimits`: an app often has them (from GET /api/assistant) only after the chat opened.
    return chat.current.chat.then((opened) => {
      opened.fileLimits = limits.current;
      return opened;
    });
  }, [endpoint, chatId, fetch]);

  const stop = useCallback(() => {
    const controller = current.current;
    if (!controller) return;
    current.current = null;
    controller.abort();
    setState((s) => ({ ...s, isStreaming: false, isThinking: false, uploadProgress: null }));
    if (chatId !== undefined) void openedChat().then((c) => c.cancel()).catch(() => {});
  }, [chatId, openedChat]);

  const streamMessage = useCallback(
    async (input: string | MessageInput, options: StreamMessageOptions = {}) => {
      const { text: message = '', files = [] } = typeof input === 'string' ? { text: input } : input;
      const previous = current.current;
      const controller = new AbortController();
      current.current = controller;
      previous?.abort();
      setState({ ...IDLE, isStreaming: true });
      const update = (patch: Partial<State>) => {
        if (!controller.signal.aborted) setState((s) => ({ ...s, ...patch }));
      };
      const thinking = options.thinking ?? defaultThinking.current;
      let text = '';
      let thoughts = '';
      const sent: FileInfo[] = [];
      const onProgress = (progress: UploadProgress) => {
        if (progress.file) sent[progress.index] = { ...progress.file, url: apiUrl(endpoint, progress.file.url) };
        update({ uploadProgress: progress, files: [...sent] });
      };
      try {
        let events: Iterable<StreamEvent> | AsyncIterable<StreamEvent>;
        if (files.length && chatId === undefined) {
          events = [{ type: 'error', code: 'invalid_request', message: 'files are sent in a stored chat: pass chatId' }];
        } else if (chatId !== undefined) {
          const stored = await openedChat();
          if (controller.signal.aborted) return;
          setOpenedChatId(stored.id);
          // The Worker refuses a message while a turn runs: end the one this replaces first.
          if (previous) await stored.cancel();
          events = stored.send({ text: message, files }, { signal: controller.signal, thinking, onProgress });
        } else {
          events = streamChat({ ...options, thinking, endpoint, fetch, message, signal: controller.signal, turnstile: proof() });
        }
        let uploading = files.length > 0;
        for await (const event of events) {
          if (uploading) {
            uploading = false;
            update({ uploadProgress: null });
          }
          if (event.type === 'thought') {
            thoughts += event.text;
            // Thoughts between pieces of the answer (Gemini may interleave them) do not make it "thinking" again.
            update({ thoughts, isThinking: text === '' });
          } else if (event.type === 'text') {
            text += event.text;
            update({ streamedText: text, isThinking: false });
          } else if (event.type === 'done') {
            update({ finishReason: event.finishReason, usage: event.usage, model: event.model ?? null, messageId: event.messageId ?? null, isThinking: false });
          } else {
            const { code, message, status, retryAfter } = event;
            update({ isThinking: false, error: { code, message, ...(status === undefined ? {} : { status }), ...(retryAfter === undefined ? {} : { retryAfter }) } });
          }
        }
      } catch (error) {
        update({
          error:
            error instanceof GeminiEdgeError
              ? { code: error.code, message: error.message, ...(error.status === undefined ? {} : { status: error.status }) }
              : { code: 'network_error', message: String(error) },
        });
      } finally {
        if (current.current === controller) {
          current.current = null;
          update({ isStreaming: false, isThinking: false, uploadProgress: null });
        }
      }
    },
    [endpoint, chatId, fetch, openedChat],
  );

  const feedback = useCallback(
    async (messageId: number, rating: Rating | null) => {
      if (chatId === undefined) throw new GeminiEdgeError('invalid_request', 'feedback rates an answer of a stored chat: pass chatId');
      await (await openedChat()).feedback(messageId, rating);
    },
    [chatId, openedChat],
  );

  return { ...state, streamMessage, send: streamMessage, stop, feedback, chatId: openedChatId };
}
