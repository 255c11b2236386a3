import type { ChatEvent, ErrorCode, Usage } from '../protocol/events';

/**
 * One structured JSON log line per request. It holds ids, timings, counts and
 * codes — never the API key and never message text.
 */
export class RequestLog {
  readonly id = crypto.randomUUID();
  route = 'unmatched';
  model?: string;
  finishReason?: string;
  errorCode?: ErrorCode;
  usage?: Usage;
  /** Set by streaming routes: the line is written when the stream ends, not with the headers. */
  streaming = false;
  private readonly started = Date.now();
  private firstTokenMs?: number;
  private written = false;

  constructor(private readonly method: string) {}

  firstToken(): void {
    this.firstTokenMs ??= Date.now() - this.started;
  }

  /** Writes the line once; later calls do nothing. */
  write(status: number): void {
    if (this.written) return;
    this.written = true;
    console.log(
      JSON.stringify({
        level: status >= 500 ? 'error' : 'info',
        requestId: this.id,
        method: this.method,
        route: this.route,
        status,
        model: this.model,
        ttftMs: this.firstTokenMs,
        durationMs: Date.now() - this.started,
        usage: this.usage,
        finishReason: this.finishReason,
        errorCode: this.errorCode,
      }),
    );
  }
}

/**
 * Passes chat events through unchanged, noting the time to first token and
 * the outcome, and writes the request's log line when the stream ends.
 */
export class LogTapStream extends TransformStream<ChatEvent, ChatEvent> {
  constructor(log: RequestLog) {
    super({
      transform(event, controller) {
        controller.enqueue(event);
        if (event.type === 'text') {
          log.firstToken();
        } else if (event.type === 'done') {
          log.finishReason = event.finishReason;
          log.usage = event.usage;
          log.write(200);
        } else {
          log.errorCode = event.code;
          log.write(200);
        }
      },
      cancel() {
        log.errorCode ??= 'cancelled';
        log.write(200);
      },
    });
  }
}
