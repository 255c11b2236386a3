import type { Content, GenerationConfig, Part } from '@google/generative-ai';
import { leastThinking, outputCeiling, resolveThinking, thinkingConfig, toGenerationConfig, type GenerationRequest } from '../gemini/generation-config';
import type { Config } from '../config';
import type { Assistant } from '../assistants/assistant';
import { systemInstruction } from '../assistants/prompt';
import { assistants } from '../assistants/registry';
import { modelsFor } from '../assistants/resolve';
import type { Source } from '../protocol/events';
import { ApiError } from '../errors';
import type { GeminiCall } from '../gemini/gemini-adapter';
import { isRecord, type ErrorCode } from '../protocol/events';
import type { ThinkingSettings } from '../protocol/messages';
import type { ToolCallPart, ToolResultPart } from '../protocol/parts';
import { checkNumber, checkText, fileName, wellFormed } from './chat-request';
import { checkInlineTotal, decodeInlineFile, inlineFileSource, type InlineFile } from '../files/inline-file';
import { resolveFiles, toBase64 } from '../gemini/file-parts';
import { checkLink, fetchRemoteFile, REMOTE_FILE_RULES } from '../files/remote-file';
import { toFunctionCallPart, toFunctionResponsePart, toGeminiTools, type FunctionChoice, type FunctionSpec } from '../gemini/tool-parts';
import { signatureOf, SKIP_SIGNATURE } from '../protocol/tool-call-id';

/** A validated body of `POST /v1/chat/completions`, as a Gemini call. */
export interface CompletionRequest {
  /** The model as the caller named it (`assistant:<name>` included): what the answer says it is. */
  model: string;
  /** A site assistant's pages, when the request names one: its citations become annotations. */
  pages?: readonly Source[];
  stream: boolean;
  /** `stream_options.include_usage`: a usage chunk ends the stream. */
  includeUsage: boolean;
  /** `parallel_tool_calls` (default true): false keeps only an answer's first call. */
  parallelToolCalls: boolean;
  call: GeminiCall;
  /**
   * The files of the user messages, when there are any: `call.contents` has
   * none of them yet ({@link withCompletionFiles} fetches, checks and adds them).
   */
  files?: CompletionFiles;
}

/** Whether a completion body has a content part other than text (a file, to be checked as one). */
export function completionBodyHasFiles(body: unknown): boolean {
  const messages = isRecord(body) ? body.messages : undefined;
  return Array.isArray(messages) && messages.some((m) => isRecord(m) && Array.isArray(m.content) && m.content.some((p) => !isRecord(p) || p.type !== 'text'));
}

/** A file a content part carried: its bytes (base64 or a data URL), or a link to fetch. */
export interface FileRef {
  /** The field of the part, as every refusal names it: `messages[1].content[0].image_url.url`. */
  field: string;
  data?: string;
  url?: string;
  /** The type the part implies (input_audio's format), checked against the bytes. */
  type?: string;
  name?: string;
  /** image_url: the bytes must be an image. */
  image?: boolean;
}

/** The conversation with its files still references: the `file` of a part indexes `refs`. */
export interface CompletionFiles {
  refs: FileRef[];
  contents: Array<{ role: string; parts: Array<Part | { file: number }> }>;
}

/**
 * A refused field: OpenAI's error names it in `param`, and may carry one of
 * OpenAI's own codes (`model_not_found`, `context_length_exceeded`, …).
 */
export class ParamError extends ApiError {
  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    readonly param: string,
    readonly openAiCode?: string,
  ) {
    super(status, code, message);
  }
}

const invalid = (param: string, message: string) => new ParamError(400, 'invalid_request', message, param);
const unsupported = (param: string, message: string) => new ParamError(400, 'invalid_request', message, param, 'unsupported_parameter');

/** Fields that shape the answer, and are mapped onto Gemini's. */
const USED = [
  'messages',
  'model',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'seed',
  'reasoning_effort',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
];

/**
 * Fields clients and tools send that mean nothing here, or nothing beyond
 * their neutral value: accepted and ignored when neutral (or absent, or null),
 * refused naming the field otherwise. `neutral` says which values pass.
 */
