/**
 * The shapes of chat requests and stored chats, shared by the Worker, the
 * chat Durable Object and the browser client.
 */
import type { ErrorCode, Source, Usage } from './events.js';
import type { ToolStep } from './parts.js';

/** Who wrote a message: Gemini's own names. */
export type Role = 'user' | 'model';

/** One earlier turn sent with a stateless request. */
export interface HistoryEntry {
  role: Role;
  text: string;
}

/** The generation settings a request may set (each capped by the Worker's settings). */
export interface GenerationSettings {
  temperature?: number;
  topP?: number;
  topK?: number;
  maxOutputTokens?: number;
}

/** How much a model thinks before it answers, in the words of `thinking.level`. */
export type ThinkingEffort = 'minimal' | 'low' | 'medium' | 'high';

/**
 * How the model thinks: a `level`, or a `budget` of thinking tokens (`0`:
 * none, where the model allows it), not both — neither: the deployment's
 * default (THINKING_LEVEL), else the model's; the model catalogue maps it onto
 * what the model takes (docs/models.md). `show`: stream a summary of the
 * thinking as `thought` events (default: the deployment's SHOW_THOUGHTS).
 */
export interface ThinkingSettings {
  level?: ThinkingEffort;
  budget?: number;
  show?: boolean;
}

/** A file a stateless request carries inline (within MAX_INLINE_BYTES for all its files). */
export interface InlineFileBody {
  /** The bytes: base64, or a base64 data URL (`data:image/png;base64,…`). */
  data: string;
  /** The media type the client believes it is (checked against the bytes, which decide). */
  type?: string;
  name?: string;
}

/** The body of `POST /api/chat` and `POST /api/chat/stream`. */
export interface ChatRequestBody {
  /** The text; may be empty when `files` are sent. */
  message: string;
  /** Files sent with the message, before its text. */
  files?: InlineFileBody[];
  /** The site assistant to answer (the one serving the page's origin when absent). */
  assistant?: string;
  model?: string;
  system?: string;
  history?: HistoryEntry[];
  generationConfig?: GenerationSettings;
  thinking?: ThinkingSettings;
}

/** The body of `POST /api/chats`: settings fixed for the chat's life. */
export interface NewChatBody {
  system?: string;
  model?: string;
  /** The chat's thinking, for every turn that does not set its own. */
  thinking?: ThinkingSettings;
  /** The site assistant to answer (the one serving the page's origin when absent). */
  assistant?: string;
}

/**
 * What files a message may carry: the `files` of `GET /api/assistant`
 * (absent there: the deployment takes no files), so a page refuses a file
 * before uploading it.
 */
export interface FileLimits {
  /** Largest file, in bytes (MAX_FILE_BYTES). */
  maxBytes: number;
  /** Files per message (MAX_FILES_PER_MESSAGE). */
  maxPerMessage: number;
  /** The accepted media types (the Worker decides a file's type from its bytes). */
  types: readonly string[];
}

/** A file of a stored chat, as its routes show it. */
export interface FileInfo {
  /** Its id in the chat: send it with a message (`files: [id]`). */
  id: string;
  name: string;
  /** Its media type, decided from its bytes (one of the accepted types, docs/files.md). */
  type: string;
  size: number;
  /** Where to fetch it: `/api/chats/:id/files/:fileId`, relative to the Worker. */
  url: string;
}

/** `streaming` is the turn in flight; `cancelled` and `failed` keep the text written before the end. */
export type MessageStatus = 'complete' | 'streaming' | 'cancelled' | 'failed';

/** A stored chat message, as `GET /api/chats/:id` shows it. */
export interface ChatMessage {
  id: number;
  role: Role;
  text: string;
  /** A model message: the summary of its thinking, when thoughts were shown (never part of `text`). */
  thoughts?: string;
  /** A user message: the files sent with it, in order. */
  files?: FileInfo[];
  /** A model message: the tools it called before answering, each with its result or error, in order. */
  tools?: ToolStep[];
  status: MessageStatus;
  finishReason?: string;
  usage?: Usage;
  /** The pages a grounded answer came from. */
  sources?: Source[];
  /** A model message: the model that answered, when Gemini reported it (as `done.model`). */
  model?: string;
  error?: { code: ErrorCode; message: string };
  /** A model message: the reader's rating of it, when they gave one (`feedback`). */
  rating?: Rating;
  createdAt: string;
}

/** A reader's rating of an answer: thumbs up or down. */
export type Rating = 'up' | 'down';

/** The response header of a stored chat's turn stream (posted or resumed) that names the answer's message id. */
export const MESSAGE_ID_HEADER = 'x-message-id';

/** What `GET /api/chats/:id` returns. */
export interface ChatSnapshot {
  id: string;
  model: string;
  /** The assistant that answers in this chat (`default`: no site assistant). */
  assistant: string;
  /** The caller's own instructions, when the assistant took one. */
  system?: string;
  /** The chat's thinking, when it was created with one. */
  thinking?: ThinkingSettings;
  messages: ChatMessage[];
  /**
   * The id of the last frame of the latest settled turn (0 before the first).
   * Resuming after it (`GET /api/chats/:id/stream?lastEventId=…`) follows the
   * turn in flight from its start, or answers 204 when there is none.
   */
  settledEventId: number;
}
