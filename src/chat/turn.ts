import { GeminiError } from '../gemini/gemini-error';
import { ApiError } from '../errors';
import { closedCall, eventData, isTerminal, type ChatEvent, type ErrorCode, type TerminalEvent, type ToolCallEvent, type ToolResultEvent, type Usage } from '../protocol/events';
import { PartsBuilder, type MessagePart } from '../protocol/parts';
import { CoalescingQueue } from '../stream/coalescing-queue';
import { encodeRawFrame, PING } from '../stream/sse-encoder';
import type { WireFormat } from '../stream/wire-format';
import type { MessageStatus } from '../protocol/messages';
import type { ChatStore, StoredFrame } from './chat-store';
import type { ToolOutcome } from '../assistants/tool-endpoint';

/** Persist live frames at most this often, or every {@link FLUSH_FRAMES} frames: a row per batch, not per chunk. */
export const FLUSH_MS = 1000;
export const FLUSH_FRAMES = 64;
/** How often a turn waiting for the page pings its listeners (see {@link Turn.waitForPage}). */
const PAGE_WAIT_PING_MS = 1000;
/** A batch row stays far below Durable Objects' 2 MB row limit. */
const FLUSH_BYTES = 256 * 1024;

export interface TurnOptions {
  store: ChatStore;
  /** Waits until every write so far is durable. */
  sync: () => Promise<void>;
  /** The model message this turn fills. */
  messageId: number;
  /** The id of the last frame before this turn; this turn's frames count up from it. */
  lastEventId: number;
  /** How long the turn runs on with nobody listening before it is cancelled. */
  graceMs: number;
  heartbeatMs: number;
  /** Called once, when the turn's outcome is stored. */
  onSettled?: (turn: Turn) => void;
  /** The assistant's tools: without them, the model's calls (it makes none: none are declared) are skipped. */
  tools?: TurnTools;
}

/**
 * How a turn runs its assistant's tools (issue 22): the model's calls of a step are run together,
 * their results added, and the model asked again, until it answers without calls.
 */
export interface TurnTools {
  /** Steps of calls the model may make; the step after the last one is asked with its tools off (`final`). */
  maxRounds: number;
  /** Whether the page runs this function: its calls wait for {@link Turn.deliver}, not {@link run}. */
  runsOnPage(name: string): boolean;
  /** How long a page-side call waits for its result before the model is told it got none. */
  pageTimeoutMs: number;
  /** Runs one call on the Worker's side. Never throws: a failure is `{ error }`, which the model gets as the result. */
  run(call: ToolCallEvent, signal: AbortSignal): Promise<ToolOutcome>;
  /**
   * The next step's answer: the model asked again with the turn's parts so far (its calls and their
   * results); `final`: with its tools off, so it must answer.
   * @throws {ApiError} when the call fails before its first event (the turn ends with its code)
   */
  next(parts: readonly MessagePart[], final: boolean): Promise<AsyncIterable<ChatEvent>>;
}

/** A frame kept for replay: the event with its id, and its bytes in this project's own protocol. */
interface Frame {
  id: number;
  event: ChatEvent;
  bytes: Uint8Array;
}

/** A page's answer to one of the turn's page-side calls. */
export type PageToolResult = { toolCallId: string } & ToolOutcome;

interface Listener {
  /** Frames the client has not read yet, sent as one chunk when it next reads. */
  queue: CoalescingQueue;
  /** The listener's protocol, when not this project's own (whose bytes every such listener shares). */
  format: WireFormat | undefined;
}

/**
 * One model turn of a chat, owned by the chat's Durable Object. It reads the
 * answer's events, gives each an SSE id, fans the frames out to every listener
 * (a turn may have several, or none for a while), keeps them for replay, and
 * persists them in batches. When the answer ends it stores the model message,
 * waits until that is durable, and only then sends the terminal frame.
 *
 * With nobody listening for `graceMs` it cancels itself: Gemini is aborted
 * and the partial answer stored as `cancelled`.
 */
