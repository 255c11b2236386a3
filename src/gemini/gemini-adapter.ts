import {
  GoogleGenerativeAI,
  GoogleGenerativeAIAbortError,
  GoogleGenerativeAIError,
  GoogleGenerativeAIFetchError,
  type Content,
  type GenerateContentResponse,
  type GenerationConfig,
  type Tool,
  type ToolConfig,
} from '@google/generative-ai';
import { isTerminal, type ChatEvent, type Source } from '../protocol/events';
import { ChunkNormalizer, chunkProblem } from './chunk-normalizer';
import { GeminiError } from './gemini-error';
import { replacementFor } from './models';
import type { UsageMeter } from './usage-meter';

/**
 * An answer as chat events, pulled one at a time: `thought` and `text`…, then one terminal
 * event. `return()` stops it early and aborts the upstream call.
 */
export type ChatEvents = AsyncIterableIterator<ChatEvent> & {
  /**
   * The whole answer, when it was over before its first event was read (a
   * one-chunk reply): a caller may then send it whole, with no stream to run.
   * Reading the iterator gives the same events.
   */
  readonly settled?: readonly ChatEvent[];
};

/** One model call, in Gemini's terms. */
export interface GeminiCall {
  model: string;
  system?: string;
  /** Alternating user/model turns, ending with the new user message. */
  contents: Content[];
  generationConfig: GenerationConfig;
  /** Functions the model may call (toGeminiTools), and how it may call them. */
  tools?: Tool[];
  toolConfig?: ToolConfig;
}

/** What the reader of an answer's events wants of them. */
export interface ReaderOptions {
  /** Signatures even on parts with no text (see ChunkNormalizer): for a reader that sends them back. */
  keepSignatures?: boolean;
  /** A site assistant's pages: the answer's citation markers become `done.sources`. */
  pages?: readonly Source[];
  /** Gemini's built-in tool parts as `runsOn: 'gemini'` steps (see ChunkNormalizer): for the chat store; others skip them. */
  geminiSteps?: boolean;
}

export interface UpstreamSettings {
  apiKey: string;
  baseUrl: string;
  /** Longest wait for the first chunk (connect, headers and first frame). */
  firstChunkTimeoutMs: number;
  /** Longest wait between two chunks. */
  idleTimeoutMs: number;
}

/**
 * Starts a streaming call to Gemini and waits for its first chunk, so that
 * everything that can fail before the answer starts (HTTP errors, a blocked
 * prompt, an error object in the first frame, an empty answer) is thrown as a
 * {@link GeminiError} while the caller can still answer with an HTTP status.
 *
 * Resolves to the answer as chat events, read one at a time: `text`…, then
 * exactly one `done` or `error`. A failure after the first chunk is that
 * `error` event, never thrown, so the caller can end its own stream with an
 * error frame. Aborting `signal`, or stopping early (`return()`, as a `break`
 * out of `for await` does), aborts the upstream request at once (it costs
 * tokens). A {@link GeminiError} given as the abort reason is what the events
 * then report.
 *
 * Each `next()` reads the SDK's iterator and normalises the chunk inline: no
 * stream stage between Gemini and the encoder, whose loop calls `next()`
 * directly (bench/NOTES.md).
 *
 * @param meter sees every chunk's usage and text: what the answer cost so far, should it be cut short
 * @param reader `keepSignatures`: make an event of a signed part with no text (the chat store keeps signatures)
 */
