/**
 * The chat event protocol, shared by the Worker, the chat Durable Object and
 * the browser client. On the wire each event is one SSE frame:
 *
 * ```
 * event: thought
 * data: {"thought":"**Reading the question**\n\nThe user asks…"}
 *
 * event: text
 * data: {"text":"Hel"}
 *
 * event: done
 * data: {"done":true,"finishReason":"STOP","usage":{"promptTokenCount":7,"candidatesTokenCount":3,"totalTokenCount":10},"model":"gemini-3.8-flash"}
 * ```
 * (`thought` frames, a summary of the model's thinking, come only when asked for
 * with `thinking.show`, before or between the `text` frames: never part of the answer;
 * `done` carries `"sources":[{"title","url"}]` too when Gemini grounded the answer,
 * and `"model"` when Gemini named the model that answered)
 * or, instead of `done`, `event: error` / `data: {"error":{"code":"…","message":"…"}}`.
 */

/** Token counts as Gemini reports them for the whole turn. */
export interface Usage {
  promptTokenCount: number;
  candidatesTokenCount: number;
  totalTokenCount: number;
  /** Tokens spent thinking (Gemini 2.5 and 3 models think; billed as output), when Gemini reports them. */
  thoughtsTokenCount?: number;
  /** Prompt tokens served from Gemini's context cache, when reported. */
  cachedContentTokenCount?: number;
  /** Tokens of tool-use prompts (the results of Gemini's own tools, such as Google Search), when reported. */
  toolUsePromptTokenCount?: number;
  /** The prompt's tokens by modality (TEXT, IMAGE, AUDIO, VIDEO, DOCUMENT), as Gemini reports them, when the prompt had files: what they cost. */
  promptTokensDetails?: ModalityTokenCount[];
}

/** Tokens of one modality: Gemini's `ModalityTokenCount`. */
export interface ModalityTokenCount {
  modality: string;
  tokenCount: number;
}

/** Stable, snake_case error codes. Clients may switch on them. */
export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'model_not_allowed'
  | 'too_large'
  | 'unsupported_media_type'
  | 'not_found'
  | 'method_not_allowed'
  | 'blocked'
  /** This Worker's own per-client limit (RATE_LIMIT_PER_MINUTE, CHAT_CREATE_PER_MINUTE), not Gemini's: see `upstream_quota`. */
  | 'rate_limited'
  | 'budget_exhausted'
  /** The deployment's own cap (DEPLOYMENT_DAILY_TOKEN_BUDGET, DEPLOYMENT_MONTHLY_TOKEN_BUDGET), all clients together: the chat rests until it resets. */
  | 'deployment_budget_exhausted'
  /** The client's daily upload allowance (DAILY_UPLOAD_BYTES) has too little left for the file. */
  | 'upload_budget_exhausted'
  /** The chat already holds as many files waiting to be sent as it may (twice MAX_FILES_PER_MESSAGE). */
  | 'too_many_files'
  | 'not_configured'
  | 'config_invalid'
  | 'upstream_error'
  /** Gemini refused the Worker's key (401/403, an invalid or a standard key). */
  | 'upstream_auth'
  /** Gemini's quota for the Worker's key is used up (its 429), or the key's project has none for the model. */
  | 'upstream_quota'
  /** Gemini does not serve the model to this key (its 404): the message names the model and, when known, its replacement. */
  | 'model_unavailable'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'upstream_malformed'
  | 'upstream_disconnected'
  | 'upstream_incomplete'
  /** Gemini ended the answer on a function call it could not make (MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL): asking again usually works. */
  | 'tool_call_failed'
  | 'cancelled'
  /** A stored chat's site assistant is no longer deployed (removed or renamed): start a new chat. */
  | 'assistant_gone'
  | 'turn_in_progress'
  | 'interrupted'
  | 'origin_not_allowed'
  /** Turnstile is on and the request showed no valid token or session: missing, refused, expired or used before (docs/turnstile.md). */
  | 'challenge_failed'
  /** Turnstile's siteverify could not say (unreachable, or it refused the Worker's secret key): nothing was spent. */
  | 'challenge_unavailable'
  /** `/v1/*`: the `Authorization: Bearer` key is missing or not one of OPENAI_COMPAT_KEYS; `/admin/api/stats`: neither ADMIN_KEY nor a session. */
  | 'invalid_api_key'
  | 'internal_error'
  // Set by the browser client, never sent by the Worker:
  /** The Worker could not be reached, or the connection broke and could not be resumed. */
  | 'network_error'
  /** The answer was not this protocol (a proxy's error page, say). */
  | 'invalid_response';

