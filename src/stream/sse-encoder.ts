import { eventData, type ChatEvent } from '../protocol/events';
import { CoalescingQueue } from './coalescing-queue';

/** A chat event, with the SSE `id:` a resumable stream gives it. */
export type SseInput = ChatEvent & { id?: number };

export interface SseEncoderOptions {
  /** Write an SSE comment after this many idle milliseconds, so proxies keep the connection. 0: never. */
  heartbeatMs?: number;
  /** Sees each event as it is encoded (the request log), without a stream stage of its own. */
  observer?: { observe(event: ChatEvent): void; cancelled(): void };
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

/**
 * Encodes chat events as Server-Sent Event frames, one frame per event, as
 * soon as each arrives. `data:` is single-line JSON (JSON escapes CR and LF),
 * so no payload can break the framing.
 *
 * Its readable side is a {@link CoalescingQueue}: a client that keeps up gets
 * each frame alone, at once; one that lags (or a burst from Gemini) gets the
 * frames queued meanwhile in one chunk. Up to 64 KiB queue before the writable
 * side applies backpressure (counted in bytes, so a megabyte frame does not
 * queue 32 more). Cancelling the readable side errors the writable side, so a
 * pipe into it cancels its source (and the source aborts Gemini).
 *
 * @example
 * events.pipeThrough(new SseEncoderStream({ heartbeatMs: 15_000 }))
 */
export class SseEncoderStream implements ReadableWritablePair<Uint8Array, SseInput> {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<SseInput>;

  constructor({ heartbeatMs = 0, observer }: SseEncoderOptions = {}) {
    let timer: ReturnType<typeof setInterval> | null = null;
    let idle = true;
    let writableController: WritableStreamDefaultController | undefined;
    const stop = () => clearInterval(timer);
    const queue = new CoalescingQueue(undefined, (reason) => {
      stop();
      observer?.cancelled();
      writableController?.error(reason ?? new Error('The reader cancelled the stream'));
    });
    this.readable = queue.readable;
    this.writable = new WritableStream<SseInput>({
      start(controller) {
        writableController = controller;
        if (heartbeatMs <= 0) return;
        timer = setInterval(() => {
          if (idle) queue.push(PING);
          if (!queue.open) stop();
          idle = true;
        }, heartbeatMs);
      },
      write(event) {
        idle = false;
        queue.push(encodeFrame(event));
        observer?.observe(event);
        return queue.ready();
      },
      close() {
        stop();
        queue.close();
      },
      abort(reason) {
        stop();
        queue.error(reason);
      },
    });
  }
}
