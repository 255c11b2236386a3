import type { Config } from '../config';
import type { Assistant } from '../assistants/assistant';
import type { ThinkingSettings } from '../protocol/messages';
import type { PageToolResult } from '../chat/turn';
import { checkText, fileName, invalid, object, parseNewChatRequest, parseThinking, type NamedFileBody, type NewChatRequest } from './chat-request';
import { checkResult, MAX_RESULTS } from './tool-results-request';

/** A validated body of `POST /api/ai-sdk/chat`: what `useChat`'s `DefaultChatTransport` sends. */
export interface UiChatRequest {
  /** The chat's id, made by the client: it names the chat's Durable Object. */
  id: string;
  /** The new user message (with `regenerate`, the stored one is asked again instead); empty when it is files alone. */
  message: string;
  /** The message's file parts (data URLs), by shape only: the route decodes and stores them. */
  files?: NamedFileBody[];
  regenerate: boolean;
  /**
   * This turn's thinking (the transport's `body`), by shape only: the model's
   * rules are checked where the model is known (the chat's, or `settings.model`).
   */
  thinking?: ThinkingSettings;
  /** Settings for a chat this message creates (`model`, `system` from the transport's `body`; its `thinking` is added on creation). */
  settings: NewChatRequest;
}

/**
 * A follow-up of `POST /api/ai-sdk/chat` that continues a turn rather than starting one: `useChat`
 * sends it once the page has run the answer's page-side tool calls (`addToolOutput`, then
 * `sendAutomaticallyWhen`); its last message is the assistant's, carrying their outputs.
 */
export interface UiToolOutputs {
  id: string;
  /** The outputs of the last step's page-side calls, as the chat's object takes them. */
  results: PageToolResult[];
}

/**
 * A chat id the client made: 16 to 128 letters, digits, `_` or `-`. `useChat`'s
 * own ids are 16 random alphanumerics; the floor keeps ids unguessable, since
 * the id is the only key to the chat.
 */
export const UI_CHAT_ID = /^[A-Za-z0-9_-]{16,128}$/;

const FIELDS = new Set(['id', 'messages', 'trigger', 'messageId', 'model', 'system', 'thinking', 'assistant']);
const TRIGGERS = new Set(['submit-message', 'regenerate-message']);
/** Parts a user message may carry besides text, which carry no content for the model. */
const IGNORED_PARTS = new Set(['step-start']);
/** The fields of a file part; `providerMetadata` is the SDK's own, and means nothing here. */
const FILE_PART_FIELDS = new Set(['type', 'mediaType', 'filename', 'url', 'providerMetadata']);

/**
 * Checks a UI chat request. Only the last message is read (history comes from
 * the chat's storage, not from the client); it must be the user's, of text and file parts.
 * @throws {ApiError} 400 for a wrong shape or value, 413 for text over `MAX_MESSAGE_CHARS`
 */
export function parseUiChatRequest(body: unknown, config: Config, assistant: Assistant): UiChatRequest {
  const input = object(body, 'request body');
  for (const key of Object.keys(input)) {
    if (!FIELDS.has(key)) throw invalid(`unknown field "${key}"; allowed: ${[...FIELDS].join(', ')}`);
  }
  if (typeof input.id !== 'string' || !UI_CHAT_ID.test(input.id)) {
    throw invalid('id must be the chat id: 16 to 128 letters, digits, "_" or "-"');
  }
  const trigger = input.trigger ?? 'submit-message';
  if (typeof trigger !== 'string' || !TRIGGERS.has(trigger)) {
    throw invalid(`trigger must be one of ${[...TRIGGERS].join(', ')}`);
  }
  if (input.messageId !== undefined && typeof input.messageId !== 'string') throw invalid('messageId must be a string');
  if (!Array.isArray(input.messages)) throw invalid('messages must be an array of UI messages');
  const regenerate = trigger === 'regenerate-message';
  const last = regenerate ? { text: '', files: [] } : lastUserMessage(input.messages, config);
  const request: UiChatRequest = {
    id: input.id,
    message: last.text,
    regenerate,
    settings: parseNewChatRequest({ model: input.model, system: input.system }, config, assistant),
  };
  if (last.files.length > 0) request.files = last.files;
  if (input.thinking !== undefined) request.thinking = parseThinking(input.thinking);
  return request;
}

/**
 * Reads a UI chat request whose last message is the assistant's: the page's tool outputs for
 * that message's last step (its tool parts after the last `step-start` that useChat ran: not
 * `providerExecuted`, in state `output-available` or `output-error`). Undefined for any other
 * request (the last message is the user's, or it is a regeneration): {@link parseUiChatRequest} reads those.
 * @throws {ApiError} 400 for a wrong shape or no output to send, 413 for an output over TOOLS_MAX_RESPONSE_BYTES
 */
