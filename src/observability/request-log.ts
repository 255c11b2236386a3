import type { ChatEvent, DoneEvent, ErrorCode, Usage } from '../protocol/events';
import { isReroute } from '../gemini/models';

/** How much of a chat id a log line shows. */
export const CHAT_PREFIX = 8;

/**
 * One structured JSON log line per request. It holds ids, timings, counts and
 * codes — never the API key, never message text, never a client's address,
 * and a chat's id only by its first {@link CHAT_PREFIX} characters (the id is
 * the capability to the chat; a prefix is enough to correlate).
 */
export class RequestLog {
  readonly id = crypto.randomUUID();
  route = 'unmatched';
  /** The chat's id prefix, on /api/chats/:id routes. */
  chat?: string;
  /** The site assistant that answers, once known. */
  assistant?: string;
  /** The model the request asked for. */
  model?: string;
  /** The model that answered, when Gemini reported another one (a reroute). */
  answeredBy?: string;
  finishReason?: string;
  errorCode?: ErrorCode;
  usage?: Usage;
  /** Set by streaming routes: the line is written when the stream ends, not with the headers. */
  streaming = false;
  private readonly started = Date.now();
  private firstTokenMs?: number;
  private firstThoughtMs?: number;
  private written = false;
  /** Called once, when the line is written: the dashboard's counts (set by the `countRequests` middleware, src/stats/count-requests.ts). */
  onWrite?: (log: RequestLog, status: number) => void;

  constructor(readonly method: string) {}

  /** Milliseconds from the request to the answer's first text, once there was one. */
  get ttftMs(): number | undefined {
    return this.firstTokenMs;
  }

  firstToken(): void {
    this.firstTokenMs ??= Date.now() - this.started;
  }

  /**
   * Notes a streamed event: the first text's time (and the first thought's), and the outcome. The line
   * is written at the terminal event. Called per event, so it does little.
   */
  observe(event: ChatEvent): void {
    // A function call is the answer's first output as much as text is.
    if (event.type === 'text' || event.type === 'tool-call') return this.firstToken();
    if (event.type === 'thought') {
      this.firstThoughtMs ??= Date.now() - this.started;
      return;
    }
    if (event.type === 'tool-result') return;
    if (event.type === 'done') this.done(event);
    else this.errorCode = event.code;
    this.write(200);
  }

  /** Notes how the answer ended, and which model gave it when that is not the one asked for. */
  done(event: DoneEvent): void {
    this.finishReason = event.finishReason;
    this.usage = event.usage;
    if (this.model !== undefined && isReroute(this.model, event.model)) this.answeredBy = event.model;
  }

  /** The stream was cancelled before its terminal event (the client left). */
  cancelled(): void {
    this.errorCode ??= 'cancelled';
    this.write(200);
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
        assistant: this.assistant,
        chat: this.chat,
        status,
        model: this.model,
        answeredBy: this.answeredBy,
        ttftMs: this.firstTokenMs,
        firstThoughtMs: this.firstThoughtMs,
        durationMs: Date.now() - this.started,
        usage: this.usage,
        finishReason: this.finishReason,
        errorCode: this.errorCode,
      }),
    );
    this.onWrite?.(this, status);
  }
}