export class Turn {
  readonly messageId: number;
  /** Aborting it stops the upstream call; its reason becomes the terminal error. */
  private readonly upstream = new AbortController();
  private readonly frames: Frame[] = [];
  private pending: StoredFrame[] = [];
  private pendingBytes = 0;
  /** The answer so far, as parts: text, thought summary, signatures. */
  private readonly parts = new PartsBuilder();
  private readonly listeners = new Set<Listener>();
  private lastEventId: number;
  private terminalId: number | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private graceTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private quietSinceTick = true;
  private discarded = false;
  /** The page-side calls still open (their frame sent, no result yet), by id: each answers its call. */
  private readonly pageCalls = new Map<string, (outcome: ToolOutcome) => void>();
  /** The current step's page-side calls' outcomes, by id. */
  private pageOutcomes = new Map<string, Promise<ToolOutcome>>();
  /** While the turn waits for the page: the id of the frame before the wait (its last call's). */
  private waitPoint: number | undefined;
  /** Ends the wait (its timer, pings, abort listener) once the last open call is answered. */
  private endWait: (() => void) | undefined;
  /** Rows this turn wrote (billing), for the log and the tests. */
  rowsWritten = 0;
  outcome: { status: MessageStatus; finishReason?: string; code?: ErrorCode; usage?: Usage; model?: string } | undefined;
  private readonly started = Date.now();
  private firstTextAt: number | undefined;
  private markSettled!: () => void;
  /** Resolves once the outcome is stored and the terminal frame sent (or the turn discarded). */
  readonly settled = new Promise<void>((resolve) => {
    this.markSettled = resolve;
  });

