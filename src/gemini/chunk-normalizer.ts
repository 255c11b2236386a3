import type { GenerateContentResponse, GroundingChunk, Part, UsageMetadata } from '@google/generative-ai';
import { citedSources } from '../protocol/citations';
import type { ChatEvent, DoneEvent, PartEvent, Source, TerminalEvent, ToolCallEvent, ToolResultEvent, Usage } from '../protocol/events';
import { newCallId } from '../protocol/tool-call-id';
import { toErrorEvent } from './error-mapping';
import { GeminiError } from './gemini-error';
import { CODE_EXECUTION } from './tool-parts';
import type { UsageMeter } from './usage-meter';

/** What the adapter's stream carries: Gemini's chunks, and at most one failure, last. */
export type UpstreamItem = GenerateContentResponse | GeminiError;

/** An in-stream error object, as Gemini sends it inside a `data:` frame. */
interface InStreamError {
  error?: { code?: number; message?: string; status?: string };
}

/** Fields of a chunk the SDK's 0.24.1 types lack (its per-chunk iterator passes them through). */
interface ChunkExtras {
  /** The model that answered, e.g. `gemini-3.5-flash-lite` for a call to a rerouted `gemini-2.5-flash`. */
  modelVersion?: string;
}

/**
 * A part as Gemini sends it: the SDK's 0.24.1 types lack `thought`, `thoughtSignature` and the
 * server-side tool parts of `includeServerSideToolInvocations` (2026-03-17).
 */
type RawPart = Part & {
  thought?: boolean;
  thoughtSignature?: string;
  toolCall?: { id?: string; toolType?: string; args?: unknown };
  toolResponse?: { id?: string; toolType?: string; response?: unknown };
};

/** A candidate's fields the SDK's 0.24.1 types lack. */
interface CandidateExtras {
  /** URL context's retrievals (ai.google.dev/gemini-api/docs/url-context). */
  urlContextMetadata?: { urlMetadata?: UrlMetadata[] };
}

/** One URL that URL context tried, and how that went. */
interface UrlMetadata {
  retrievedUrl?: unknown;
  urlRetrievalStatus?: unknown;
}

/** What one part of a chunk makes: a piece of text or thought, a function call, or a step of Gemini's own tools. */
type OutputEvent = PartEvent | ToolCallEvent | ToolResultEvent;

/** Usage counts newer than the SDK's types. */
type FullUsageMetadata = UsageMetadata & {
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
  // Not in the SDK 0.24.1 types; Gemini sends it (docs/fake-gemini.md, "Files").
  promptTokensDetails?: Array<{ modality?: unknown; tokenCount?: unknown }>;
};

/**
 * Turns Gemini's chunks into chat events: a `text` event per chunk that has
 * answer text and a `thought` event per chunk that has thought-summary text
 * (both, in Gemini's order, for a chunk that has both), then exactly one
 * terminal event — `done` with the last finish reason and usage Gemini
 * reported, or `error`. Thought text never reaches a `text` event.
 *
 * A `functionCall` part makes a `tool-call` event, with an id of the Worker's own and the
 * signature it came with (Gemini 3 signs the first call of each step): such an event is made
 * whatever `keepSignatures` says, since a call is worth nothing without its signature.
 *
 * With `geminiSteps`, the parts of Gemini's built-in tools make `tool-call` / `tool-result`
 * events marked `runsOn: 'gemini'` (they are records of what Gemini ran, not calls to make):
 * `executableCode` a call named `code_execution` with `{ language, code }`, the
 * `codeExecutionResult` after it its result `{ outcome, output }`; a server-side `toolCall` /
 * `toolResponse` a call and result named by its `toolType` in lower case, with Gemini's `id`.
 * Without it (the stateless routes, which declare no built-in tools) those parts are skipped;
 * the text around them still streams. URL context's successfully retrieved URLs join
 * `done.sources` after grounding's.
 *
 * Thought signatures ride on the event of the part they came on. A signed
 * part with no text (Gemini 3 ends an answer with one) makes an event only
 * with `keepSignatures`: for the chat store, which sends signatures back; a
 * stateless stream has nowhere to keep them.
 *
 * It is a plain object, not a stream stage: the adapter's pull calls it inline
 * (a `TransformStream` here cost a pipe hop, several promise turns, per chunk:
 * bench/NOTES.md). It reads `candidates[0].content.parts` itself: the SDK's
 * `text()` throws on SAFETY and RECITATION stops and hides in-stream error objects.
 *
 * @example
 * const event = normalizer.next(chunk); // a text event, a terminal error, or undefined
 * if (upstreamEnded) events.push(normalizer.end());
 */
