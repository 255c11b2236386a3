/**
 * The browser client for gemini-edge: streams answers from the Worker, and
 * follows stored chats through dropped connections. No framework, no Node
 * APIs; the only thing it shares with the Worker is `src/protocol`.
 */
export { streamChat, type StreamChatOptions } from './stream-chat.js';
export { openChat, Chat, type MessageInput, type OpenChatOptions, type SendOptions, type TurnOptions } from './open-chat.js';
export { fileRefusal, type FileLimits, type MessageFile, type UploadOptions, type UploadProgress } from './files.js';
export { GeminiEdgeError } from './client-error.js';
export type { TurnstileOption } from './turnstile.js';
export type { AnswerRef, ClientOptions, FetchLike, ReconnectOptions, StreamErrorEvent, StreamEvent, ToolHandler, ToolStreamEvent } from './types.js';
export type { DoneEvent, ErrorCode, TextEvent, ThoughtEvent, Usage } from '../protocol/events.js';
export type { ChatMessage, ChatSnapshot, FileInfo, GenerationSettings, HistoryEntry, MessageStatus, Rating, Role, ThinkingEffort, ThinkingSettings } from '../protocol/messages.js';