const NEUTRAL: Record<string, { neutral: (value: unknown) => boolean; rule: string }> = {
  // Who the end user is, and bookkeeping for OpenAI's dashboard: no bearing on the answer.
  user: { neutral: (v) => typeof v === 'string', rule: 'a string' },
  safety_identifier: { neutral: (v) => typeof v === 'string', rule: 'a string' },
  prompt_cache_key: { neutral: (v) => typeof v === 'string', rule: 'a string' },
  metadata: { neutral: isStringRecord, rule: 'an object of strings' },
  service_tier: { neutral: (v) => v === 'auto' || v === 'default', rule: '"auto" or "default"' },
  store: { neutral: (v) => v === false, rule: 'false (completions are not stored)' },
  n: { neutral: (v) => v === 1, rule: '1 (one choice per request)' },
  presence_penalty: { neutral: (v) => v === 0, rule: '0 (penalties are not supported)' },
  frequency_penalty: { neutral: (v) => v === 0, rule: '0 (penalties are not supported)' },
  logit_bias: { neutral: (v) => isStringRecord(v) && Object.keys(v).length === 0, rule: 'empty (logit bias is not supported)' },
  logprobs: { neutral: (v) => v === false, rule: 'false (log probabilities are not supported)' },
  top_logprobs: { neutral: (v) => v === 0, rule: '0 (log probabilities are not supported)' },
  // The deprecated forms of `tools` and `tool_choice`.
  functions: { neutral: isEmptyArray, rule: 'empty (use tools)' },
  function_call: { neutral: (v) => v === 'none', rule: '"none" (use tools and tool_choice)' },
  response_format: { neutral: (v) => isRecord(v) && v.type === 'text' && Object.keys(v).length === 1, rule: '{ "type": "text" } (other formats are not supported)' },
  modalities: { neutral: (v) => Array.isArray(v) && v.length === 1 && v[0] === 'text', rule: '["text"] (only text is supported)' },
};

/** Fields of OpenAI's API this endpoint does not implement; any value but null is refused. */
const REFUSED = ['audio', 'prediction', 'verbosity', 'web_search_options'];

/** OpenAI's `reasoning_effort` values; `none` is the least thinking the model allows (leastThinking). */
const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high'] as const;

const MESSAGE_FIELDS: Record<string, readonly string[]> = {
  system: ['role', 'content'],
  developer: ['role', 'content'],
  user: ['role', 'content'],
  // `reasoning_content`: this API's own thought summary, which clients echo back with the message
  // (`messages.push(completion.choices[0].message)`); accepted and left out, as a summary is no turn.
  assistant: ['role', 'content', 'refusal', 'reasoning_content', 'tool_calls'],
  tool: ['role', 'content', 'tool_call_id'],
};

/** At most this many functions, as OpenAI allows. */
const MAX_FUNCTIONS = 128;
/**
 * A function's name: OpenAI's rule (a–z, A–Z, 0–9, _ and -, at most 64) within Gemini's
 * ("Must be a-z, A-Z, 0-9, or contain underscores, colons, dots, and dashes, with a maximum
 * length of 64"), which also wants a letter or an underscore first.
 */
const FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** At most this many stop sequences, as OpenAI allows (Gemini takes five). */
const MAX_STOP = 4;

/**
 * Checks a chat completion body against the settings and maps it onto a
 * Gemini call: system (and developer) messages join into the system
 * instruction; user and assistant messages become `user` and `model` turns,
 * consecutive ones of a role merged into one turn; the last must be the user's.
 * Every message names the field (`param`) and the rule it broke.
 * @throws {ParamError} 400 for a wrong shape or value, or a feature this API
 *   does not have; 404 `model_not_found` for a model not in ALLOWED_MODELS
 */
export function parseCompletionRequest(body: unknown, config: Config): CompletionRequest {
  if (!isRecord(body)) throw invalid('body', 'request body must be a JSON object');
  for (const [key, value] of Object.entries(body)) {
    // null means "not given" for every optional field, as OpenAI reads it.
    if (value === null || USED.includes(key)) continue;
    const known = NEUTRAL[key];
    if (known) {
      if (!known.neutral(value)) throw unsupported(key, `${key} must be ${known.rule}`);
    } else if (REFUSED.includes(key)) {
      throw unsupported(key, `${key} is not supported`);
    } else {
      throw invalid(key, `unknown field "${key}"`);
    }
  }
  const { model, assistant } = modelOf(body.model, config);
  const stream = optionalBoolean(body.stream, 'stream') ?? false;
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    const options = body.stream_options;
    if (!isRecord(options)) throw invalid('stream_options', 'stream_options must be an object');
    for (const key of Object.keys(options)) {
      if (key !== 'include_usage' && key !== 'include_obfuscation') throw invalid(`stream_options.${key}`, `unknown field "stream_options.${key}"`);
    }
    includeUsage = optionalBoolean(options.include_usage, 'stream_options.include_usage') ?? false;
    // Obfuscation pads chunks against length side channels; these chunks carry no padding, so it means nothing here.
    optionalBoolean(options.include_obfuscation, 'stream_options.include_obfuscation');
  }
  const functions = functionsOf(body.tools, config);
  const choice = toolChoice(body.tool_choice, functions);
  const parallelToolCalls = optionalBoolean(body.parallel_tool_calls, 'parallel_tool_calls') ?? true;
  const { system, contents, files } = conversation(body.messages, config);
  if (system && assistant && !assistant.allowSystem) {
    throw invalid('messages', `system and developer messages are not accepted by "${ASSISTANT_MODEL_PREFIX}${assistant.name}": it has its own instructions`);
  }
  const call: GeminiCall = {
    model,
    system: assistant ? systemInstruction(assistant.systemPrefix, system) : system,
    contents,
    generationConfig: generation(body, model, config, assistant),
    ...(functions.length ? toGeminiTools(functions, choice) : {}),
  };
  return { model: typeof body.model === 'string' ? body.model : model, stream, includeUsage, parallelToolCalls, call, ...(assistant ? { pages: assistant.pages } : {}), ...(files ? { files } : {}) };
}

