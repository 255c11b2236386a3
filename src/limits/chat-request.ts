import type { Config } from '../config';
import { ApiError } from '../errors';
import type { GeminiCall } from '../gemini/gemini-adapter';
import type { Assistant } from '../assistants/assistant';
import { systemInstruction } from '../assistants/prompt';
import { modelsFor } from '../assistants/resolve';
import { mergeThinking, outputCeiling, resolveThinking, thinkingConfig, toGenerationConfig } from '../gemini/generation-config';
import { checkInlineTotal, decodeInlineFile, inlineFileSource, maxInlineBodyBytes, type InlineFile } from '../files/inline-file';
import { resolveFiles } from '../gemini/file-parts';
import type { GenerationSettings, HistoryEntry, InlineFileBody, Role, ThinkingEffort, ThinkingSettings } from '../protocol/messages';
import { readJsonBody } from './read-json-body';

/** A validated body of `POST /api/chat` and `POST /api/chat/stream`. */
export interface ChatRequest {
  /** The text; empty when the message is its files alone. */
  message: string;
  /** Files sent before the text, by shape only: {@link decodeChatFiles} checks their bytes. */
  files?: InlineFileBody[];
  model: string;
  /** Who answers: the system instruction, the models and the thinking start from it. */
  assistant: Assistant;
  /** The caller's own `system` (the assistant's instructions come first). */
  system?: string;
  history: HistoryEntry[];
  generationConfig: GenerationSettings;
  thinking?: ThinkingSettings;
}

const FIELDS = new Set(['message', 'files', 'model', 'system', 'history', 'generationConfig', 'thinking', 'assistant']);
const THINKING_LEVELS: readonly ThinkingEffort[] = ['minimal', 'low', 'medium', 'high'];
const THINKING_FIELDS = ['level', 'budget', 'show'];
const GENERATION_FIELDS = new Set(['temperature', 'topP', 'topK', 'maxOutputTokens']);

export const invalid = (message: string) => new ApiError(400, 'invalid_request', message);

/**
 * Checks a chat request body against the settings. Every message names the
 * field and the rule it broke.
 * @throws {ApiError} 400 for a wrong shape or value, 413 for text over `MAX_MESSAGE_CHARS`
 */
export function parseChatRequest(body: unknown, config: Config, assistant: Assistant): ChatRequest {
  const input = object(body, 'request body');
  for (const key of Object.keys(input)) {
    if (!FIELDS.has(key)) throw invalid(`unknown field "${key}"; allowed: ${[...FIELDS].join(', ')}`);
  }

  const files = input.files === undefined ? [] : inlineFiles(input.files, config.maxFilesPerMessage);
  const bare = files.length > 0 && (input.message === undefined || input.message === '');
  const message = bare ? '' : checkText(input.message, 'message', config.maxMessageChars);
  const chosen = model(input.model, config, assistant);

  const request: ChatRequest = {
    message,
    model: chosen,
    assistant,
    system: callerSystem(input.system, config.maxMessageChars, assistant),
    history: input.history === undefined ? [] : history(input.history, config.maxMessageChars),
    generationConfig:
      input.generationConfig === undefined
        ? {}
        : generation(input.generationConfig, outputCeiling(chosen, config.maxOutputTokens)),
  };
  if (files.length > 0) request.files = files;
  if (input.thinking !== undefined) request.thinking = parseThinking(input.thinking);
  // The model's rules, now: a level it does not offer is our 400, not Gemini's.
  thinkingConfig(chosen, resolveThinking(chosen, mergeThinking(assistant.thinking, request.thinking), config.thinking));
  return request;
}

/**
 * `thinking`: `{ level?, budget?, show? }`, not both `level` and `budget`, by
 * shape only (the model's rules apply in thinkingConfig).
 * @throws {ApiError} 400 naming the field and the rule
 */
