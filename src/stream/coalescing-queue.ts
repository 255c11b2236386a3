/**
 * A byte stream fed by {@link CoalescingQueue.push}: each read gets everything
 * pushed since the previous read, as one chunk.
 *
 * Every chunk handed to the runtime is a socket write (and, for HTTP/1.1, a
 * chunk header), which costs far more CPU than making the frame did. So reads
 * are served at most once per write window (2 ms by default), on the leading
 * edge: a push that finds the reader waiting and the window over goes out at
 * once, alone. A push that comes sooner after the previous read waits for the
 * window's end, and the frames pushed meanwhile go out with it, in one write.
 *
 * A paced answer (Gemini's chunks are tens of milliseconds apart) never waits:
 * each frame is a read of its own, at once. A burst, or a client that lags,
 * gets one write per window (or per runtime write) instead of one per frame.
 * Closing and heartbeats flush at once. Measured with npm run bench (burst):
 * see bench/NOTES.md.
 */
export interface CoalescingQueueOptions {
  /** Bytes queued before {@link CoalescingQueue.ready} makes a producer wait. 64 KiB by default. */
  highWaterMark?: number;
  /** At most one read is served per this many milliseconds while frames keep coming. 2 by default; 0: every push at once. */
  writeWindowMs?: number;
  /** Called once if the reader cancels the stream. */
  onCancel?: (reason: unknown) => void;
}

export class CoalescingQueue {
  readonly readable: ReadableStream<Uint8Array>;
  private queue: Uint8Array[] = [];
  private bytes = 0;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Resolves the read that found the queue empty. */
  private wake: (() => void) | null = null;
  /** Resolves producers waiting for the queue to fall below its high-water mark. */
  private drainWaiters: (() => void)[] = [];
  private closing = false;
  private ended = false;
  /** `Date.now()` of the last read served. */
  private lastRead = 0;
  /** Wakes a waiting read at the end of the write window. */
  private windowTimer: ReturnType<typeof setTimeout> | undefined;

  private readonly highWaterMark: number;
  private readonly writeWindowMs: number;

  constructor({ highWaterMark = 64 * 1024, writeWindowMs = 2, onCancel }: CoalescingQueueOptions = {}) {
    this.highWaterMark = highWaterMark;
    this.writeWindowMs = writeWindowMs;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          if (this.queue.length > 0 || this.closing) {
            this.deliver();
            return;
          }
          return new Promise<void>((resolve) => {
            this.wake = resolve;
          }).then(() => this.deliver());
        },
        cancel: (reason) => {
          this.finish();
          onCancel?.(reason);
        },
      },
      // Nothing queued inside the stream itself: a read pulls, and the pull takes the whole queue.
      { highWaterMark: 0 },
    );
  }

  /** Bytes pushed and not yet read. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** False once the stream is closed, errored or cancelled: pushes are then dropped. */
  get open(): boolean {
    return !this.ended && !this.closing;
  }

  /** Queues a chunk for the next read; an empty one is dropped. */
  push(chunk: Uint8Array): void {
    if (!this.open || chunk.byteLength === 0) return;
    this.queue.push(chunk);
    this.bytes += chunk.byteLength;
    if (!this.wake || this.windowTimer !== undefined) return;
    // Date.now() is the time of the last I/O in workerd: in a burst, each upstream read moves it on.
    const wait = this.lastRead + this.writeWindowMs - Date.now();
    if (wait <= 0) this.wakeReader();
    else this.windowTimer = setTimeout(() => this.wakeReader(), wait);
  }

  /** True while the high-water mark of bytes or more are queued: a producer should wait for {@link ready}. */
  get full(): boolean {
    return this.bytes >= this.highWaterMark && !this.ended;
  }

  /** Resolves when fewer than the high-water mark of bytes are queued (at once if so already). */
  ready(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Ends the stream once the reader has everything pushed so far. */
  close(): void {
    if (!this.open) return;
    this.closing = true;
    this.wakeReader();
  }

  /** Errors the stream at once; whatever is queued is dropped. */
  error(reason: unknown): void {
    if (this.ended) return;
    this.finish();
    this.controller.error(reason);
  }

  private wakeReader(): void {
    if (this.windowTimer !== undefined) {
      clearTimeout(this.windowTimer);
      this.windowTimer = undefined;
    }
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private deliver(): void {
    if (this.ended) return;
    this.lastRead = Date.now();
    if (this.queue.length > 0) this.controller.enqueue(concatBytes(this.queue, this.bytes));
    this.queue = [];
    this.bytes = 0;
    this.releaseProducers();
    if (this.closing) {
      this.finish();
      this.controller.close();
    }
  }

  private finish(): void {
    this.ended = true;
    this.queue = [];
    this.bytes = 0;
    this.wakeReader();
    this.releaseProducers();
  }

  private releaseProducers(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** The chunks as one, in order (the chunk itself when there is one). */
export function concatBytes(chunks: readonly Uint8Array[], byteLength = chunks.reduce((n, chunk) => n + chunk.byteLength, 0)): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const joined = new Uint8Array(byteLength);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}