/** A web page Gemini grounded the answer on (Google Search grounding). */
export interface Source {
  title: string;
  url: string;
}

/**
 * A piece of the answer. `signature` is Gemini's thought signature when it came
 * on this piece (Gemini 3 signs the end of an answer): the chat store keeps it
 * to send back with the history. It never goes on the wire, and a piece with a
 * signature and no text is made only for a reader that keeps signatures.
 */
export type TextEvent = { type: 'text'; text: string; signature?: string };
/**
 * A piece of the model's thought summary (`thinking.show`): what it is
 * thinking about, as Gemini summarises it, never part of the answer.
 * `signature` as on {@link TextEvent}.
 */
export type ThoughtEvent = { type: 'thought'; text: string; signature?: string };
/**
 * A function call the model made (issue 22): a request that declared functions (the OpenAI API's
 * `tools`) may get these instead of, or after, text. Gemini sends each call whole, never in
 * pieces. `toolCallId` is made by the Worker (`call_…`; Gemini's calls carry none that it checks);
 * `args` is the call's arguments as Gemini gave them; `signature` is Gemini's thought signature
 * when it came on this call (Gemini 3 signs the first call of each step): it must go back with
 * the call, exactly, or Gemini refuses the next request (400). An answer that ends in calls ends
 * with `done` and Gemini's own finish reason (STOP): each protocol tells a tool-call stop from the
 * calls before it (OpenAI's `finish_reason: "tool_calls"`). On this project's own wire (a
 * stored chat whose assistant has tools): `event: tool-call`, `{"toolCallId","name","args"}`, and
 * `"runsOn":"page"` for a call the page runs (the turn waits for its result:
 * `POST /api/chats/:id/tool-results`); the signature and `geminiId` (Gemini 3's own id for the
 * call, which goes back on its `functionResponse`) never go on the wire.
 */
export type ToolCallEvent = { type: 'tool-call'; toolCallId: string; name: string; args: Record<string, unknown>; signature?: string; runsOn?: ToolRunner; geminiId?: string };
/**
 * Who runs a call, when not the Worker (an assistant's tool on its owner's endpoint, or the
 * caller of a stateless route): `gemini` for Gemini's built-in tools, which Gemini ran before it
 * answered (code execution: `code_execution`, `{ language, code }`, its result `{ outcome,
 * output }`); `page` for tools the page runs. On the wire as `"runsOn"`; absent: the Worker's.
 */
export type ToolRunner = 'page' | 'gemini';
/**
 * What a function call returned (a stored chat's assistant tool, run by the chat's Durable
 * Object): `event: tool-result`, `{"toolCallId","name","result"}`, or `{"toolCallId","name","error"}`
 * when the call failed (the endpoint timed out, refused, answered too much or not JSON). Either
 * way the model gets it and the turn goes on. A built-in tool's result (`runsOn: 'gemini'`) comes
 * in Gemini's own stream instead, with the thought signature it may carry (never on the wire).
 */
export type ToolResultEvent = { type: 'tool-result'; toolCallId: string; name: string; runsOn?: ToolRunner; signature?: string } & ({ result: unknown; error?: undefined } | { error: string; result?: undefined });
/**
 * `finishReason` is passed through as Gemini gave it: STOP, MAX_TOKENS, SAFETY, RECITATION, or newer values.
 * `sources`, only when Gemini grounded the answer: the pages, deduplicated, in Gemini's order.
 * `model`, when Gemini reported it (`modelVersion`): the model that actually answered, which differs
 * from the one asked for when Gemini reroutes a name (an alias, a retired model served by its successor).
 */
export type DoneEvent = { type: 'done'; finishReason: string; usage: Usage; sources?: Source[]; model?: string };
export type ErrorEvent = { type: 'error'; code: ErrorCode; message: string };

/** Gemini's finish reasons for an answer a safety or policy filter stopped (images included). */
const FILTERED_FINISH_REASONS = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

/** Whether a safety or policy filter stopped the answer: what each protocol (and the widget) reports as a filtered stop. */
export function isFilteredFinish(finishReason: string): boolean {
  return FILTERED_FINISH_REASONS.has(finishReason);
}
export type ChatEvent = TextEvent | ThoughtEvent | ToolCallEvent | ToolResultEvent | DoneEvent | ErrorEvent;
/** The events that carry a piece of the message: the answer's text, or the thought summary's. */
export type PartEvent = TextEvent | ThoughtEvent;

/** Whether the event ends the answer (`done` or `error`): nothing follows it. */
export function isTerminal(event: ChatEvent): event is TerminalEvent {
  return event.type === 'done' || event.type === 'error';
}
export type TerminalEvent = DoneEvent | ErrorEvent;