export function parseThinking(value: unknown): ThinkingSettings {
  const input = object(value, 'thinking');
  for (const key of Object.keys(input)) {
    if (!THINKING_FIELDS.includes(key)) throw invalid(`unknown field "thinking.${key}"; allowed: ${THINKING_FIELDS.join(', ')}`);
  }
  if (input.level !== undefined && input.budget !== undefined) throw invalid('thinking must have "level" or "budget", not both');
  const thinking: ThinkingSettings = {};
  if (input.level !== undefined) {
    if (!THINKING_LEVELS.includes(input.level as ThinkingEffort)) {
      throw invalid(`thinking.level must be one of ${THINKING_LEVELS.map((l) => `"${l}"`).join(', ')}`);
    }
    thinking.level = input.level as ThinkingEffort;
  }
  if (input.budget !== undefined) {
    if (!Number.isSafeInteger(input.budget) || (input.budget as number) < 0) {
      throw invalid('thinking.budget must be a whole number of tokens, 0 or more');
    }
    thinking.budget = input.budget as number;
  }
  if (input.show !== undefined) {
    if (typeof input.show !== 'boolean') throw invalid('thinking.show must be true or false');
    thinking.show = input.show;
  }
  return thinking;
}

/**
 * The Gemini call for a validated request: history, then the new user message
 * (so it never ends with a model turn, which Gemini 3 refuses). The model's
 * rules shape `generationConfig`: sampling parameters go only to models that
 * honour them, and `thinking` becomes the model's `thinkingConfig`.
 */
export function toGeminiCall(request: ChatRequest, config: Config): GeminiCall {
  return {
    model: request.model,
    system: systemInstruction(request.assistant.systemPrefix, request.system),
    contents: [
      ...request.history.map((entry) => ({ role: entry.role, parts: [{ text: entry.text }] })),
      { role: 'user', parts: [{ text: request.message }] },
    ],
    generationConfig: toGenerationConfig(
      request.model,
      { ...request.generationConfig, thinking: resolveThinking(request.model, mergeThinking(request.assistant.thinking, request.thinking), config.thinking) },
      config.maxOutputTokens,
    ),
  };
}

/**
 * `files`: at most `max` (MAX_FILES_PER_MESSAGE; 0: none) of `{ data, type?, name? }`, by shape only.
 * @throws {ApiError} 400 naming the field
 */
function inlineFiles(value: unknown, max: number): InlineFileBody[] {
  if (max === 0) throw invalid('files: this deployment takes no files (MAX_FILES_PER_MESSAGE is 0)');
  if (!Array.isArray(value)) throw invalid('files must be an array of { data, type?, name? }');
  if (value.length > max) throw invalid(`files must list at most ${max} files`);
  return value.map((item, i): InlineFileBody => {
    const name = `files[${i}]`;
    const file = object(item, name);
    for (const key of Object.keys(file)) {
      if (key !== 'data' && key !== 'type' && key !== 'name') throw invalid(`unknown field "${name}.${key}"; allowed: data, type, name`);
    }
    if (typeof file.data !== 'string') throw invalid(`${name}.data must be a string: base64, or a base64 data URL`);
    const body: InlineFileBody = { data: file.data };
    if (file.type !== undefined) {
      if (typeof file.type !== 'string') throw invalid(`${name}.type must be a string`);
      body.type = file.type;
    }
    if (file.name !== undefined) body.name = fileName(file.name, `${name}.name`);
    return body;
  });
}

/** A file's name as a client gives it: a short string of visible text, no path. */
export function fileName(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  if (value.length > 255) throw invalid(`${field} must be at most 255 characters`);
  wellFormed(value, field);
  if (INVISIBLE.test(value)) throw invalid(`${field} must contain visible text`);
  return value;
}

/** A file a body carried, and where (`messages[2].parts[0]`) when that is not `files[i]`. */
export type NamedFileBody = InlineFileBody & { field?: string };

/**
 * The request's files, decoded and checked: each by its bytes (an accepted
 * type, not empty), all of them within MAX_INLINE_BYTES together.
 * @throws {ApiError} 400 (not base64), 413 (too large), 415 (not an accepted type), naming `files[i]`
 */