/**
 * The request's call with its files: each decoded (a data URL or base64) or
 * fetched (an https link, by the rules of fetchRemoteFile), checked by its
 * bytes, all of them inline and within MAX_INLINE_BYTES together, in the turns
 * and places the messages gave them. The inline files are decoded and checked
 * now; the links are fetched by the function returned, to be called once the
 * request is admitted (a key a limit refuses makes the Worker fetch nothing).
 * @throws {ParamError} 400 naming the part (`param`) for any file refused
 * @example
 * const withLinks = await withCompletionFiles(request, config); // a refused file costs the key nothing
 * await admit(c, 'message', key);
 * const call = await withLinks();
 */
export async function withCompletionFiles(request: CompletionRequest, config: Config): Promise<(fetcher?: typeof fetch) => Promise<GeminiCall>> {
  const { files } = request;
  if (!files) return async () => request.call;
  const inline = await Promise.all(files.refs.map((ref) => (ref.url === undefined ? asFileParam(ref.field, () => loadFile(ref, config)) : undefined)));
  // A link that is no https: URL is refused now, as a bad inline file is: only its fetch waits for admission.
  for (const ref of files.refs) if (ref.url !== undefined) await asFileParam(ref.field, async () => checkLink(ref.url!, ref.field));
  await asFileParam('messages', async () => checkInlineTotal(inline.filter((file) => file !== undefined), config.maxInlineBytes, 'messages'));
  return async (fetcher) => {
    const decoded = await Promise.all(files.refs.map((ref, i) => inline[i] ?? asFileParam(ref.field, () => loadFile(ref, config, fetcher))));
    await asFileParam('messages', async () => checkInlineTotal(decoded, config.maxInlineBytes, 'messages'));
    const pending = files.contents.map((content) => ({
      role: content.role,
      parts: content.parts.map((part) => ('file' in part && typeof part.file === 'number' ? { file: decoded[part.file]!.part } : (part as Part))),
    }));
    const contents = await resolveFiles(pending, inlineFileSource(decoded), { maxInlineBytes: config.maxInlineBytes });
    return { ...request.call, contents };
  };
}

async function loadFile(ref: FileRef, config: Config, fetcher?: typeof fetch): Promise<InlineFile> {
  // Every file goes inline: one larger than the request's whole inline budget is refused unread.
  const maxBytes = Math.min(config.maxFileBytes, config.maxInlineBytes);
  let data = ref.data;
  if (ref.url !== undefined) {
    data = toBase64(await fetchRemoteFile(ref.url, { ...REMOTE_FILE_RULES, maxBytes, field: ref.field }, fetcher));
  }
  const file = await decodeInlineFile(data!, { type: ref.type, name: ref.name }, maxBytes, ref.field);
  if (ref.image && !file.part.mediaType.startsWith('image/')) {
    throw new ApiError(400, 'invalid_request', `${ref.field} must be an image, not ${file.part.mediaType} (send other files as "file" parts)`);
  }
  return file;
}

/** A file's refusal as a 400 naming the part in `param`, whatever its native status (OpenAI answers a bad file with 400). */
async function asFileParam<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!(error instanceof ApiError) || error instanceof ParamError) throw error;
    throw new ParamError(400, error.code, error.message, name);
  }
}

/** `model: "assistant:<name>"` names a site assistant: its instructions, pages and default model. */
export const ASSISTANT_MODEL_PREFIX = 'assistant:';