export async function openGeminiStream(
  call: GeminiCall,
  settings: UpstreamSettings,
  signal?: AbortSignal,
  meter?: UsageMeter,
  reader: ReaderOptions = {},
): Promise<ChatEvents> {
  const controller = new AbortController();
  const abort = (error: GeminiError) => {
    if (!controller.signal.aborted) controller.abort(error);
  };
  // The caller may say why it stopped (a cancelled chat turn); otherwise the client left.
  const onClientAbort = () =>
    abort(signal?.reason instanceof GeminiError ? signal.reason : new GeminiError('aborted', 'The client closed the connection'));
  if (signal?.aborted) onClientAbort();
  signal?.addEventListener('abort', onClientAbort);

  // One interval for the whole stream, first chunk included: a timer per chunk
  // costs more CPU than anything else the path does per chunk.
  const silence = new SilenceWatch(settings, abort);
  const settle = () => {
    silence.stop();
    signal?.removeEventListener('abort', onClientAbort);
  };
  const fail = (error: unknown) => redact(toGeminiError(error, controller.signal, call.model), settings.apiKey);

  let iterator: AsyncIterator<GenerateContentResponse>;
  let first: GenerateContentResponse;
  try {
    const result = await modelFor(call, settings).generateContentStream({ contents: call.contents }, { signal: controller.signal });
    // result.response is a tee of the same stream: unobserved, a failed stream
    // would surface as an unhandled rejection.
    result.response.catch(() => {});
    iterator = result.stream[Symbol.asyncIterator]();
    const next = await iterator.next();
    if (next.done) {
      throw new GeminiError('stream', 'Gemini ended the answer before sending anything', { code: 'upstream_incomplete' });
    }
    first = next.value;
    const problem = chunkProblem(first);
    if (problem) throw problem;
  } catch (error) {
    const failure = fail(error);
    settle();
    abort(failure); // releases the upstream connection, if it is still open
    throw failure;
  }
  silence.answered();

  const normalizer = new ChunkNormalizer(meter, reader.keepSignatures, reader.pages, reader.geminiSteps);
  let pending = normalizer.next(first);
  let over = false;
  const end = (terminal: ChatEvent): IteratorResult<ChatEvent> => {
    settle();
    over = true;
    return { done: false, value: terminal };
  };
  // A finish reason on the first chunk: most likely a one-chunk reply, whose
  // stream ends right after it. Reading that end now lets the caller send the
  // answer whole. (Older models repeat the finish reason on every chunk: then
  // the chunk read here is simply the next one, a chunk's wait for the first.)
  /** What the SDK's iterator gave after the first chunk, read ahead: a chunk, its end, or what it threw. */
  let ahead: { result: IteratorResult<GenerateContentResponse> } | { error: unknown } | undefined;
  let settled: ChatEvent[] | undefined;
  if (first.candidates?.[0]?.finishReason) {
    silence.waiting();
    try {
      ahead = { result: await iterator.next() };
    } catch (error) {
      ahead = { error };
    }
    silence.answered();
    if ('result' in ahead && ahead.result.done) {
      settled = [];
      if (pending) settled.push(pending);
      for (let more = normalizer.take(); more; more = normalizer.take()) settled.push(more);
      settled.push(normalizer.end());
      settle();
      over = true;
    }
  }
  let replayed = 0;

  const events: ChatEvents = {
    settled,
    [Symbol.asyncIterator]: () => events,
    async next(): Promise<IteratorResult<ChatEvent>> {
      if (settled) {
        return replayed < settled.length ? { done: false, value: settled[replayed++]! } : { done: true, value: undefined };
      }
      if (pending) {
        const value = pending;
        pending = undefined;
        return { done: false, value };
      }
      if (over) return { done: true, value: undefined };
      // The rest of a chunk that made several events (a thought summary, then text).
      const queued = normalizer.take();
      if (queued) return { done: false, value: queued };
      // Chunks without text make no event: read on until one does.
      for (;;) {
        let next: IteratorResult<GenerateContentResponse>;
        if (ahead) {
          const read = ahead;
          ahead = undefined;
          if ('error' in read) return end(normalizer.next(fail(read.error))!);
          next = read.result;
        } else {
          silence.waiting();
          try {
            next = await iterator.next();
          } catch (error) {
            return end(normalizer.next(fail(error))!);
          }
          silence.answered();
        }
        if (next.done) return end(normalizer.end());
        const event = normalizer.next(next.value);
        if (event && !isTerminal(event)) return { done: false, value: event };
        if (event) {
          // An in-stream error: the answer is over, so stop Gemini generating it.
          abort(new GeminiError('aborted', 'Gemini reported an error mid-answer'));
          return end(event);
        }
      }
    },
    async return(): Promise<IteratorResult<ChatEvent>> {
      pending = undefined;
      if (!over) {
        // The reader stopped before the terminal event (a cancelled response): Gemini stops too.
        over = true;
        settle();
        abort(new GeminiError('aborted', 'The reader cancelled the stream'));
      }
      return { done: true, value: undefined };
    },
  };
  return events;
}

