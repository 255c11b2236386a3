import { isFilteredFinish, type DoneEvent, type Usage } from '../protocol/events';
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
 */
const NOTHING = new Uint8Array(0);

export class UiMessageFormat implements WireFormat {
  private started = false;
  /** The part being written, and how many of each kind came before (each part's id is its kind and number). */
  private open: { type: 'text' | 'reasoning'; id: string } | undefined;
  private count = { text: 0, reasoning: 0 };

  /** @param messageId the answer's id, stable across a reload (the stored message's), so a resumed stream replaces it */
  constructor(private readonly messageId: string) {}

  encode(event: SseInput): Uint8Array {
    // useChat's tool chunks come later (issue 22): a stored chat's owner-endpoint tools run in the
    // chat's Durable Object, and this format shows only their answer.
    if (event.type === 'tool-call' || event.type === 'tool-result') return NOTHING;
    let frames = '';
    if (!this.started) {
      this.started = true;
      frames += dataFrame({ type: 'start', messageId: this.messageId });
    }
    if (event.type === 'text' || event.type === 'thought') {
      const type = event.type === 'text' ? 'text' : 'reasoning';
      if (this.open?.type !== type) {
        frames += this.close();
        this.open = { type, id: `${type}-${this.count[type]++}` };
        frames += dataFrame({ type: `${type}-start`, id: this.open.id });
      }
      return bytes(frames + dataFrame({ type: `${type}-delta`, id: this.open.id, delta: event.text }));
    }
    frames += this.close();
    if (event.type === 'done') return bytes(frames + finishFrames(event));
    // A cancelled turn is the user's (or the app's) doing, not a failure.
    if (event.code === 'cancelled') return bytes(frames + dataFrame({ type: 'abort', reason: event.message }));
    return bytes(frames + dataFrame({ type: 'error', errorText: event.message }));
  }

  end(): Uint8Array {
    return DONE_FRAME;
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