  constructor(private readonly options: TurnOptions) {
    this.messageId = options.messageId;
    this.lastEventId = options.lastEventId;
    if (options.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => {
        if (this.quietSinceTick) for (const listener of this.listeners) listener.queue.push(PING);
        this.quietSinceTick = true;
      }, options.heartbeatMs);
    }
  }

  /** The signal the upstream call runs under. */
  get signal(): AbortSignal {
    return this.upstream.signal;
  }

  /** True until the terminal frame is stored. */
  get active(): boolean {
    return this.terminalId === undefined;
  }

  /** The answer so far. */
  get text(): string {
    return this.parts.text;
  }

  /** The thought summary so far. */
  get thoughts(): string {
    return this.parts.thoughts;
  }

  /** Milliseconds from the turn's start to its first text, and to its end. */
  timings(): { ttftMs?: number; durationMs: number } {
    return {
      ttftMs: this.firstTextAt === undefined ? undefined : this.firstTextAt - this.started,
      durationMs: Date.now() - this.started,
    };
  }

  /** The id of the terminal frame, once there is one. */
  get lastFrameId(): number | undefined {
    return this.terminalId;
  }

  /**
   * Drops the turn with its chat (the chat was deleted): stops Gemini, ends
   * every listener's stream, and writes nothing more.
   */
  discard(): void {
    this.discarded = true;
    this.cancel('The chat was deleted');
    clearTimeout(this.flushTimer);
    clearInterval(this.heartbeat);
    this.disarmGrace();
    for (const listener of this.listeners) this.leave(listener, true);
    this.markSettled();
  }

  /** Stops the upstream call; the turn ends with an error frame carrying this message. */
  cancel(message: string): void {
    if (this.active && !this.upstream.signal.aborted) this.upstream.abort(new GeminiError('aborted', message));
  }

  /**
   * Reads the answer to its end: with tools, step after step (the model's calls, run, their
   * results sent back) until an answer without calls. Never throws: a failure becomes the
   * terminal frame.
   */
  async run(events: AsyncIterable<ChatEvent>): Promise<void> {
    const tools = this.options.tools;
    let usage: Usage | undefined;
    try {
      for (let round = 0; ; round++) {
        const calls: ToolCallEvent[] = [];
        let end: TerminalEvent | undefined;
        for await (const event of events) {
          if (isTerminal(event)) {
            end = event;
            break;
          }
          if (event.type === 'tool-call') {
            // Without tools, no function is declared, so Gemini makes no calls here; a call Gemini
            // ran itself (a built-in tool) is only recorded: its result follows in the stream.
            if (!tools && event.runsOn !== 'gemini') continue;
            const call: ToolCallEvent = tools && event.runsOn === undefined && tools.runsOnPage(event.name) ? { ...event, runsOn: 'page' } : event;
            this.parts.addCall(call);
            // Expected before its frame goes out: the page may answer while Gemini's step still streams.
            if (call.runsOn === 'page') this.expectFromPage(call.toolCallId);
            this.pushLive(call);
            if (call.runsOn !== 'gemini') calls.push(call);
          } else if (event.type === 'tool-result') {
            // Only a built-in tool's result comes in Gemini's stream: recorded as it came.
            this.parts.addResult(event);
            this.pushLive(event);
          } else {
            this.parts.add(event);
            // A signature on a part with no text is kept in the parts; there is no frame to send.
            if (event.text) this.pushLive(event);
          }
        }
        if (!end) return await this.settle({ type: 'error', code: 'upstream_incomplete', message: 'The answer ended without a terminal event' });
        if (end.type === 'done') usage = addUsage(usage, end.usage);
        if (end.type === 'error' || calls.length === 0 || !tools) {
          return await this.settle(end.type === 'done' && usage ? { ...end, usage } : end);
        }
        if (round >= tools.maxRounds) {
          return await this.settle({ type: 'error', code: 'tool_call_failed', message: `The model still called tools after ${tools.maxRounds} rounds, with its tools off` });
        }
        // The step's calls run together (the page's and the Worker's); the results are sent once all are in, in the calls' order.
        const page = this.pageOutcomes;
        this.pageOutcomes = new Map();
        if (this.pageCalls.size > 0) this.waitForPage(tools.pageTimeoutMs);
        const results = await Promise.all(calls.map((call) => page.get(call.toolCallId) ?? tools.run(call, this.signal)));
        calls.forEach((call, i) => {
          const outcome = results[i]!;
          const result: ToolResultEvent =
            'error' in outcome
              ? { type: 'tool-result', toolCallId: call.toolCallId, name: call.name, error: outcome.error }
              : { type: 'tool-result', toolCallId: call.toolCallId, name: call.name, result: outcome.result };
          if (call.runsOn === 'page') result.runsOn = 'page';
          this.parts.addResult(result);
          this.pushLive(result);
        });
        if (this.signal.aborted) {
          const reason: unknown = this.signal.reason;
          return await this.settle({ type: 'error', code: 'cancelled', message: reason instanceof Error ? reason.message : 'The turn was cancelled' });
        }
        try {
          events = await tools.next(this.parts.parts, round + 1 >= tools.maxRounds);
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          return await this.settle({ type: 'error', code: error.code, message: error.message });
        }
      }
    } catch (error) {
      console.error(JSON.stringify({ level: 'error', event: 'turn_failed', error: String(error) }));
      if (this.active) await this.settle({ type: 'error', code: 'internal_error', message: 'The turn failed' });
    }
  }

  /**
   * The page's results for the turn's page-side calls (`POST /api/chats/:id/tool-results`, or the
   * AI SDK's next request carrying its tool outputs). Each must answer a call still open — its
   * frame sent, no result yet: an unknown id, or one answered already, refuses the whole delivery
   * and changes nothing.
   * @returns the id of the frame a listener that left at the wait follows on from, or why not
   */
  deliver(results: readonly PageToolResult[]): { after: number } | { refused: string } {
    if (this.pageCalls.size === 0 || !this.active) return { refused: 'no tool call of this chat is waiting for the page' };
    const after = this.waitPoint ?? this.lastEventId;
    const seen = new Set<string>();
    for (const { toolCallId } of results) {
      if (!this.pageCalls.has(toolCallId) || seen.has(toolCallId)) return { refused: `no call waits for a result with id "${toolCallId}" (answered already, or not the page's)` };
      seen.add(toolCallId);
    }
    for (const { toolCallId, ...outcome } of results) this.pageCalls.get(toolCallId)!(outcome);
    return { after };
  }

  /** A page-side call whose frame is about to go out: its outcome is the page's to give ({@link deliver}). */
  private expectFromPage(toolCallId: string): void {
    this.pageOutcomes.set(
      toolCallId,
      new Promise<ToolOutcome>((resolve) => {
        this.pageCalls.set(toolCallId, (outcome) => {
          this.pageCalls.delete(toolCallId);
          resolve(outcome);
          if (this.pageCalls.size === 0) this.endWait?.();
        });
      }),
    );
  }

  /**
   * Once the step's stream has ended, waits for the page's calls still open: each is answered by
   * the page, with `{ error }` after `timeoutMs` (and the turn is cancelled then if nobody is
   * listening: nobody would read the rest), or once the turn is cancelled. Listeners whose protocol
   * ends at the wait (the AI SDK's) are ended here, without starting the grace period: their page
   * answers with a new request.
   */
  private waitForPage(timeoutMs: number): void {
    const answerAll = (error: string) => {
      for (const answer of [...this.pageCalls.values()]) answer({ error });
    };
    const onAbort = () => answerAll('the turn was cancelled before the page answered');
    if (this.signal.aborted) return onAbort();
    this.waitPoint = this.lastEventId;
    const timer = setTimeout(() => {
      if (this.listeners.size === 0) this.cancel(`Nobody answered the page's tool calls within ${timeoutMs} ms`);
      answerAll(`the page did not answer within ${timeoutMs} ms`);
    }, timeoutMs);
    this.signal.addEventListener('abort', onAbort);
    // Nothing else is written while the page works, and a page that left is noticed only when a
    // write to it fails: ping its stream often, so the grace period starts within a second, not at
    // the next heartbeat (SSE_HEARTBEAT_MS; none when heartbeats are off), which these pings stand in for.
    const ping =
      this.options.heartbeatMs > 0
        ? setInterval(() => {
            for (const listener of this.listeners) listener.queue.push(PING);
            this.quietSinceTick = false;
          }, Math.min(this.options.heartbeatMs, PAGE_WAIT_PING_MS))
        : null;
    this.endWait = () => {
      clearInterval(ping);
      clearTimeout(timer);
      this.signal.removeEventListener('abort', onAbort);
      this.waitPoint = undefined;
      this.endWait = undefined;
    };
    for (const listener of [...this.listeners]) {
      if (!listener.format?.pause) continue;
      this.listeners.delete(listener);
      this.pause(listener);
    }
  }

  /** Ends a listener whose protocol stops where the page runs tools. */
  private pause(listener: Listener): void {
    listener.queue.push(listener.format!.pause!());
    this.end(listener);
  }

  /**
   * Ends the turn without an answer (the call failed before its first chunk,
   * or was cancelled while waiting for it).
   */
  fail(code: ErrorCode, message: string): Promise<void> {
    return this.settle({ type: 'error', code, message });
  }

  /** The id of this turn's first frame. */
  get firstFrameId(): number {
    return this.options.lastEventId + 1;
  }

  /**
   * A stream of this turn's frames after `afterId`, then the live ones until the
   * terminal frame, in `format` (this project's own protocol when not given).
   * Leaving (the stream cancelled, or `signal` aborted) does not stop the turn;
   * only the last listener leaving starts the grace period.
   */
  listen(afterId: number, signal?: AbortSignal, format?: WireFormat): ReadableStream<Uint8Array> {
    const listener: Listener = { queue: new CoalescingQueue({ onCancel: () => this.leave(listener, false) }), format };
    const { queue } = listener;
    // A reconnecting client gets everything it missed in one chunk.
    for (const frame of this.frames) if (frame.id > afterId) this.send(listener, this.replayed(frame));
    if (this.active && this.waitPoint !== undefined && format?.pause) {
      // Its protocol ends where the page runs tools: the page answers with a new request.
      this.pause(listener);
    } else if (!this.active) {
      this.end(listener);
    } else if (signal?.aborted) {
      queue.close();
      this.armGrace();
    } else {
      this.listeners.add(listener);
      this.disarmGrace();
      // workerd#6832: a disconnect does not reliably cancel a response stream; request.signal does fire.
      signal?.addEventListener('abort', () => this.leave(listener, true));
    }
    return queue.readable;
  }

  /**
   * A frame as a replay sends it: a page call no longer open (answered, or its turn over) is a record
   * of the step, not a call for the page to run — so a page that resumes, whichever protocol it
   * speaks and however the replay is cut into reads, never runs it again.
   */
  private replayed(frame: Frame): Frame {
    const event = frame.event;
    if (event.type !== 'tool-call' || event.runsOn !== 'page' || (this.active && this.pageCalls.has(event.toolCallId))) return frame;
    const record = closedCall(event);
    return { id: frame.id, event: record, bytes: encodeRawFrame(frame.id, 'tool-call', eventData(record)) };
  }

  /** Gives an event its id and keeps its frame for replay; the terminal frame is sent by settle, once stored. */
  private push(event: ChatEvent): StoredFrame {
    const id = ++this.lastEventId;
    const stored: StoredFrame = [id, event.type, eventData(event)];
    const frame: Frame = { id, event, bytes: encodeRawFrame(id, event.type, stored[2]) };
    this.frames.push(frame);
    this.pending.push(stored);
    this.pendingBytes += stored[2].length;
    return stored;
  }

  /** A piece of the answer or of its thought summary, or a tool step: sent at once, stored with the next batch. */
  private pushLive(event: ChatEvent): void {
    this.push(event);
    if (event.type === 'text') this.firstTextAt ??= Date.now();
    this.broadcast(this.frames[this.frames.length - 1]!);
    if (this.pending.length >= FLUSH_FRAMES || this.pendingBytes >= FLUSH_BYTES) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.pending.length === 0 || this.discarded) return;
    const store = this.options.store;
    const before = store.rowsWritten;
    store.appendFrames(this.messageId, this.pending);
    this.rowsWritten += store.rowsWritten - before;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Stores the outcome and the remaining frames in one transaction, then sends the terminal frame. */
  private async settle(event: TerminalEvent): Promise<void> {
    if (!this.active || this.discarded) return;
    const frame = this.push(event);
    this.terminalId = frame[0];
    clearInterval(this.heartbeat);
    this.disarmGrace();
    const status: MessageStatus =
      event.type === 'done' ? 'complete' : event.code === 'cancelled' ? 'cancelled' : 'failed';
    this.outcome =
      event.type === 'done'
        ? { status, finishReason: event.finishReason, usage: event.usage, model: event.model }
        : { status, code: event.code };
    const store = this.options.store;
    const before = store.rowsWritten;
    store.transaction(() => {
      this.flush();
      store.finishMessage(this.messageId, {
        text: this.text,
        parts: this.parts.meaningful ? this.parts.parts : undefined,
        status,
        ...(event.type === 'done'
          ? { finishReason: event.finishReason, usage: event.usage, sources: event.sources, model: event.model }
          : { error: { code: event.code, message: event.message } }),
      });
      store.setLastEventId(frame[0]);
    });
    this.rowsWritten += store.rowsWritten - before;
    // `done` promises the answer is stored: send it only once the write is durable.
    await this.options.sync();
    this.broadcast(this.frames[this.frames.length - 1]);
    for (const listener of this.listeners) this.end(listener);
    this.listeners.clear();
    this.options.onSettled?.(this);
    this.markSettled();
  }

  private broadcast(frame: Frame): void {
    this.quietSinceTick = false;
    // A client that cancelled has already left (the queue's onCancel calls leave).
    for (const listener of this.listeners) this.send(listener, frame);
  }

  private send(listener: Listener, frame: Frame): void {
    listener.queue.push(listener.format ? listener.format.encode({ ...frame.event, id: frame.id }) : frame.bytes);
  }

  /** After the terminal frame: the format's end marker, then the end of the stream. */
  private end(listener: Listener): void {
    const end = listener.format?.end?.();
    if (end) listener.queue.push(end);
    listener.queue.close();
  }

  private leave(listener: Listener, close: boolean): void {
    if (!this.listeners.delete(listener)) return;
    if (close) listener.queue.close();
    if (this.listeners.size === 0) this.armGrace();
  }

  private armGrace(): void {
    if (!this.active || this.graceTimer !== null || this.listeners.size > 0) return;
    this.graceTimer = setTimeout(() => {
      this.graceTimer = null;
      if (this.listeners.size === 0) this.cancel(`Nobody was listening for ${this.options.graceMs} ms`);
    }, this.options.graceMs);
  }

  private disarmGrace(): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }
}

/** Two steps' usage together: each step of a tool loop is a call, billed on its own. */
function addUsage(sum: Usage | undefined, usage: Usage): Usage {
  if (!sum) return usage;
  const total: Usage = {
    promptTokenCount: sum.promptTokenCount + usage.promptTokenCount,
    candidatesTokenCount: sum.candidatesTokenCount + usage.candidatesTokenCount,
    totalTokenCount: sum.totalTokenCount + usage.totalTokenCount,
  };
  for (const key of ['thoughtsTokenCount', 'cachedContentTokenCount', 'toolUsePromptTokenCount'] as const) {
    if (sum[key] !== undefined || usage[key] !== undefined) total[key] = (sum[key] ?? 0) + (usage[key] ?? 0);
  }
  return total;
}