/** The SDK's model object for a call. Cheap to build: it holds the settings, nothing else. */
function modelFor(call: GeminiCall, settings: UpstreamSettings) {
  return new GoogleGenerativeAI(settings.apiKey).getGenerativeModel(
    {
      model: call.model,
      generationConfig: call.generationConfig,
      ...(call.system ? { systemInstruction: call.system } : {}),
      ...(call.tools ? { tools: call.tools, toolConfig: call.toolConfig } : {}),
    },
    { baseUrl: settings.baseUrl },
  );
}

/**
 * Aborts the call when Gemini stays silent: `firstChunkTimeoutMs` for the
 * first chunk, then `idleTimeoutMs` between two chunks (only while the
 * reader waits for one: a slow reader is not a silent Gemini).
 *
 * Silence is counted by one interval, and only while this isolate keeps
 * time: a tick that comes late means the isolate was busy (saturated, or
 * blocked), and Gemini's chunks may be waiting unread next to the timer, so
 * such a tick counts one period at most. A saturated isolate must not take
 * its own slowness for a silent Gemini.
 */
class SilenceWatch {
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly period: number;
  private limitMs: number;
  private first = true;
  private waitingForChunk = true;
  private silentMs = 0;
  private lastTick = Date.now();

  constructor(
    private readonly settings: UpstreamSettings,
    abort: (error: GeminiError) => void,
  ) {
    this.limitMs = settings.firstChunkTimeoutMs;
    this.period = Math.max(10, Math.ceil(Math.min(settings.firstChunkTimeoutMs, settings.idleTimeoutMs) / 10));
    this.timer = setInterval(() => {
      const now = Date.now();
      const elapsed = Math.min(now - this.lastTick, this.period);
      this.lastTick = now;
      if (!this.waitingForChunk) return;
      this.silentMs += elapsed;
      if (this.silentMs >= this.limitMs) abort(new GeminiError('timeout', this.message()));
    }, this.period);
  }

  /** The reader asked for the next chunk: silence counts from now. */
  waiting(): void {
    this.waitingForChunk = true;
    this.silentMs = this.lastTick - Date.now(); // the next tick counts from now, not from the last tick
  }