export function parseUiToolOutputs(body: unknown, config: Config): UiToolOutputs | undefined {
  const input = object(body, 'request body');
  const messages = Array.isArray(input.messages) ? input.messages : [];
  const last = messages.at(-1) as { role?: unknown } | undefined;
  if (input.trigger === 'regenerate-message' || last?.role !== 'assistant') return undefined;
  for (const key of Object.keys(input)) {
    if (!FIELDS.has(key)) throw invalid(`unknown field "${key}"; allowed: ${[...FIELDS].join(', ')}`);
  }
  if (typeof input.id !== 'string' || !UI_CHAT_ID.test(input.id)) {
    throw invalid('id must be the chat id: 16 to 128 letters, digits, "_" or "-"');
  }
  const name = `messages[${messages.length - 1}]`;
  const message = object(last, name);
  if (!Array.isArray(message.parts)) throw invalid(`${name}.parts must be an array of message parts`);
  const parts = message.parts as unknown[];
  const stepStart = parts.findLastIndex((part) => (part as { type?: unknown } | null)?.type === 'step-start');
  const results: PageToolResult[] = [];
  parts.forEach((item, i) => {
    if (i <= stepStart) return;
    const partName = `${name}.parts[${i}]`;
    const part = object(item, partName);
    const isTool = part.type === 'dynamic-tool' || (typeof part.type === 'string' && part.type.startsWith('tool-'));
    if (!isTool || part.providerExecuted === true) return;
    if (part.state === 'output-available') results.push(uiOutput({ toolCallId: part.toolCallId, result: part.output }, partName, config));
    else if (part.state === 'output-error') {
      if (typeof part.errorText !== 'string') throw invalid(`${partName}.errorText must be a string: why the tool failed`);
      results.push(uiOutput({ toolCallId: part.toolCallId, error: part.errorText }, partName, config));
    }
  });
  if (results.length === 0) {
    throw invalid(`${name}.role must be "user" (the message to answer), or the message must be the assistant's carrying the outputs of its pending tool calls (tool parts in state "output-available" or "output-error")`);
  }
  if (results.length > MAX_RESULTS) throw invalid(`${name} carries ${results.length} tool outputs; at most ${MAX_RESULTS}`);
  return { id: input.id, results };
}

/** One tool part's output, checked as `POST /api/chats/:id/tool-results` checks a result; errors name the part's own fields. */
function uiOutput(item: Record<string, unknown>, name: string, config: Config): PageToolResult {
  return checkResult(item, name, config.tools.maxResponseBytes, UI_OUTPUT_FIELDS);
}

/** What a useChat tool part calls a result and an error. */
const UI_OUTPUT_FIELDS = { result: 'output', error: 'errorText' } as const;

/** The last message: the user's, of text and file parts (files before or after the text, as the client put them). */
function lastUserMessage(messages: unknown[], config: Config): { text: string; files: NamedFileBody[] } {
  const index = messages.length - 1;
  if (index < 0) throw invalid('messages must not be empty: the last one is the new user message');
  const name = `messages[${index}]`;
  const message = object(messages[index], name);
  if (message.role !== 'user') throw invalid(`${name}.role must be "user": the last message is the one to answer`);
  if (!Array.isArray(message.parts)) throw invalid(`${name}.parts must be an array of message parts`);
  const texts: string[] = [];
  const files: NamedFileBody[] = [];
  message.parts.forEach((item, i) => {
    const partName = `${name}.parts[${i}]`;
    const part = object(item, partName);
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw invalid(`${partName}.text must be a string`);
      texts.push(part.text);
    } else if (part.type === 'file') {
      files.push(filePart(part, partName, config));
    } else if (typeof part.type !== 'string' || !IGNORED_PARTS.has(part.type)) {
      throw invalid(`${partName}.type must be "text" or "file": ${JSON.stringify(part.type)} parts are not supported`);
    }
  });
  if (files.length > config.maxFilesPerMessage) {
    // (With files off, the first file part was refused already.)
    throw invalid(`${name} must have at most ${config.maxFilesPerMessage} file parts`);
  }
  // A message of files alone has no text to check.
  const text = files.length > 0 && texts.join('') === '' ? '' : checkText(texts.length ? texts.join('\n') : undefined, `${name} text`, config.maxMessageChars);
  return { text, files };
}

/**
 * A `file` part as `useChat`'s `sendMessage({ files })` makes it: `{ type: 'file',
 * mediaType, filename?, url }`, the bytes in a base64 data URL. A link (an
 * `https:` URL) is refused rather than fetched: useChat always sends a
 * file's bytes, so a link can only come from an app that built the part itself.
 */
function filePart(part: Record<string, unknown>, name: string, config: Config): NamedFileBody {
  for (const key of Object.keys(part)) {
    if (!FILE_PART_FIELDS.has(key)) throw invalid(`unknown field "${name}.${key}"; allowed: ${[...FILE_PART_FIELDS].join(', ')}`);
  }
  if (config.maxFilesPerMessage === 0) throw invalid('file parts: this deployment takes no files (MAX_FILES_PER_MESSAGE is 0)');
  if (typeof part.url !== 'string') throw invalid(`${name}.url must be a string: a base64 data URL`);
  if (!part.url.startsWith('data:')) {
    throw invalid(`${name}.url must be a base64 data URL (data:<type>;base64,<data>), as useChat sends a file; links are not fetched`);
  }
  if (typeof part.mediaType !== 'string') throw invalid(`${name}.mediaType must be a string`);
  const file: NamedFileBody = { data: part.url, type: part.mediaType, field: name };
  if (part.filename !== undefined) file.name = fileName(part.filename, `${name}.filename`);
  return file;
}

/** Whether a UI chat body's last message has a file part. */
export function uiBodyHasFiles(body: unknown): boolean {
  const messages = (body as { messages?: unknown } | null)?.messages;
  const parts = Array.isArray(messages) ? (messages.at(-1) as { parts?: unknown } | null)?.parts : undefined;
  return Array.isArray(parts) && parts.some((part) => (part as { type?: unknown } | null)?.type === 'file');
}