/** The Gemini model a request names, and the assistant when it names one (`assistant:<name>`). */
function modelOf(value: unknown, config: Config): { model: string; assistant?: Assistant } {
  if (value === undefined || value === null) throw invalid('model', 'model is required');
  if (typeof value !== 'string') throw invalid('model', 'model must be a string');
  if (value.startsWith(ASSISTANT_MODEL_PREFIX)) {
    const assistant = assistants().get(value.slice(ASSISTANT_MODEL_PREFIX.length));
    if (assistant) return { model: modelsFor(assistant, config)[0]!, assistant };
  } else if (config.allowedModels.includes(value)) {
    return { model: value };
  }
  // Bounded: the name is echoed back.
  const name = value.slice(0, 100);
  const available = [...config.allowedModels, ...[...assistants().keys()].map((n) => `${ASSISTANT_MODEL_PREFIX}${n}`)];
  throw new ParamError(404, 'model_not_allowed', `The model "${name}" does not exist here; available: ${available.join(', ')}`, 'model', 'model_not_found');
}

function conversation(value: unknown, config: Config): { system?: string; contents: Content[]; files?: CompletionFiles } {
  if (value === undefined || value === null) throw invalid('messages', 'messages is required');
  if (!Array.isArray(value) || value.length === 0) throw invalid('messages', 'messages must be a non-empty array');
  const system: string[] = [];
  const contents: Array<{ role: string; parts: Array<Part | { file: number }> }> = [];
  const refs: FileRef[] = [];
  let chars = 0;
  /** The calls of the last assistant message that made some, by id, while tool messages answer them. */
  let pending: { at: string; calls: Map<string, { name: string; answered: boolean }> } | undefined;
  const ids = new Set<string>();
  value.forEach((item, i) => {
    const name = `messages[${i}]`;
    if (!isRecord(item)) throw invalid(name, `${name} must be an object`);
    const role = item.role;
    if (role === 'function') throw unsupported(`${name}.role`, `${name}.role "function" is not supported: use "tool" messages`);
    if (typeof role !== 'string' || !MESSAGE_FIELDS[role]) {
      throw invalid(`${name}.role`, `${name}.role must be "system", "developer", "user", "assistant" or "tool"`);
    }
    if (pending && role !== 'tool') {
      unanswered(pending);
      pending = undefined;
    }
    if (role === 'tool') {
      only(item, MESSAGE_FIELDS.tool!, name);
      const result = toolResult(item, name, pending, config);
      chars += result.chars;
      const last = contents.at(-1);
      // Gemini takes function responses in a user turn, right after the calls' model turn.
      if (last?.role === 'user') last.parts.push(result.part);
      else contents.push({ role: 'user', parts: [result.part] });
      return;
    }
    for (const [key, field] of Object.entries(item)) {
      if (MESSAGE_FIELDS[role].includes(key) && (key !== 'refusal' || field === null)) {
        if (key === 'reasoning_content' && typeof field !== 'string' && field !== null) throw invalid(`${name}.${key}`, `${name}.reasoning_content must be a string`);
        continue;
      }
      if (field === null) continue;
      if (key === 'function_call') throw unsupported(`${name}.${key}`, `${name}.function_call is not supported: use tool_calls`);
      // `name` tells participants of one role apart; Gemini has no such thing, and dropping it would change the conversation.
      throw unsupported(`${name}.${key}`, `${name}.${key} is not supported on ${role} messages`);
    }
    const calls = role === 'assistant' && item.tool_calls !== undefined && item.tool_calls !== null ? toolCalls(item.tool_calls, `${name}.tool_calls`, ids) : undefined;
    // An assistant message that only called functions has no content (null, or "" from some clients).
    const noContent = calls && (item.content === undefined || item.content === null || item.content === '');
    const parts: Array<Part | { file: number }> = noContent ? [] : contentParts(item.content, `${name}.content`, config, role === 'user' ? refs : undefined);
    for (const part of parts) if ('text' in part) chars += (part.text as string).length;
    if (calls) {
      pending = { at: `${name}.tool_calls`, calls: new Map(calls.map((c) => [c.id, { name: c.name, answered: false }])) };
      // Gemini 3 checks the step's first call for a signature: one whose id lost it goes with the documented skip value.
      calls[0]!.signature ??= SKIP_SIGNATURE;
      for (const call of calls) {
        chars += call.chars;
        parts.push(toFunctionCallPart(call));
      }
    }
    if (role === 'system' || role === 'developer') {
      system.push(parts.map((part) => (part as { text: string }).text).join('\n'));
      return;
    }
    const geminiRole = role === 'user' ? 'user' : 'model';
    const last = contents.at(-1);
    if (last?.role === geminiRole) last.parts.push(...parts);
    else {
      if (contents.length === 0 && geminiRole === 'model') {
        throw invalid(`${name}.role`, `${name}: the first message after system messages must be the user's (Gemini's turns start with the user)`);
      }
      contents.push({ role: geminiRole, parts });
    }
  });
  if (pending) unanswered(pending);
  if (contents.at(-1)?.role !== 'user') {
    throw invalid(`messages[${value.length - 1}].role`, 'the last message must be the user\'s or a tool\'s: it is the one to answer');
  }
  if (chars > config.maxContextChars) {
    throw new ParamError(400, 'too_large', `messages must be at most ${config.maxContextChars} characters in all, got ${chars}`, 'messages', 'context_length_exceeded');
  }
  const systemText = system.length ? system.join('\n\n') : undefined;
  // Without files the parts are all text: Gemini's contents as they are.
  if (refs.length === 0) return { system: systemText, contents: contents as Content[] };
  return { system: systemText, contents: [], files: { refs, contents } };
}

