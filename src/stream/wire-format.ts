import type { ChatEvent } from '../protocol/events';
import type { SseInput } from './sse-encoder';

/**
 * How one stream's chat events become bytes on the wire. The stream path, the
 * chat turn's fan-out and replay all work on {@link ChatEvent}s; each protocol
 * (this project's SSE, the AI SDK's UI message stream, OpenAI's chunks) is one
 * `WireFormat`, chosen where the response is made; without one, the stream
 * path writes this project's own frames (`encodeFrame`).
 *
 * A format may keep state (the AI SDK's `text-start` comes once, before the
 * first text), so make one per stream.
 */
export interface WireFormat {
  /** One event's bytes; empty when this format does not show the event. */
  encode(event: SseInput): Uint8Array;
  /** Bytes after the terminal event, when the format ends with a marker (`data: [DONE]`). */
  end?(): Uint8Array;
  /**
   * For a protocol whose stream ends where the page must run tools (the AI SDK's: `useChat` runs
   * them once the stream is over, then sends their outputs): the bytes that end the stream there,
   * before {@link end}'s. Without it, the stream stays open through the wait.
   */
  pause?(): Uint8Array;
}

const encoder = new TextEncoder();

/** A `data:`-only SSE frame of one JSON value, as the AI SDK and OpenAI streams send. */
export function dataFrame(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** The `data: [DONE]` line both the AI SDK and OpenAI end a stream with. */
export const DONE_FRAME = encoder.encode('data: [DONE]\n\n');

/** UTF-8 bytes of frames built as a string. */
export function bytes(frames: string): Uint8Array {
  return encoder.encode(frames);
}
