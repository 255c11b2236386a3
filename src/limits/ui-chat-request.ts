import type { Config } from '../config';
import type { Assistant } from '../assistants/assistant';
import type { ThinkingSettings } from '../protocol/messages';
import { checkText, invalid, object, parseNewChatRequest, parseThinking, type NewChatRequest } from './chat-request';

/** A validated body of `POST /api/ai-sdk/chat`: what `useChat`'s `DefaultChatTransport` sends. */
export interface UiChatRequest {
  /** The chat's id, made by the client: it names the chat's Durable Object. */
  id: string;
  /** The new user message (with `regenerate`, the stored one is asked again instead). */
  message: string;
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
 * A chat id the client made: 16 to 128 letters, digits, `_` or `-`. `useChat`'s
 * own ids are 16 random alphanumerics; the floor keeps ids unguessable, since
 * the id is the only key to the chat.
 */
export const UI_CHAT_ID = /^[A-Za-z0-9_-]{16,128}$/;

const FIELDS = new Set(['id', 'messages', 'trigger', 'messageId', 'model', 'system', 'thinking', 'assistant']);
const TRIGGERS = new Set(['submit-message', 'regenerate-message']);
/** Parts a user message may carry besides text, which carry no content for the model. */
const IGNORED_PARTS = new Set(['step-start']);

/**
 * Checks a UI chat request. Only the last message is read (history comes from
 * the chat's storage, not from the client); it must be the user's, of text parts.
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
  const request: UiChatRequest = {
    id: input.id,
    message: regenerate ? '' : lastUserText(input.messages, config),
    regenerate,
    settings: parseNewChatRequest({ model: input.model, system: input.system }, config, assistant),
  };
  if (input.thinking !== undefined) request.thinking = parseThinking(input.thinking);
  return request;
}

function lastUserText(messages: unknown[], config: Config): string {
  const index = messages.length - 1;
  if (index < 0) throw invalid('messages must not be empty: the last one is the new user message');
  const name = `messages[${index}]`;
  const message = object(messages[index], name);
  if (message.role !== 'user') throw invalid(`${name}.role must be "user": the last message is the one to answer`);
  if (!Array.isArray(message.parts)) throw invalid(`${name}.parts must be an array of message parts`);
  const texts: string[] = [];
  message.parts.forEach((item, i) => {
    const part = object(item, `${name}.parts[${i}]`);
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw invalid(`${name}.parts[${i}].text must be a string`);
      texts.push(part.text);
    } else if (typeof part.type !== 'string' || !IGNORED_PARTS.has(part.type)) {
      throw invalid(`${name}.parts[${i}].type must be "text": only text messages are supported, not ${JSON.stringify(part.type)}`);
    }
  });
  return checkText(texts.length ? texts.join('\n') : undefined, `${name} text`, config.maxMessageChars);
}