/** Refuses calls no tool message answered: Gemini wants a response for every call of a turn. */
function unanswered(pending: { at: string; calls: Map<string, { answered: boolean }> }): void {
  const open = [...pending.calls].filter(([, c]) => !c.answered).map(([id]) => id.slice(0, 40));
  if (open.length === 0) return;
  throw invalid(pending.at, `${pending.at}: every tool call must be answered by a tool message right after it; no tool message answers ${open.join(', ')}`);
}

/**
 * An assistant message's `tool_calls` as call parts: each `{ id, type: "function", function: {
 * name, arguments } }`, its arguments the JSON text of an object (Gemini takes an object), its
 * thought signature read back from the id (tool-call-id.ts).
 */
function toolCalls(value: unknown, name: string, ids: Set<string>): Array<ToolCallPart & { chars: number }> {
  if (!Array.isArray(value) || value.length === 0) throw invalid(name, `${name} must be a non-empty array`);
  return value.map((call, j) => {
    const at = `${name}[${j}]`;
    if (!isRecord(call)) throw invalid(at, `${at} must be an object`);
    only(call, ['id', 'type', 'function'], at);
    if (typeof call.id !== 'string' || call.id.length === 0) throw invalid(`${at}.id`, `${at}.id must be a non-empty string`);
    if (ids.has(call.id)) throw invalid(`${at}.id`, `${at}.id "${call.id.slice(0, 40)}" is the id of an earlier call: ids must be unique`);
    ids.add(call.id);
    if (call.type !== 'function') throw invalid(`${at}.type`, `${at}.type must be "function"`);
    const fn = call.function;
    if (!isRecord(fn)) throw invalid(`${at}.function`, `${at}.function must be an object`);
    only(fn, ['name', 'arguments'], `${at}.function`);
    if (typeof fn.name !== 'string' || !FUNCTION_NAME.test(fn.name)) throw invalid(`${at}.function.name`, `${at}.function.name must be a function's name`);
    if (typeof fn.arguments !== 'string') throw invalid(`${at}.function.arguments`, `${at}.function.arguments must be a string: the arguments as JSON`);
    let args: unknown;
    try {
      args = JSON.parse(fn.arguments);
    } catch {
      args = undefined;
    }
    if (!isRecord(args)) throw invalid(`${at}.function.arguments`, `${at}.function.arguments must be the JSON text of an object`);
    const part: ToolCallPart & { chars: number } = { type: 'tool-call', id: call.id, name: fn.name, args, chars: fn.name.length + fn.arguments.length };
    const signature = signatureOf(call.id);
    if (signature) part.signature = signature;
    return part;
  });
}

/**
 * A `tool` message as a function response: it must answer a call of the assistant message just
 * before it (by `tool_call_id`), once; the response gets that call's name. Its content (a string,
 * or text parts) is the result: its JSON value when it is JSON, else the text.
 */
