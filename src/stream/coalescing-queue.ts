/**
 * A byte stream fed by {@link CoalescingQueue.push}: each read gets everything
 * pushed since the previous read, as one chunk.
 *
 * When the reader keeps up (a paced answer), a read is already waiting, so each
 * frame goes out alone, at once — no added latency. When the producer is faster
 * (a burst, or a slow client), frames pile up while the runtime writes the last
 * chunk, and the next read takes them all: the runtime then makes one socket
 * write instead of one per frame. Measured with npm run bench (burst): see
 * bench/NOTES.md.
 */
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

  /**
   * @param highWaterMark bytes queued before {@link ready} makes a producer wait
   * @param onCancel called once if the reader cancels the stream
   */
  constructor(
    private readonly highWaterMark = 64 * 1024,
    onCancel?: (reason: unknown) => void,
  ) {
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
    this.wakeReader();
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
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private deliver(): void {
    if (this.ended) return;
    const { queue } = this;
    if (queue.length === 1) {
      this.controller.enqueue(queue[0]);
    } else if (queue.length > 1) {
      const joined = new Uint8Array(this.bytes);
      let offset = 0;
      for (const chunk of queue) {
        joined.set(chunk, offset);
        offset += chunk.byteLength;
      }
      this.controller.enqueue(joined);
    }
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