export async function decodeChatFiles(files: readonly NamedFileBody[], config: Config, field = 'files'): Promise<InlineFile[]> {
  const decoded = await Promise.all(files.map((file, i) => decodeInlineFile(file.data, file, config.maxInlineBytes, file.field ?? `${field}[${i}]`)));
  checkInlineTotal(decoded, config.maxInlineBytes, field, ' (upload larger ones to a stored chat: POST /api/chats/:id/files)');
  return decoded;
}

/**
 * The call with the files before the text of its new message, as Gemini
 * `inlineData` parts (a message of files alone has no text part).
 */
export async function withFiles(call: GeminiCall, files: readonly InlineFile[], config: Config): Promise<GeminiCall> {
  const last = call.contents.length - 1;
  const pending = call.contents.map((content, i) => {
    if (i !== last) return content;
    const parts = content.parts.filter((part) => part.text !== '');
    return { role: content.role, parts: [...files.map((f) => ({ file: f.part })), ...parts] };
  });
  return { ...call, contents: await resolveFiles(pending, inlineFileSource(files), { maxInlineBytes: config.maxInlineBytes }) };
}

/**
 * Reads the JSON body of a route that takes inline files: up to
 * {@link maxInlineBodyBytes} (MAX_BODY_BYTES plus MAX_INLINE_BYTES in base64)
 * when the deployment takes files. Call {@link checkBodyWithoutFiles} when it
 * turns out to carry none.
 * @throws {ApiError} as readJsonBody
 */
export function readFilesBody(request: Request, config: Config): Promise<unknown> {
  return readJsonBody(request, config.maxFilesPerMessage > 0 ? maxInlineBodyBytes(config) : config.maxBodyBytes);
}

/**
 * A body that carries no files is held to MAX_BODY_BYTES, as on every other
 * route: the larger cap is for the files' bytes only. Call it right after
 * {@link readFilesBody}, before the body's fields are checked (so an oversized
 * body is a 413 whatever else is wrong with it). A body within MAX_BODY_BYTES
 * by its Content-Length costs one header read (the text-only path stays as
 * cheap as it was); only a larger one is asked `carriesFiles`, and a chunked
 * one is measured by its JSON.
 * @throws {ApiError} 413 `too_large`
 */
export function checkBodyWithoutFiles(request: Request, body: unknown, config: Config, carriesFiles: (body: unknown) => boolean): void {
  if (config.maxFilesPerMessage === 0) return;
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) <= config.maxBodyBytes) return;
  if (carriesFiles(body)) return;
  const size = declared !== null ? Number(declared) : new TextEncoder().encode(JSON.stringify(body)).byteLength;
  if (size > config.maxBodyBytes) throw new ApiError(413, 'too_large', `request body must be at most ${config.maxBodyBytes} bytes`);
}

/** Whether a stateless chat body carries files (`files`, not empty). */
export function chatBodyHasFiles(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Array.isArray((body as { files?: unknown }).files) && (body as { files: unknown[] }).files.length > 0;
}

/** The model a request picks: one `assistant` allows (the deployment's ALLOWED_MODELS for `default`), its first by default. */
function model(value: unknown, config: Config, assistant: Assistant): string {
  const allowed = modelsFor(assistant, config);
  if (value === undefined) return allowed[0]!;
  if (typeof value !== 'string') throw invalid('model must be a string');
  if (!allowed.includes(value)) {
    throw new ApiError(400, 'model_not_allowed', `model "${value}" is not allowed; allowed: ${allowed.join(', ')}`);
  }
  return value;
}

/**
 * The caller's `system`: refused when the assistant keeps its instructions to
 * itself (every assistant but `default`, unless it says `allowSystem: true`).
 */
function callerSystem(value: unknown, maxChars: number, assistant: Assistant): string | undefined {
  const text = system(value, maxChars);
  if (text !== undefined && !assistant.allowSystem) {
    throw invalid(`system is not accepted here: the assistant "${assistant.name}" has its own instructions`);
  }
  return text;
}