  /** A chunk arrived; from now on, gaps count against idleTimeoutMs. */
  answered(): void {
    this.waitingForChunk = false;
    this.first = false;
    this.limitMs = this.settings.idleTimeoutMs;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private message(): string {
    return this.first
      ? `Gemini sent nothing for ${this.settings.firstChunkTimeoutMs} ms (waiting for the first chunk)`
      : `Gemini sent nothing for ${this.settings.idleTimeoutMs} ms (between chunks)`;
  }
}

/** Maps whatever the SDK threw to a {@link GeminiError} with a message safe for clients. */
function toGeminiError(error: unknown, signal: AbortSignal, model: string): GeminiError {
  if (error instanceof GeminiError) return error;
  // Our own abort (timeout or client gone) surfaces as an SDK abort or read error.
  if (signal.aborted && signal.reason instanceof GeminiError) return signal.reason;
  if (error instanceof GoogleGenerativeAIFetchError) return fromFetchError(error, model);
  if (error instanceof GoogleGenerativeAIAbortError) {
    return new GeminiError('aborted', 'The call to Gemini was aborted', { cause: error });
  }
  if (error instanceof GoogleGenerativeAIError) {
    // The SDK prefixes every message with "[GoogleGenerativeAI Error]: ".
    const message = error.message;
    if (message.includes('Error fetching from')) {
      return new GeminiError('network', 'Could not reach Gemini', { cause: error });
    }
    if (message.includes('Failed to parse stream') || message.includes('Error parsing JSON response')) {
      return new GeminiError('stream', 'Gemini sent a malformed stream', { code: 'upstream_malformed', cause: error });
    }
  }
  return new GeminiError('stream', 'The connection to Gemini broke off mid-answer', {
    code: 'upstream_disconnected',
    cause: error,
  });
}

interface ErrorDetail {
  '@type'?: string;
  reason?: string;
  retryDelay?: string;
}

/** "Please retry in 7.967587226s." at the end of Gemini's 429 message (2026), when RetryInfo is missing. */
const RETRY_IN = /Please retry in (\d+(?:\.\d+)?)s\b/;
/** "…, limit: 0, model: …" in a 429 message: the project has no quota at all for the model (a paid-only model on the free tier). */
const LIMIT_ZERO = /\blimit: 0(?![\d.])/;

/**
 * An HTTP error from the SDK, in our words: {@link httpError} of its status,
 * the details of Google's error body and Google's message.
 */
export function fromFetchError(error: GoogleGenerativeAIFetchError, model: string): GeminiError {
  return httpError({ status: error.status ?? 0, statusText: error.statusText, details: error.errorDetails, upstreamMessage: error.message }, model, error);
}

/** What Gemini answered with an error status. */
export interface HttpFailure {
  status: number;
  statusText?: string;
  /** `error.details` of Google's error body (ErrorInfo, RetryInfo…). */
  details?: unknown;
  /** Google's message (or the SDK's, which holds it): read for two facts, never passed on. */
  upstreamMessage?: string;
}

/**
 * An HTTP error from Gemini as a {@link GeminiError}, in our words, whether the
 * SDK made the call or a plain fetch did (the model list). Google's message is
 * read for two facts only, never passed on: the wait it asks for, and a quota
 * of zero.
 * @param model the model the call named; none for a call that names no model (the model list)
 */
export function httpError({ status, statusText, details: rawDetails, upstreamMessage = '' }: HttpFailure, model?: string, cause?: unknown): GeminiError {
  const details = (Array.isArray(rawDetails) ? rawDetails : []) as ErrorDetail[];
  const reason = details.find((d) => typeof d?.reason === 'string')?.reason;
  let retryAfterSeconds: number | undefined;
  let noQuota = false;
  if (status === 429) {
    noQuota = LIMIT_ZERO.test(upstreamMessage);
    // No wait refills a quota of zero: then there is no Retry-After to give.
    const delay = noQuota ? undefined : (details.find((d) => d?.['@type']?.endsWith('RetryInfo'))?.retryDelay ?? RETRY_IN.exec(upstreamMessage)?.[1]);
    const seconds = delay === undefined ? Number.NaN : Math.ceil(Number.parseFloat(delay));
    if (Number.isFinite(seconds) && seconds >= 0) retryAfterSeconds = seconds;
  }
  const message = httpMessage({ status, statusText, reason, model, retryAfterSeconds, noQuota });
  return new GeminiError('http', message, { status, statusText, reason, retryAfterSeconds, noQuota: noQuota || undefined, cause });
}

interface HttpFacts {
  status: number;
  statusText?: string;
  reason?: string;
  model?: string;
  retryAfterSeconds?: number;
  noQuota: boolean;
}

/**
 * Our own words for an upstream HTTP failure, never Google's: its messages can
 * carry request details (the project, the quota, the key's prefix). Each says
 * what the operator can do about it.
 */
function httpMessage({ status, statusText, reason, model, retryAfterSeconds, noQuota }: HttpFacts): string {
  const label = `${status}${statusText ? ` ${statusText}` : ''}`;
  if (status === 429) {
    if (noQuota) {
      return `Gemini gives this key's project no quota for ${model === undefined ? 'this call' : `the model "${model}"`} (${label}): the free tier does not cover it; enable billing for the project, or use another model`;
    }
    const wait = retryAfterSeconds === undefined ? 'try again later' : `try again in ${retryAfterSeconds} s`;
    return `Gemini's quota for this key is used up (${label}); ${wait}`;
  }
  if (reason === 'ACCESS_TOKEN_TYPE_UNSUPPORTED') {
    return `Gemini refused the Worker's key (${label}): it is a standard API key, which Gemini no longer accepts (since September 2026); create an auth key in Google AI Studio (aistudio.google.com/apikey) and set it with wrangler secret put GEMINI_API_KEY`;
  }
  if (status === 401 || status === 403 || reason === 'API_KEY_INVALID') return `Gemini refused the Worker's credentials (${label})`;
  if (status === 404 && model !== undefined) {
    const replacement = replacementFor(model);
    return `Gemini does not serve the model "${model}" to this key (${label})${replacement ? `; use ${replacement}` : ''}`;
  }
  if (status >= 500) return `Gemini is unavailable (${label}); try again later`;
  return `Gemini refused the request (${label})`;
}

/** No message leaves the Worker with the key in it, whatever upstream echoed. */
function redact(error: GeminiError, apiKey: string): GeminiError {
  if (!apiKey || !error.message.includes(apiKey)) return error;
  return new GeminiError(error.kind, error.message.split(apiKey).join('[redacted]'), error.details());
}
