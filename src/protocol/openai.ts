/**
 * The OpenAI Chat Completions wire shapes `/v1/*` answers with, and how this
 * project's events map onto them: finish reasons, usage, sources and errors.
 * Only the fields the Worker sends; the official `openai` client reads them.
 */
import { isFilteredFinish, type ErrorCode, type Source, type ToolCallEvent, type Usage } from './events.js';
import { wireToolCallId } from './tool-call-id.js';

/** OpenAI's `finish_reason` values that Gemini's reasons map to. */
export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls';

/**
 * OpenAI's finish reason for Gemini's: STOP → `stop`, or `tool_calls` when the
 * answer called functions; MAX_TOKENS → `length`; TOO_MANY_TOOL_CALLS ("the
 * model called too many tools consecutively") → `tool_calls` when calls came,
 * else `length` (a limit ended it); a safety or policy stop → `content_filter`;
 * anything else (OTHER, newer values) → `stop`, since the answer simply ended.
 * MALFORMED_FUNCTION_CALL and UNEXPECTED_TOOL_CALL never come here: the adapter makes them a
 * `tool_call_failed` error (src/gemini/chunk-normalizer.ts).
 */
export function finishReasonOf(geminiReason: string, calledTools = false): FinishReason {
  if (calledTools && (geminiReason === 'STOP' || geminiReason === 'TOO_MANY_TOOL_CALLS')) return 'tool_calls';
  if (geminiReason === 'MAX_TOKENS' || geminiReason === 'TOO_MANY_TOOL_CALLS') return 'length';
  // LANGUAGE (a language Gemini does not serve) is no safety stop, but it is a filter, and `stop` would hide the cut.
  return isFilteredFinish(geminiReason) || geminiReason === 'LANGUAGE' ? 'content_filter' : 'stop';
}


/** A function call as OpenAI's `tool_calls` entry, its id carrying the call's signature (tool-call-id.ts). */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A call event as OpenAI's `tool_calls` entry: the arguments as JSON text. */
export function toolCallOf(event: ToolCallEvent): ToolCall {
  return { id: wireToolCallId(event.toolCallId, event.signature), type: 'function', function: { name: event.name, arguments: JSON.stringify(event.args) } };
}

export interface CompletionUsage {
  prompt_tokens: number;
  /** Answer and thinking tokens: what OpenAI counts as completion (reasoning included). */
  completion_tokens: number;
  total_tokens: number;
  /** Cached prompt tokens; with files, the prompt's tokens by modality (OpenAI's names; a PDF's count as image tokens). */
  prompt_tokens_details?: { cached_tokens?: number; text_tokens?: number; image_tokens?: number; audio_tokens?: number };
  completion_tokens_details?: { reasoning_tokens: number };
}

/**
 * Gemini's token counts in OpenAI's terms. Tool-use prompt tokens (the results
 * of Gemini's own tools, such as Search) are input: they count as prompt tokens,
 * so that prompt and completion add up to the total, as OpenAI's do.
 */
export function usageOf(usage: Usage): CompletionUsage {
  const reasoning = usage.thoughtsTokenCount ?? 0;
  const result: CompletionUsage = {
    prompt_tokens: usage.promptTokenCount + (usage.toolUsePromptTokenCount ?? 0),
    completion_tokens: usage.candidatesTokenCount + reasoning,
    total_tokens: usage.totalTokenCount,
  };
  if (usage.cachedContentTokenCount) result.prompt_tokens_details = { cached_tokens: usage.cachedContentTokenCount };
  if (usage.promptTokensDetails) {
    const details = (result.prompt_tokens_details ??= {});
    for (const { modality, tokenCount } of usage.promptTokensDetails) {
      // OpenAI has no document modality: a PDF is read as page images, so its tokens are image tokens.
      const field = modality === 'TEXT' ? 'text_tokens' : modality === 'AUDIO' ? 'audio_tokens' : modality === 'IMAGE' || modality === 'DOCUMENT' ? 'image_tokens' : undefined;
      if (field) details[field] = (details[field] ?? 0) + tokenCount;
    }
  }
  if (reasoning) result.completion_tokens_details = { reasoning_tokens: reasoning };
  return result;
}

