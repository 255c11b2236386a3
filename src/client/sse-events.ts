import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';
import { parseEventData } from '../protocol/events.js';
import type { StreamEvent, ToolStreamEvent } from './types.js';

/** A frame longer than this is not ours: stop instead of buffering it. */
const MAX_FRAME_CHARS = 4 * 1024 * 1024;

/**
 * The events of an SSE response body, each checked against the protocol:
 * `thought`, `text`, `tool-call` and `tool-result` events (the last two typed as
 * {@link ToolStreamEvent}), then one `done` or `error`, after which the stream closes
 * (and the body is released). A frame that is not a valid event ends the
 * stream with an `invalid_response` error.
 *
 * Bytes are decoded by `TextDecoderStream` (a character split across reads
 * is joined) and frames found by `eventsource-parser` (frames split across
 * reads, CRLF or LF, `: ping` comments). `onActivity` is called for every
 * chunk of bytes, comments included: the caller's liveness signal.
 */
export function parseEventStream(body: ReadableStream<Uint8Array>, onActivity?: () => void): ReadableStream<StreamEvent | ToolStreamEvent> {
  const source = onActivity
    ? body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            onActivity();
            controller.enqueue(chunk);
          },
        }),
      )
    : body;
  // TextDecoderStream's writable side is typed as BufferSource, which TS's DOM types do not unify with Uint8Array.
  return source
    .pipeThrough(new TextDecoderStream() as ReadableWritablePair<string, Uint8Array>)
    .pipeThrough(new EventSourceParserStream({ maxBufferSize: MAX_FRAME_CHARS }))
    .pipeThrough(new EventCheckStream());
}

/** SSE messages → protocol events, ending at the first terminal or invalid one. */
class EventCheckStream extends TransformStream<EventSourceMessage, StreamEvent | ToolStreamEvent> {
  constructor() {
    super({
      transform(message, controller) {
        const event: StreamEvent | ToolStreamEvent | null = parseEventData(message.data, message.event);
        if (!event) {
          controller.enqueue({ type: 'error', code: 'invalid_response', message: 'The Worker sent a frame that is not a chat event' });
          controller.terminate();
          return;
        }
        if (message.id !== undefined && /^\d{1,15}$/.test(message.id)) event.id = Number(message.id);
        controller.enqueue(event);
        if (event.type === 'done' || event.type === 'error') controller.terminate();
      },
    });
  }
}