function toolResult(item: Record<string, unknown>, name: string, pending: { calls: Map<string, { name: string; answered: boolean }> } | undefined, config: Config): { part: Part; chars: number } {
  const id = item.tool_call_id;
  if (typeof id !== 'string' || id.length === 0) throw invalid(`${name}.tool_call_id`, `${name}.tool_call_id must be a non-empty string`);
  const call = pending?.calls.get(id);
  if (!call) throw invalid(`${name}.tool_call_id`, `${name}.tool_call_id "${id.slice(0, 40)}" answers no call of the assistant message before it`);
  if (call.answered) throw invalid(`${name}.tool_call_id`, `${name}.tool_call_id "${id.slice(0, 40)}" answers a call another tool message already answered`);
  call.answered = true;
  const content = item.content;
  let text: string;
  if (content === '') text = '';
  else if (typeof content === 'string') text = asParam(`${name}.content`, () => checkText(content, `${name}.content`, config.maxMessageChars));
  else if (Array.isArray(content)) text = contentParts(content, `${name}.content`, config).map((p) => (p as { text: string }).text).join('');
  else throw invalid(`${name}.content`, `${name}.content must be a string or an array of text parts`);
  let result: unknown = text;
  try {
    result = JSON.parse(text);
  } catch {
    // Not JSON: the text itself is the result.
  }
  const part: ToolResultPart = { type: 'tool-result', id, name: call.name, result };
  return { part: toFunctionResponsePart(part), chars: text.length };
}

/**
 * `tools` as functions Gemini may call: each `{ type: "function", function: { name,
 * description?, parameters?, strict? } }`. `parameters` is JSON Schema for an object, sent as it
 * is (Gemini's `parametersJsonSchema`); `strict` is accepted and has no effect (Gemini has no
 * such switch).
 */
function functionsOf(value: unknown, config: Config): FunctionSpec[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid('tools', 'tools must be an array');
  if (value.length > MAX_FUNCTIONS) throw invalid('tools', `tools must have at most ${MAX_FUNCTIONS} functions`);
  const names = new Set<string>();
  return value.map((tool, i) => {
    const at = `tools[${i}]`;
    if (!isRecord(tool)) throw invalid(at, `${at} must be an object`);
    if (tool.type !== 'function') throw unsupported(`${at}.type`, `${at}.type must be "function": other tools are not supported`);
    only(tool, ['type', 'function'], at);
    const fn = tool.function;
    if (!isRecord(fn)) throw invalid(`${at}.function`, `${at}.function must be an object`);
    only(fn, ['name', 'description', 'parameters', 'strict'], `${at}.function`);
    if (typeof fn.name !== 'string' || !FUNCTION_NAME.test(fn.name)) {
      throw invalid(`${at}.function.name`, `${at}.function.name must be 1 to 64 characters of a-z, A-Z, 0-9, _ and -, starting with a letter or _ (Gemini's rule)`);
    }
    if (names.has(fn.name)) throw invalid(`${at}.function.name`, `${at}.function.name "${fn.name}" is declared twice`);
    names.add(fn.name);
    const spec: FunctionSpec = { name: fn.name };
    if (fn.description !== undefined && fn.description !== null) {
      if (typeof fn.description !== 'string' || fn.description.length > config.maxMessageChars) {
        throw invalid(`${at}.function.description`, `${at}.function.description must be a string of at most ${config.maxMessageChars} characters`);
      }
      spec.description = fn.description;
    }
    if (fn.parameters !== undefined && fn.parameters !== null) {
      const parameters = fn.parameters;
      // Gemini: "The schema must describe an object where the properties are the parameters to the function."
      if (!isRecord(parameters) || (parameters.type !== undefined && parameters.type !== 'object')) {
        throw invalid(`${at}.function.parameters`, `${at}.function.parameters must be a JSON Schema object of type "object"`);
      }
      spec.parameters = parameters;
    }
    if (fn.strict !== undefined && fn.strict !== null && typeof fn.strict !== 'boolean') throw invalid(`${at}.function.strict`, `${at}.function.strict must be a boolean`);
    return spec;
  });
}

/** `tool_choice`: "auto" (the default), "none", "required", or `{ type: "function", function: { name } }` of a declared function. */
function toolChoice(value: unknown, functions: readonly FunctionSpec[]): FunctionChoice {
  if (value === undefined || value === null || value === 'auto' || value === 'none') return (value as 'auto' | 'none' | undefined) ?? 'auto';
  if (value === 'required') {
    if (!functions.length) throw invalid('tool_choice', 'tool_choice "required" needs tools');
    return 'required';
  }
  if (isRecord(value) && value.type === 'function') {
    only(value, ['type', 'function'], 'tool_choice');
    const fn = value.function;
    if (!isRecord(fn)) throw invalid('tool_choice.function', 'tool_choice.function must be an object');
    only(fn, ['name'], 'tool_choice.function');
    if (typeof fn.name !== 'string' || !functions.some((f) => f.name === fn.name)) {
      throw invalid('tool_choice.function.name', 'tool_choice.function.name must name a function of tools');
    }
    return { name: fn.name };
  }
  if (isRecord(value)) throw unsupported('tool_choice.type', 'tool_choice.type must be "function": other choices are not supported');
  throw invalid('tool_choice', 'tool_choice must be "auto", "none", "required" or { "type": "function", "function": { "name" } }');
}

