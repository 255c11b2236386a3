import { isFilteredFinish, type DoneEvent, type ToolCallEvent, type ToolResultEvent, type Usage } from '../protocol/events';
import type { SseInput } from './sse-encoder';
import { bytes, dataFrame, DONE_FRAME, type WireFormat } from './wire-format';

/** The header every UI message stream response carries (the AI SDK checks for it). */
export const UI_MESSAGE_STREAM_HEADER = { 'x-vercel-ai-ui-message-stream': 'v1' } as const;

/** Gemini's finish reasons in the AI SDK's vocabulary. */
export type UiFinishReason = 'stop' | 'length' | 'content-filter' | 'other';

export function uiFinishReason(finishReason: string): UiFinishReason {
  if (finishReason === 'STOP') return 'stop';
  if (finishReason === 'MAX_TOKENS') return 'length';
  return isFilteredFinish(finishReason) ? 'content-filter' : 'other';
}

/**
 * What `finish` carries as the message's metadata: the turn's token usage,
 * Gemini's own finish reason and, when Gemini reported it, the model that answered.
 */
export interface UiMessageMetadata {
  usage: Usage;
  finishReason: string;
  model?: string;
}

/**
 * Chat events as the Vercel AI SDK's UI message stream (protocol v1, what
 * `useChat` with `DefaultChatTransport` reads): `start`, then the answer's
 * parts — `reasoning-start`, `reasoning-delta`…, `reasoning-end` for a run of
 * thought summary (so the message gets a `reasoning` part), `text-start`,
 * `text-delta`…, `text-end` for a run of text — a `source-url` per grounding
 * source, `finish` (its reason mapped, usage as message metadata) — or
 * `error`, or `abort` for a cancelled turn — then `data: [DONE]`. One per
 * stream: it remembers whether the message has started and which part is open.
 *
 * An assistant's tools (issue 22) are `dynamic: true` tool parts (the app does not declare them
 * to useChat): a call is `tool-input-available`, its result `tool-output-available` or
 * `tool-output-error`. A call the Worker runs (the owner's endpoint) or Gemini runs (built-in
 * tools) is `providerExecuted`, so useChat leaves it alone; a page call (`runsOn: 'page'`) is not,
 * so useChat's `onToolCall` runs it. A step that follows tool results opens with `start-step`
 * (and the step before ends with `finish-step`), so `lastAssistantMessageIsCompleteWithToolCalls`
 * looks at the last step's calls only. Where the turn waits for the page, the stream ends
 * ({@link pause}) and the page's next request, carrying the outputs, continues the same message.
 */
export class UiMessageFormat implements WireFormat {
  private started = false;
  /** The part being written, and how many of each kind came before (each part's id is its kind and number). */
  private open: { type: 'text' | 'reasoning'; id: string } | undefined;
  private count = { text: 0, reasoning: 0 };
  /**
   * Where the stream is in the answer's steps: the first, before any call (no step markers: a plain
   * answer has none); one with calls; past a step's results; a later step, opened with `start-step`.
   */
  private step: 'first' | 'calls' | 'results' | 'later' = 'first';
  /** Gemini's own calls (built-in tools): their results come within the step, which goes on after them. */
  private readonly geminiCalls = new Set<string>();

  /** @param messageId the answer's id, stable across a reload (the stored message's), so a resumed stream replaces it */
  constructor(private readonly messageId: string) {}

  encode(event: SseInput): Uint8Array {
    let frames = this.start();
    if (event.type === 'tool-call' || event.type === 'tool-result') return bytes(frames + this.close() + this.toolFrames(event));
    if (event.type === 'text' || event.type === 'thought') {
      frames += this.nextStep();
      const type = event.type === 'text' ? 'text' : 'reasoning';
      if (this.open?.type !== type) {
        frames += this.close();
        this.open = { type, id: `${type}-${this.count[type]++}` };
        frames += dataFrame({ type: `${type}-start`, id: this.open.id });
      }
      return bytes(frames + dataFrame({ type: `${type}-delta`, id: this.open.id, delta: event.text }));
    }
    frames += this.close();
    if (event.type === 'done') return bytes(frames + this.finishStep() + finishFrames(event));
    // A cancelled turn is the user's (or the app's) doing, not a failure.
    if (event.code === 'cancelled') return bytes(frames + dataFrame({ type: 'abort', reason: event.message }));
    return bytes(frames + dataFrame({ type: 'error', errorText: event.message }));
  }

  end(): Uint8Array {
    return DONE_FRAME;
  }

  /**
   * Where the turn waits for the page's tool outputs: the step ends, and the message with it
   * (`finish`, reason `tool-calls`), so that useChat runs the calls and, with
   * `sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls`, posts their outputs.
   */
  pause(): Uint8Array {
    return bytes(this.start() + this.close() + this.finishStep() + dataFrame({ type: 'finish', finishReason: 'tool-calls' }));
  }

  /** `start`, before the stream's first chunk only. */
  private start(): string {
    if (this.started) return '';
    this.started = true;
    return dataFrame({ type: 'start', messageId: this.messageId });
  }

  private toolFrames(event: ToolCallEvent | ToolResultEvent): string {
    if (event.type === 'tool-call') {
      const frames = this.nextStep();
      if (event.runsOn === 'gemini') this.geminiCalls.add(event.toolCallId);
      else this.step = 'calls';
      // The Worker's calls (and Gemini's own) are the "provider's": useChat runs only the page's
      // (a replay sends a page call answered already without `runsOn`: Turn.replayed).
      const providerExecuted = event.runsOn === 'page' ? {} : { providerExecuted: true };
      return frames + dataFrame({ type: 'tool-input-available', toolCallId: event.toolCallId, toolName: event.name, input: event.args, dynamic: true, ...providerExecuted });
    }
    if (!this.geminiCalls.has(event.toolCallId)) this.step = 'results';
    return event.error !== undefined
      ? dataFrame({ type: 'tool-output-error', toolCallId: event.toolCallId, errorText: event.error, dynamic: true })
      : dataFrame({ type: 'tool-output-available', toolCallId: event.toolCallId, output: event.result ?? null, dynamic: true });
  }

  /** Before the answer's next part: a new step when the last one ended with tool results. */
  private nextStep(): string {
    if (this.step !== 'results') return '';
    this.step = 'later';
    return dataFrame({ type: 'finish-step' }) + dataFrame({ type: 'start-step' });
  }

  /** The end of the last step, unless the answer is a plain one (one step, no markers). */
  private finishStep(): string {
    return this.step === 'first' ? '' : dataFrame({ type: 'finish-step' });
  }

  /** The end of the open part, if one is open. */
  private close(): string {
    const open = this.open;
    if (!open) return '';
    this.open = undefined;
    return dataFrame({ type: `${open.type}-end`, id: open.id });
  }
}

function finishFrames(event: DoneEvent): string {
  let frames = '';
  event.sources?.forEach((source, i) => {
    frames += dataFrame({ type: 'source-url', sourceId: `source-${i}`, url: source.url, title: source.title });
  });
  const messageMetadata: UiMessageMetadata = { usage: event.usage, finishReason: event.finishReason };
  if (event.model !== undefined) messageMetadata.model = event.model;
  return frames + dataFrame({ type: 'finish', finishReason: uiFinishReason(event.finishReason), messageMetadata });
}