/** A source as OpenAI's web-search citation; it cites the whole answer (Gemini's spans are not kept). */
export interface UrlCitation {
  type: 'url_citation';
  url_citation: { url: string; title: string; start_index: number; end_index: number };
}

/** The sources of a grounded answer as `annotations`, each citing the answer's `length` characters. */
export function annotationsOf(sources: readonly Source[], length: number): UrlCitation[] {
  return sources.map(({ url, title }) => ({ type: 'url_citation', url_citation: { url, title, start_index: 0, end_index: length } }));
}

export interface AssistantMessage {
  role: 'assistant';
  /** null when the answer is only function calls, as OpenAI answers. */
  content: string | null;
  /**
   * The model's thought summary, when thoughts are shown: the field DeepSeek's
   * API introduced and OpenAI-compatible clients read (OpenAI's own API does
   * not return its reasoning).
   */
  reasoning_content?: string;
  refusal: null;
  annotations?: UrlCitation[];
  tool_calls?: ToolCall[];
}

/** The answer of `POST /v1/chat/completions` without `stream`. */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: [{ index: 0; message: AssistantMessage; finish_reason: FinishReason; logprobs: null }];
  usage: CompletionUsage;
}

export interface ChunkDelta {
  role?: 'assistant';
  content?: string;
  /** A piece of the thought summary, streamed before (or between) the `content` pieces. */
  reasoning_content?: string;
  annotations?: UrlCitation[];
  /** A call's first chunk has its index, id, type and name (arguments ""); the next its arguments. */
  tool_calls?: Array<{ index: number; id?: string; type?: 'function'; function: { name?: string; arguments: string } }>;
}

/** One `data:` frame of a streamed answer; `choices` is empty in the usage chunk. */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: [{ index: 0; delta: ChunkDelta; finish_reason: FinishReason | null; logprobs: null }] | [];
  /** With `stream_options.include_usage`: null on every chunk but the last, which has `choices: []`. */
  usage?: CompletionUsage | null;
}

/** OpenAI's error `type`s, by what went wrong. */
export type OpenAiErrorType = 'invalid_request_error' | 'requests' | 'insufficient_quota' | 'server_error';

/** The body of every `/v1/*` error, and of an error frame mid-stream. */
export interface OpenAiErrorBody {
  error: { message: string; type: OpenAiErrorType; code: string | null; param: string | null };
}

/**
 * OpenAI's `code` for ours, where OpenAI has one for the same case (clients
 * switch on these); otherwise this project's code is passed on.
 */
const OPENAI_CODES: Partial<Record<ErrorCode, string>> = {
  blocked: 'content_filter',
  not_found: 'unknown_url',
  rate_limited: 'rate_limit_exceeded',
  // Gemini's quota for the Worker's key: to the caller, a rate limit like ours (429, honour Retry-After).
  upstream_quota: 'rate_limit_exceeded',
  budget_exhausted: 'insufficient_quota',
  deployment_budget_exhausted: 'insufficient_quota',
  model_unavailable: 'model_not_found',
};

/**
 * An error in OpenAI's shape. `openAiCode` overrides the code derived from
 * ours (`model_not_found`, `context_length_exceeded`, …).
 */
export function openAiError(status: number, code: ErrorCode, message: string, param: string | null = null, openAiCode?: string): OpenAiErrorBody {
  return { error: { message, type: errorType(status, code), code: openAiCode ?? OPENAI_CODES[code] ?? code, param } };
}

/** As OpenAI types them: a bad key is an `invalid_request_error` too (code `invalid_api_key`). */
function errorType(status: number, code: ErrorCode): OpenAiErrorType {
  if (code === 'budget_exhausted' || code === 'deployment_budget_exhausted') return 'insufficient_quota';
  if (code === 'rate_limited' || code === 'upstream_quota') return 'requests';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}