/** The media type of each `input_audio.format`. */
const AUDIO_FORMATS: Record<string, string> = { wav: 'audio/wav', mp3: 'audio/mpeg' };
const IMAGE_DETAILS = ['auto', 'low', 'high'];

/**
 * A message's content as parts: a string, or an array of parts, every text
 * checked as the native API checks it. `refs` (user messages only) collects
 * the file parts (`image_url`, `file`, `input_audio`), each a `{ file: i }`
 * placeholder; other roles take text only.
 */
function contentParts(value: unknown, name: string, config: Config, refs?: FileRef[]): Array<{ text: string } | { file: number }> {
  const maxChars = config.maxMessageChars;
  if (value === undefined || value === null) throw invalid(name, `${name} is required`);
  if (typeof value === 'string') return [{ text: text(value, name, maxChars) }];
  if (!Array.isArray(value) || value.length === 0) throw invalid(name, `${name} must be a string or a non-empty array of content parts`);
  const files = value.filter((part) => isRecord(part) && part.type !== 'text').length;
  if (refs && files > config.maxFilesPerMessage) {
    throw unsupported(name, config.maxFilesPerMessage === 0 ? `${name}: this deployment takes no files (MAX_FILES_PER_MESSAGE is 0)` : `${name} must have at most ${config.maxFilesPerMessage} file parts`);
  }
  return value.map((part, j) => {
    const partName = `${name}[${j}]`;
    if (!isRecord(part)) throw invalid(partName, `${partName} must be an object`);
    const type = part.type;
    if (type === 'text') {
      only(part, ['type', 'text'], partName);
      return { text: text(part.text, `${partName}.text`, maxChars) };
    }
    if (!refs || (type !== 'image_url' && type !== 'file' && type !== 'input_audio')) {
      const what = typeof type === 'string' ? `"${type.slice(0, 40)}" parts are` : 'other parts are';
      throw unsupported(`${partName}.type`, `${partName}.type must be "text"${refs ? ', "image_url", "file" or "input_audio"' : ''}: ${what} not supported${refs ? '' : ' here'}`);
    }
    only(part, ['type', type], partName);
    const body = part[type];
    const field = `${partName}.${type}`;
    if (!isRecord(body)) throw invalid(field, `${field} must be an object`);
    refs.push(fileRef(type, body, field));
    return { file: refs.length - 1 };
  });
}

/** A file part's reference, by its shape. */
function fileRef(type: 'image_url' | 'file' | 'input_audio', body: Record<string, unknown>, field: string): FileRef {
  if (type === 'image_url') {
    only(body, ['url', 'detail'], field);
    // `detail` sizes OpenAI's tiles; Gemini sizes images itself.
    if (body.detail !== undefined && body.detail !== null && !IMAGE_DETAILS.includes(body.detail as string)) {
      throw invalid(`${field}.detail`, `${field}.detail must be one of ${IMAGE_DETAILS.map((d) => `"${d}"`).join(', ')}`);
    }
    if (typeof body.url !== 'string') throw invalid(`${field}.url`, `${field}.url must be a string`);
    const at = `${field}.url`;
    return body.url.startsWith('data:') ? { field: at, data: body.url, image: true } : { field: at, url: body.url, image: true };
  }
  if (type === 'file') {
    only(body, ['file_data', 'filename', 'file_id'], field);
    if (body.file_id !== undefined && body.file_id !== null) throw unsupported(`${field}.file_id`, `${field}.file_id is not supported (there is no Files API here): send the bytes as file_data`);
    if (typeof body.file_data !== 'string') throw invalid(`${field}.file_data`, `${field}.file_data must be a string: base64, or a base64 data URL`);
    const ref: FileRef = { field: `${field}.file_data`, data: body.file_data };
    if (body.filename !== undefined && body.filename !== null) ref.name = asParam(`${field}.filename`, () => fileName(body.filename, `${field}.filename`));
    return ref;
  }
  only(body, ['data', 'format'], field);
  const type_ = typeof body.format === 'string' ? AUDIO_FORMATS[body.format] : undefined;
  if (!type_) throw invalid(`${field}.format`, `${field}.format must be "wav" or "mp3"`);
  if (typeof body.data !== 'string' || body.data.startsWith('data:')) throw invalid(`${field}.data`, `${field}.data must be base64`);
  return { field: `${field}.data`, data: body.data, type: type_ };
}