/**
 * A page call no longer open (answered, or its turn over), as a replay sends it: without
 * `runsOn: "page"`, so no page runs it again — the `tool-result` frame after it still says who ran it.
 */
export function closedCall(event: ToolCallEvent): ToolCallEvent {
  if (event.runsOn !== 'page') return event;
  const { runsOn: _page, ...record } = event;
  return record;
}

/** The SSE `event:` name and `data:` payload of an event. */
export function eventData(event: ChatEvent): string {
  switch (event.type) {
    case 'text':
      return JSON.stringify({ text: event.text });
    case 'thought':
      return JSON.stringify({ thought: event.text });
    case 'done': {
      const data: Record<string, unknown> = { done: true, finishReason: event.finishReason, usage: event.usage };
      if (event.sources?.length) data.sources = event.sources;
      if (event.model !== undefined) data.model = event.model;
      return JSON.stringify(data);
    }
    case 'error':
      return JSON.stringify({ error: { code: event.code, message: event.message } });
    case 'tool-call':
      return JSON.stringify({ toolCallId: event.toolCallId, name: event.name, args: event.args, ...(event.runsOn ? { runsOn: event.runsOn } : {}) });
    case 'tool-result':
      return JSON.stringify({
        toolCallId: event.toolCallId,
        name: event.name,
        ...(event.error !== undefined ? { error: event.error } : { result: event.result ?? null }),
        ...(event.runsOn ? { runsOn: event.runsOn } : {}),
      });
  }
}

/** An event as it comes off the wire: a call's thought signature never goes on it. */
export type WireEvent = Exclude<ChatEvent, ToolCallEvent> | Omit<ToolCallEvent, 'signature' | 'geminiId'>;

/**
 * Reads one frame's `data:` JSON back into an event, checking every field:
 * `null` when it is not one of the six shapes. The SSE `event:` name, when
 * given, must agree with the payload.
 */
export function parseEventData(data: string, name?: string): WireEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isRecord(value)) return null;
  let event: WireEvent | null = null;
  if (typeof value.toolCallId === 'string' && typeof value.name === 'string') {
    const { runsOn } = value;
    if (runsOn !== undefined && runsOn !== 'page' && runsOn !== 'gemini') return null;
    if (isRecord(value.args)) event = { type: 'tool-call', toolCallId: value.toolCallId, name: value.name, args: value.args };
    else if (typeof value.error === 'string') event = { type: 'tool-result', toolCallId: value.toolCallId, name: value.name, error: value.error };
    else if ('result' in value) event = { type: 'tool-result', toolCallId: value.toolCallId, name: value.name, result: value.result };
    if (event && runsOn) (event as ToolCallEvent | ToolResultEvent).runsOn = runsOn;
  } else if (typeof value.text === 'string') {
    event = { type: 'text', text: value.text };
  } else if (typeof value.thought === 'string') {
    event = { type: 'thought', text: value.thought };
  } else if (value.done === true && typeof value.finishReason === 'string' && isUsage(value.usage)) {
    const { sources, model } = value;
    if (sources !== undefined && !isSourceList(sources)) return null;
    // Older Workers send no model; when there is one, it is a string.
    if (model !== undefined && typeof model !== 'string') return null;
    const done: DoneEvent = { type: 'done', finishReason: value.finishReason, usage: value.usage };
    if (sources?.length) done.sources = sources;
    if (model !== undefined) done.model = model;
    event = done;
  } else if (isRecord(value.error) && typeof value.error.code === 'string' && typeof value.error.message === 'string') {
    // A newer Worker may send codes this client does not know: they pass through as they are.
    event = { type: 'error', code: value.error.code as ErrorCode, message: value.error.message };
  }
  if (event && name !== undefined && name !== event.type) return null;
  return event;
}

const USAGE_COUNTS = ['promptTokenCount', 'candidatesTokenCount', 'totalTokenCount'] as const;
const OPTIONAL_USAGE_COUNTS = ['thoughtsTokenCount', 'cachedContentTokenCount', 'toolUsePromptTokenCount'] as const;

function isUsage(value: unknown): value is Usage {
  if (!isRecord(value)) return false;
  const count = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  return USAGE_COUNTS.every((key) => count(value[key])) && OPTIONAL_USAGE_COUNTS.every((key) => value[key] === undefined || count(value[key]));
}

function isSourceList(value: unknown): value is Source[] {
  return Array.isArray(value) && value.every((s) => isRecord(s) && typeof s.title === 'string' && typeof s.url === 'string');
}

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body of every JSON error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}
