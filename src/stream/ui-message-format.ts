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

/** The one text part of an answer (a Gemini answer is one run of text). */
const TEXT_ID = 'text-0';

/**
 * Chat events as the Vercel AI SDK's UI message stream (protocol v1, what
 * `useChat` with `DefaultChatTransport` reads): `start`, `text-start`,
 * `text-delta`…, `text-end`, a `source-url` per grounding source, `finish`
 * (its reason mapped, usage as message metadata) — or `error`, or `abort` for
 * a cancelled turn — then `data: [DONE]`. One per stream: it remembers
 * whether the message and its text part have started.
 */
export class UiMessageFormat implements WireFormat {
  private started = false;
  private textOpen = false;

  /** @param messageId the answer's id, stable across a reload (the stored message's), so a resumed stream replaces it */
  constructor(private readonly messageId: string) {}

  encode(event: SseInput): Uint8Array {
    let frames = '';
    if (!this.started) {
      this.started = true;
      frames += dataFrame({ type: 'start', messageId: this.messageId });
    }
    if (event.type === 'text') {
      if (!this.textOpen) {
        this.textOpen = true;
        frames += dataFrame({ type: 'text-start', id: TEXT_ID });
      }
      return bytes(frames + dataFrame({ type: 'text-delta', id: TEXT_ID, delta: event.text }));
    }
    if (this.textOpen) {
      this.textOpen = false;
      frames += dataFrame({ type: 'text-end', id: TEXT_ID });
    }
    if (event.type === 'done') return bytes(frames + finishFrames(event));
    // A cancelled turn is the user's (or the app's) doing, not a failure.
    if (event.code === 'cancelled') return bytes(frames + dataFrame({ type: 'abort', reason: event.message }));
    return bytes(frames + dataFrame({ type: 'error', errorText: event.message }));
  }

  end(): Uint8Array {
    return DONE_FRAME;
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