/** Refuses any key of `value` not in `keys`. */
function only(value: Record<string, unknown>, keys: readonly string[], name: string): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw invalid(`${name}.${key}`, `unknown field "${name}.${key}"`);
  }
}

/** The native API's text rules, with the field as `param`; a text over the limit is OpenAI's `string_above_max_length`. */
function text(value: unknown, name: string, maxChars: number): string {
  return asParam(name, () => checkText(value, name, maxChars));
}

/** A native rule's refusal as a 400 naming `name` in `param` (a text over its limit: OpenAI's `string_above_max_length`). */
function asParam<T>(name: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    throw new ParamError(400, error.code, error.message, name, error.code === 'too_large' ? 'string_above_max_length' : undefined);
  }
}

/**
 * OpenAI's generation fields as Gemini's. OpenAI clients send `temperature`
 * (and `top_p`) by default: they are checked, and sent on only to models that
 * honour them (toGenerationConfig), so such clients keep working.
 */
function generation(body: Record<string, unknown>, model: string, config: Config, assistant?: Assistant): GenerationConfig {
  const ceiling = outputCeiling(model, config.maxOutputTokens);
  const maxTokens = optionalNumber(body.max_tokens, 'max_tokens', 1, ceiling, true);
  const maxCompletionTokens = optionalNumber(body.max_completion_tokens, 'max_completion_tokens', 1, ceiling, true);
  if (maxTokens !== undefined && maxCompletionTokens !== undefined && maxTokens !== maxCompletionTokens) {
    throw invalid('max_tokens', 'give max_tokens or max_completion_tokens, not both with different values');
  }
  const request: GenerationRequest = {
    temperature: optionalNumber(body.temperature, 'temperature', 0, 2, false),
    topP: optionalNumber(body.top_p, 'top_p', 0, 1, false),
    maxOutputTokens: maxCompletionTokens ?? maxTokens,
    stopSequences: stopSequences(body.stop),
    // Gemini takes a seed too (best effort, as OpenAI's).
    seed: optionalNumber(body.seed, 'seed', -(2 ** 31), 2 ** 31 - 1, true),
    thinking: reasoningEffort(body.reasoning_effort, model, config, assistant),
  };
  return toGenerationConfig(model, request, config.maxOutputTokens);
}

/**
 * `reasoning_effort` as thinking settings: a level by its name, `none` the
 * least thinking `model` allows; absent, the deployment's default. A level the
 * model does not offer is refused here, naming `reasoning_effort`, rather than
 * by Gemini. The thought summary comes back (`reasoning_content`) when a
 * `reasoning_effort` other than `none` is given, or the deployment shows
 * thoughts by default (SHOW_THOUGHTS) and the caller did not say `none`.
 */
function reasoningEffort(value: unknown, model: string, config: Config, assistant?: Assistant): ThinkingSettings {
  if (value === undefined || value === null) return resolveThinking(model, assistant?.thinking, config.thinking);
  if (!REASONING_EFFORTS.includes(value as (typeof REASONING_EFFORTS)[number])) {
    throw invalid('reasoning_effort', `reasoning_effort must be one of ${REASONING_EFFORTS.map((e) => `"${e}"`).join(', ')}`);
  }
  const thinking: ThinkingSettings =
    value === 'none' ? { ...leastThinking(model), show: false } : { level: value as Exclude<(typeof REASONING_EFFORTS)[number], 'none'>, show: true };
  asParam('reasoning_effort', () => thinkingConfig(model, thinking, 'reasoning_effort'));
  return thinking;
}

function stopSequences(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length > MAX_STOP || !list.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 200)) {
    throw invalid('stop', `stop must be a string or an array of at most ${MAX_STOP} strings, each of 1 to 200 characters`);
  }
  // White space is a fine stop sequence ("\n"): only the Unicode rule applies.
  list.forEach((s: string, i) => asParam(`stop[${i}]`, () => wellFormed(s, `stop[${i}]`)));
  return list.length ? list : undefined;
}

function optionalNumber(value: unknown, name: string, min: number, max: number, integer: boolean): number | undefined {
  if (value === undefined || value === null) return undefined;
  return asParam(name, () => checkNumber(value, name, min, max, integer));
}

function optionalBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(name, `${name} must be a boolean`);
  return value;
}


function isStringRecord(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}

function isEmptyArray(value: unknown): boolean {
  return Array.isArray(value) && value.length === 0;
}