export class ChunkNormalizer {
  private finishReason: string | undefined;
  private usage: UsageMetadata | undefined;
  /** The last `modelVersion` Gemini reported. */
  private model: string | undefined;
  /** Grounding sources by URL, in the order Gemini first named them. */
  private sources: Map<string, Source> | undefined;

  /** The events of a chunk after the first, for a chunk of several parts of different kinds; taken by {@link take}. */
  private readonly queued: OutputEvent[] = [];

  /** The answer's text so far, kept only when there are pages to find citations of. */
  private answer = '';

  /** The last code-execution call, which the next `codeExecutionResult` answers. */
  private codeCall: string | undefined;
  /** Sources URL context named by their host only, until grounding gives them a title. */
  private titledByHost: Set<string> | undefined;
  /** The last server-side `toolCall`'s id, which a `toolResponse` without one answers. */
  private serverCall: string | undefined;

  /**
   * @param meter sees each chunk's usage and text, so an answer cut short can still be charged
   * @param keepSignatures make an event of a signed part that has no text, so the signature is kept
   * @param pages a site assistant's pages: the answer's `[n]` markers become `done.sources`
   * @param geminiSteps make events of Gemini's built-in tool parts (the chat store records them)
   */
  constructor(
    private readonly meter?: UsageMeter,
    private readonly keepSignatures = false,
    private readonly pages: readonly Source[] = [],
    private readonly geminiSteps = false,
  ) {}

  /** The next event of the last chunk, when it made more than one (a thought, then text). */
  take(): OutputEvent | undefined {
    return this.queued.shift();
  }

  /**
   * The event one upstream item makes: a `text` or `thought` event, nothing (a
   * chunk without text), or the terminal `error` when the item is a failure —
   * after which the answer is over. A chunk of several kinds of part makes
   * more events: read them with {@link take} before the next chunk.
   */
  next(item: UpstreamItem): ChatEvent | undefined {
    const problem = item instanceof GeminiError ? item : chunkProblem(item);
    if (problem) return toErrorEvent(problem);
    const chunk = item as GenerateContentResponse;
    if (chunk.usageMetadata) this.usage = chunk.usageMetadata;
    // A field read per chunk, no copy: the hot path stays allocation-free.
    const model = (chunk as ChunkExtras).modelVersion;
    // Checked: a non-string here would make the `done` frame one that clients refuse.
    if (typeof model === 'string' && model) this.model = model;
    const candidate = chunk.candidates?.[0];
    const parts = candidate?.content?.parts as RawPart[] | undefined;
    // The common chunk, one part, makes its event with no array and no copy.
    const event = parts === undefined ? undefined : parts.length === 1 ? this.partEvent(parts[0]!) : this.partsEvents(parts);
    this.meter?.note(chunk.usageMetadata, event ? this.written(event) : 0);
    if (event && this.pages.length) this.keepAnswer(event);
    if (!candidate) return undefined;
    // Older models repeat finishReason on every chunk; the last one counts.
    if (candidate.finishReason) this.finishReason = candidate.finishReason;
    // Grounding metadata comes on a chunk of its own (content: {}), after the text.
    if (candidate.groundingMetadata?.groundingChunks) this.noteSources(candidate.groundingMetadata.groundingChunks);
    const retrieved = (candidate as CandidateExtras).urlContextMetadata?.urlMetadata;
    if (Array.isArray(retrieved)) this.noteRetrieved(retrieved);
    return event;
  }

  /** Adds a chunk's answer text to what citations are read from. */
  private keepAnswer(first: OutputEvent): void {
    if (first.type === 'text') this.answer += first.text;
    for (const event of this.queued) if (event.type === 'text') this.answer += event.text;
  }

  /** Characters of text a chunk's events carry (the meter's estimate of an unfinished answer's output). */
  private written(first: OutputEvent): number {
    let length = chars(first);
    for (const event of this.queued) length += chars(event);
    return length;
  }

  /** A part's event: its text as answer or thought, or its function call, with its signature; none for a part with neither. */
  private partEvent(part: RawPart): OutputEvent | undefined {
    if (part.functionCall) return callEvent(part);
    // A text part (the hot path) is none of Gemini's tool parts: only other parts are looked at.
    // Code the model ran while thinking (`thought: true`, as pydantic-ai-code-execution-2.5-pro-stream.sse
    // shows) is part of its thoughts, not a step of the answer: it goes the thought parts' way.
    if (typeof part.text !== 'string' && part.thought !== true && (part.executableCode || part.codeExecutionResult || part.toolCall || part.toolResponse)) {
      return this.geminiSteps ? this.stepEvent(part) : undefined;
    }
    const text = typeof part.text === 'string' ? part.text : '';
    const signature = typeof part.thoughtSignature === 'string' && part.thoughtSignature ? part.thoughtSignature : undefined;
    if (!text && !(signature && this.keepSignatures)) return undefined;
    const event: PartEvent = { type: part.thought === true ? 'thought' : 'text', text };
    if (signature) event.signature = signature;
    return event;
  }