function system(value: unknown, maxChars: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid('system must be a string');
  if (value.length > maxChars) throw tooLong('system', maxChars);
  wellFormed(value, 'system');
  return value.trim() ? value : undefined;
}

/** A UTF-16 surrogate without its other half: not text, and not something to send Gemini. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Nothing a reader would see: white space, control and format characters (NUL, zero-width joiners, BOMs). */
const INVISIBLE = /^[\s\p{Cc}\p{Cf}]*$/u;

/** @throws {ApiError} 400 when `value` has a lone surrogate */
export function wellFormed(value: string, name: string): void {
  if (LONE_SURROGATE.test(value)) throw invalid(`${name} must be valid Unicode text (it has a lone surrogate)`);
}

/** `value` as a JSON object, or a 400 naming `name`. */
export function object(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${name} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * A message's text, checked by the rules every route applies: a string, not
 * blank, at most `maxChars` (413 `too_large` past it), valid Unicode, and not
 * only control or format characters. `name` is the field the message names.
 * @throws {ApiError}
 */
export function checkText(value: unknown, name: string, maxChars: number): string {
  if (value === undefined) throw invalid(`${name} is required`);
  if (typeof value !== 'string') throw invalid(`${name} must be a string`);
  if (!value.trim()) throw invalid(`${name} must not be empty or blank`);
  if (value.length > maxChars) throw tooLong(name, maxChars);
  wellFormed(value, name);
  // A message of control characters only (NUL, escape codes) is noise, never a question.
  if (INVISIBLE.test(value)) throw invalid(`${name} must contain visible text, not only control or format characters`);
  return value;
}

function tooLong(name: string, maxChars: number): ApiError {
  return new ApiError(413, 'too_large', `${name} must be at most ${maxChars} characters`);
}

function history(value: unknown, maxChars: number): HistoryEntry[] {
  if (!Array.isArray(value)) throw invalid('history must be an array of { role, text }');
  const entries = value.map((item, i): HistoryEntry => {
    const name = `history[${i}]`;
    const entry = object(item, name);
    for (const key of Object.keys(entry)) {
      if (key !== 'role' && key !== 'text') throw invalid(`unknown field "${name}.${key}"; allowed: role, text`);
    }
    // Gemini wants turns that alternate, starting with the user; the new message is the next user turn.
    const expected: Role = i % 2 === 0 ? 'user' : 'model';
    if (entry.role !== 'user' && entry.role !== 'model') throw invalid(`${name}.role must be "user" or "model"`);
    if (entry.role !== expected) {
      throw invalid(`${name}.role must be "${expected}": history alternates user/model, starting with user`);
    }
    return { role: entry.role, text: checkText(entry.text, `${name}.text`, maxChars) };
  });
  if (entries.length % 2 === 1) {
    throw invalid('history must end with a "model" entry: the new message is the next user turn');
  }
  return entries;
}

function generation(value: unknown, maxOutputTokens: number): GenerationSettings {
  const input = object(value, 'generationConfig');
  for (const key of Object.keys(input)) {
    if (!GENERATION_FIELDS.has(key)) {
      throw invalid(`unknown field "generationConfig.${key}"; allowed: ${[...GENERATION_FIELDS].join(', ')}`);
    }
  }
  const settings: GenerationSettings = {};
  if (input.temperature !== undefined) settings.temperature = checkNumber(input.temperature, 'generationConfig.temperature', 0, 2, false);
  if (input.topP !== undefined) settings.topP = checkNumber(input.topP, 'generationConfig.topP', 0, 1, false);
  if (input.topK !== undefined) settings.topK = checkNumber(input.topK, 'generationConfig.topK', 1, 1000, true);
  if (input.maxOutputTokens !== undefined) {
    settings.maxOutputTokens = checkNumber(input.maxOutputTokens, 'generationConfig.maxOutputTokens', 1, maxOutputTokens, true);
  }
  return settings;
}

/**
 * A number between `min` and `max` (a whole one with `integer`).
 * @throws {ApiError} 400 naming `field` and the rule
 */
export function checkNumber(value: unknown, field: string, min: number, max: number, integer: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`${field} must be a number`);
  if (integer && !Number.isInteger(value)) throw invalid(`${field} must be a whole number`);
  if (value < min || value > max) throw invalid(`${field} must be between ${min} and ${max}`);
  return value;
}

