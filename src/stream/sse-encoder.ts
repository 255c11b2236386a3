import { eventData, type ChatEvent } from '../protocol/events';
import { CoalescingQueue, concatBytes } from './coalescing-queue';
import type { WireFormat } from './wire-format';

/** A chat event, with the SSE `id:` a resumable stream gives it. */
export type SseInput = ChatEvent & { id?: number };

export interface SseEncoderOptions {
  /** Write an SSE comment after this many idle milliseconds, so proxies keep the connection. 0: never. */
  heartbeatMs?: number;
  /** Sees each event as it is encoded (the request log), without a stream stage of its own. */
  observer?: { observe(event: ChatEvent): void; cancelled(): void };
  /** The protocol on the wire; this project's own frames ({@link encodeFrame}) when not given. */
  format?: WireFormat;
}

const encoder = new TextEncoder();

/** An SSE comment: keeps idle connections open, ignored by every SSE parser. */
export const PING = encoder.encode(': ping\n\n');

/** One event as the bytes of one SSE frame. `data:` is single-line JSON, so no payload can break the framing. */
export function encodeFrame(event: SseInput): Uint8Array {
  return encodeRawFrame(event.id, event.type, eventData(event));
}

/** A frame from its parts; `data` must already be single-line JSON (as {@link eventData} makes it). */
export function encodeRawFrame(id: number | undefined, event: string, data: string): Uint8Array {
  return encoder.encode(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`);
}

/** How one event becomes bytes: the wire format's, or this project's own frames. */
function frameEncoder(format: WireFormat | undefined): (event: SseInput) => Uint8Array {
  return format ? (event) => format.encode(event) : encodeFrame;
}

/**
 * The body of a streamed answer. An answer that was over before its first
 * event was read (`settled`: a one-chunk reply) is sent whole, as the same
 * frames in one piece: no stream, no heartbeat, one write. Any other answer is
 * {@link encodeSse}'s stream.
 */
export function sseBody(
  events: AsyncIterable<SseInput> & { readonly settled?: readonly SseInput[] },
  options: SseEncoderOptions = {},
): ReadableStream<Uint8Array> | Uint8Array {
  const { settled } = events;
  if (!settled) return encodeSse(events, options);
  const { observer, format } = options;
  const encode = frameEncoder(format);
  const frames: Uint8Array[] = [];
  for (const event of settled) {
    frames.push(encode(event));
    observer?.observe(event);
  }
  const end = format?.end?.();
  if (end) frames.push(end);
  return concatBytes(frames);
}

/**
 * Encodes chat events as Server-Sent Event frames, one frame per event, as
 * soon as each arrives. `data:` is single-line JSON (JSON escapes CR and LF),
 * so no payload can break the framing.
 *
 * It reads `events` (any async iterable: the adapter's events, a
 * `ReadableStream`) itself, in one loop, rather than being piped into: a pipe
 * into a `WritableStream` costs a write promise and a read promise per chunk
 * on top of the loop's own (bench/NOTES.md).
 *
 * The stream it returns is a {@link CoalescingQueue}: a client that keeps up
 * with a paced answer gets each frame alone, at once; a burst from Gemini, or a
 * client that lags, gets the frames queued meanwhile in one chunk, at most one
 * per 2 ms write window. Up to 64 KiB queue before it
 * stops reading `events` (counted in bytes, so a megabyte frame does not
 * queue 32 more). Cancelling it stops `events` (`return()`: the adapter then aborts Gemini).
 *
 * @example
 * new Response(encodeSse(events, { heartbeatMs: 15_000 }), { headers: SSE_HEADERS })
 */
export function encodeSse(events: AsyncIterable<SseInput>, { heartbeatMs = 0, observer, format }: SseEncoderOptions = {}): ReadableStream<Uint8Array> {
  const encode = frameEncoder(format);
  const iterator = events[Symbol.asyncIterator]();
  let timer: ReturnType<typeof setInterval> | null = null;
  let idle = true;
  const stop = () => clearInterval(timer);
  const queue = new CoalescingQueue({
    onCancel: (reason) => {
      stop();
      observer?.cancelled();
      iterator.return?.(reason).catch(() => {});
    },
  });
  if (heartbeatMs > 0) {
    timer = setInterval(() => {
      if (idle) queue.push(PING);
      if (!queue.open) stop();
      idle = true;
    }, heartbeatMs);
  }
  const pump = async () => {
    for (;;) {
      const { done, value } = await iterator.next();
      if (done || !queue.open) break;
      idle = false;
      queue.push(encode(value));
      observer?.observe(value);
      if (queue.full) await queue.ready();
    }
    const end = format?.end?.();
    if (end && queue.open) queue.push(end);
    queue.close();
  };
  pump()
    .catch((error: unknown) => queue.error(error))
    .finally(stop);
  return queue.readable;
}