  /**
   * The events of a chunk of several parts: neighbours of one kind joined into
   * one event, except that a signed part stays whole (Gemini: a signature
   * belongs to the part it came on; never merge it with another). The first is
   * returned, the rest queued.
   */
  private partsEvents(parts: RawPart[]): OutputEvent | undefined {
    const events: OutputEvent[] = [];
    for (const part of parts) {
      const event = this.partEvent(part);
      if (!event) continue;
      const last = events.at(-1);
      // Calls are never joined: each is one call, as Gemini sent it.
      if (last && (last.type === 'text' || last.type === 'thought') && last.type === event.type && !last.signature && !event.signature) last.text += (event as PartEvent).text;
      else events.push(event);
    }
    const first = events.shift();
    this.queued.push(...events);
    return first;
  }

  /** The terminal event once Gemini's stream has ended: `done`, or `upstream_incomplete` without a finish reason. */
  end(): TerminalEvent {
    const failed = this.finishReason && failedCallMessage(this.finishReason);
    if (failed) return { type: 'error', code: 'tool_call_failed', message: failed };
    if (this.finishReason) {
      const done: DoneEvent = { type: 'done', finishReason: this.finishReason, usage: toUsage(this.usage) };
      // An assistant's cited pages first (a marker split across chunks is whole by now), then any grounding.
      const sources = [...(this.pages.length ? citedSources(this.answer, this.pages) : []), ...(this.sources?.values() ?? [])];
      if (sources.length) done.sources = sources;
      if (this.model) done.model = this.model;
      return done;
    }
    return toErrorEvent(
      new GeminiError('stream', 'Gemini ended the answer without a finish reason', { code: 'upstream_incomplete' }),
    );
  }

  /**
   * A built-in tool's part as a step Gemini ran: its call (`executableCode`, `toolCall`) or its
   * result (`codeExecutionResult`, answering the code before it; `toolResponse`, by `id`).
   */
  private stepEvent(part: RawPart): ToolCallEvent | ToolResultEvent {
    let event: ToolCallEvent | ToolResultEvent;
    if (part.executableCode) {
      const { language, code } = part.executableCode;
      this.codeCall = newCallId();
      event = { type: 'tool-call', toolCallId: this.codeCall, name: CODE_EXECUTION, args: { language, code }, runsOn: 'gemini' };
    } else if (part.codeExecutionResult) {
      const { outcome, output } = part.codeExecutionResult;
      const result: Record<string, unknown> = { outcome };
      if (output !== undefined) result.output = output;
      event = { type: 'tool-result', toolCallId: this.codeCall ?? newCallId(), name: CODE_EXECUTION, result, runsOn: 'gemini' };
      this.codeCall = undefined;
    } else if (part.toolCall) {
      const { id, toolType, args } = part.toolCall;
      const record = args && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : {};
      this.serverCall = typeof id === 'string' && id ? id : newCallId();
      event = { type: 'tool-call', toolCallId: this.serverCall, name: String(toolType ?? '').toLowerCase(), args: record, runsOn: 'gemini' };
    } else {
      // Paired by Gemini's id, else with the server-side call before it (as code results are).
      const { id, toolType, response } = part.toolResponse!;
      event = { type: 'tool-result', toolCallId: typeof id === 'string' && id ? id : (this.serverCall ?? newCallId()), name: String(toolType ?? '').toLowerCase(), result: response ?? null, runsOn: 'gemini' };
      this.serverCall = undefined;
    }
    if (typeof part.thoughtSignature === 'string' && part.thoughtSignature) event.signature = part.thoughtSignature;
    return event;
  }

  /** URL context's pages: each URL Gemini retrieved (`URL_RETRIEVAL_STATUS_SUCCESS`) is a source, once. */
  private noteRetrieved(entries: UrlMetadata[]): void {
    for (const entry of entries) {
      const url = entry?.retrievedUrl;
      if (typeof url !== 'string' || !url || entry.urlRetrievalStatus !== 'URL_RETRIEVAL_STATUS_SUCCESS') continue;
      this.sources ??= new Map();
      if (this.sources.has(url)) continue;
      this.sources.set(url, { title: hostOf(url), url });
      (this.titledByHost ??= new Set()).add(url);
    }
  }