/** A validated body of `POST /api/chats/:id/messages`. */
export interface TurnRequest {
  /** The text; empty when the message is its files alone. */
  message: string;
  /** Ids of the chat's uploaded files, by shape only: the chat's object checks they are its own. */
  files?: string[];
  /** This turn's thinking, by shape only: the chat's object checks it against the chat's model. */
  thinking?: ThinkingSettings;
}

const TURN_FIELDS = new Set(['message', 'files', 'thinking']);

/** Checks the body of a chat turn: `{ message, files?, thinking? }` and nothing else; a message with files may have no text. */
export function parseTurnRequest(body: unknown, config: Config): TurnRequest {
  const input = object(body, 'request body');
  for (const key of Object.keys(input)) {
    if (!TURN_FIELDS.has(key)) throw invalid(`unknown field "${key}"; allowed: ${[...TURN_FIELDS].join(', ')}`);
  }
  const files = input.files === undefined ? [] : fileIds(input.files, config.maxFilesPerMessage);
  const bare = files.length > 0 && (input.message === undefined || input.message === '');
  const turn: TurnRequest = { message: bare ? '' : checkText(input.message, 'message', config.maxMessageChars) };
  if (files.length > 0) turn.files = files;
  if (input.thinking !== undefined) turn.thinking = parseThinking(input.thinking);
  return turn;
}

/**
 * `files`: a list of distinct file ids (`f` and 32 hex digits), at most `max`
 * of them (MAX_FILES_PER_MESSAGE; 0: the deployment takes no files).
 */
export function fileIds(value: unknown, max: number): string[] {
  if (max === 0) throw invalid('files: this deployment takes no files (MAX_FILES_PER_MESSAGE is 0)');
  if (!Array.isArray(value)) throw invalid('files must be an array of file ids');
  if (value.length > max) throw invalid(`files must list at most ${max} files`);
  value.forEach((id, i) => {
    if (typeof id !== 'string' || !/^f[0-9a-f]{32}$/.test(id)) throw invalid(`files[${i}] must be a file id from POST /api/chats/:id/files`);
  });
  if (new Set(value).size !== value.length) throw invalid('files must not list a file twice');
  return value as string[];
}

/** A validated body of `POST /api/chats`: the chat's fixed settings. */
export interface NewChatRequest {
  system?: string;
  model: string;
  thinking?: ThinkingSettings;
  /** The assistant that answers in this chat, for its whole life. */
  assistant: string;
}

const NEW_CHAT_FIELDS = new Set(['system', 'model', 'thinking', 'assistant']);

/**
 * Checks the (optional) body of `POST /api/chats`: `{ system?, model?, thinking? }`,
 * `thinking` by the chosen model's rules.
 */
export function parseNewChatRequest(body: unknown, config: Config, assistant: Assistant): NewChatRequest {
  const input = body === undefined ? {} : object(body, 'request body');
  for (const key of Object.keys(input)) {
    if (!NEW_CHAT_FIELDS.has(key)) throw invalid(`unknown field "${key}"; allowed: ${[...NEW_CHAT_FIELDS].join(', ')}`);
  }
  const settings: NewChatRequest = {
    model: model(input.model, config, assistant),
    system: callerSystem(input.system, config.maxMessageChars, assistant),
    assistant: assistant.name,
  };
  if (input.thinking !== undefined) {
    settings.thinking = parseThinking(input.thinking);
    thinkingConfig(settings.model, settings.thinking);
  }
  return settings;
}