  /** Keeps each web source once, by URL; a source without a URL is no link, and is left out. */
  private noteSources(chunks: GroundingChunk[]): void {
    for (const { web } of chunks) {
      const url = web?.uri;
      if (!url) continue;
      this.sources ??= new Map();
      // URL context's metadata comes first (pydantic-ai-url-context-2.5-flash-stream.sse): a page it
      // named by its host gets grounding's title, in its place.
      if (this.sources.has(url) && !(web.title && this.titledByHost?.delete(url))) continue;
      this.sources.set(url, { title: web.title || url, url });
    }
  }
}

/** Characters an event carries: its text, or a call's arguments (a result's value) as JSON (only tool steps pay for the JSON). */
function chars(event: OutputEvent): number {
  if (event.type === 'tool-call') return JSON.stringify(event.args).length + event.name.length;
  if (event.type === 'tool-result') return (JSON.stringify(event.result) ?? '').length + event.name.length;
  return event.text.length;
}

/** A retrieved URL's title: its host, as grounding's sources are titled by their domain. */
function hostOf(url: string): string {
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}

/**
 * A `functionCall` part as a `tool-call` event. Its id is the Worker's, `call_` and 16 random
 * base64url characters (the OpenAI API's ids carry signatures after it); Gemini's own `id`, which
 * Gemini 3 sets on every call and wants back on the call's `functionResponse`, is kept beside it.
 */
function callEvent(part: RawPart): ToolCallEvent {
  const call = part.functionCall! as RawPart['functionCall'] & { id?: unknown };
  const args = call.args && typeof call.args === 'object' && !Array.isArray(call.args) ? (call.args as Record<string, unknown>) : {};
  const event: ToolCallEvent = { type: 'tool-call', toolCallId: newCallId(), name: String(call.name ?? ''), args };
  if (typeof call.id === 'string' && call.id) event.geminiId = call.id;
  if (typeof part.thoughtSignature === 'string' && part.thoughtSignature) event.signature = part.thoughtSignature;
  return event;
}

/**
 * The failure a chunk reports instead of content: an in-stream error object
 * (which the SDK passes through as an empty chunk) or a blocked prompt.
 */
export function chunkProblem(chunk: GenerateContentResponse): GeminiError | undefined {
  const error = (chunk as InStreamError).error;
  if (error) {
    // Google's own message is not passed on (see httpMessage): the code and status say enough.
    const label = [error.code, error.status].filter(Boolean).join(' ');
    const message = `Gemini failed mid-answer${label ? ` (${label})` : ''}`;
    return new GeminiError('http', message, {
      status: error.code,
      statusText: error.status,
    });
  }
  const blockReason = chunk.promptFeedback?.blockReason;
  if (blockReason && !chunk.candidates?.length) {
    return new GeminiError('blocked', `Gemini blocked the prompt (blockReason ${blockReason})`, { reason: blockReason });
  }
  return undefined;
}

function toUsage(metadata: FullUsageMetadata | undefined): Usage {
  const usage: Usage = {
    promptTokenCount: metadata?.promptTokenCount ?? 0,
    candidatesTokenCount: metadata?.candidatesTokenCount ?? 0,
    totalTokenCount: metadata?.totalTokenCount ?? 0,
  };
  if (metadata?.thoughtsTokenCount) usage.thoughtsTokenCount = metadata.thoughtsTokenCount;
  if (metadata?.cachedContentTokenCount) usage.cachedContentTokenCount = metadata.cachedContentTokenCount;
  if (metadata?.toolUsePromptTokenCount) usage.toolUsePromptTokenCount = metadata.toolUsePromptTokenCount;
  // By modality only when the prompt had more than text (files): a text prompt's split says nothing new.
  const details = metadata?.promptTokensDetails;
  if (Array.isArray(details) && details.some((d) => d?.modality !== 'TEXT')) {
    usage.promptTokensDetails = details.map((d) => ({ modality: String(d?.modality), tokenCount: Number(d?.tokenCount) || 0 }));
  }
  return usage;
}

/**
 * The error for an answer Gemini ended on a function call it could not make: MALFORMED_FUNCTION_CALL
 * ("The function call generated by the model is invalid") or UNEXPECTED_TOOL_CALL (a call of a
 * function the request did not allow). The answer has nothing to show (an empty `done` would read as an
 * answer on every protocol), so it ends as the error `tool_call_failed` (502 where a status is
 * still possible), which the `openai` client retries on its own (agent frameworks retry such
 * turns too: pydantic-ai#3095). Undefined for any other reason.
 */
function failedCallMessage(geminiReason: string): string | undefined {
  if (geminiReason === 'MALFORMED_FUNCTION_CALL') return 'Gemini ended the answer on a malformed function call (MALFORMED_FUNCTION_CALL); asking again usually works';
  if (geminiReason === 'UNEXPECTED_TOOL_CALL') return 'Gemini called a function the request did not allow (UNEXPECTED_TOOL_CALL); asking again usually works';
  return undefined;
}
