import { UPSTREAM_STATUS, type UpstreamErrorCode } from '../gemini/error-mapping';
import {
  annotationsOf,
  finishReasonOf,
  toolCallOf,
  openAiError,
  usageOf,
  type ChatCompletionChunk,
  type ChunkDelta,
  type FinishReason,
} from '../protocol/openai';
import type { SseInput } from './sse-encoder';
import { bytes, dataFrame, DONE_FRAME, type WireFormat } from './wire-format';

const NOTHING = new Uint8Array(0);

/**
 * OpenAI's `chat.completion.chunk` stream, for one answer:
 *
 * ```
 * data: {"id":"chatcmpl-…","object":"chat.completion.chunk","created":…,"model":"gemini-3.8-flash","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null,"logprobs":null}]}
 * data: {…,"choices":[{"index":0,"delta":{},"finish_reason":"stop","logprobs":null}]}
 * data: {…,"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}   (with include_usage)
 * data: [DONE]
 * ```
 *
 * A function call is two chunks, as OpenAI streams one: `delta.tool_calls`
 * `[{ index, id, type: "function", function: { name, arguments: "" } }]`, then
 * `[{ index, function: { arguments: "<the JSON>" } }]` (Gemini sends a call
 * whole, so its arguments come in one piece); an answer that called ends with
 * `finish_reason: "tool_calls"`. A failed call (the adapter's `tool_call_failed`) ends the
 * stream with an error frame, as every error does.
 * Without `parallelToolCalls`, only an answer's first call is sent.
 *
 * A thought summary, when thoughts are shown, streams as `delta.reasoning_content`
 * pieces before (or between) the `content` ones. The first chunk carries `delta.role`; a grounded answer's sources come as
 * `delta.annotations` on the finishing chunk. An error ends the stream with
 * `data: {"error":{…}}` and no `[DONE]` (the `openai` client throws an
 * `APIError` on it). It keeps the answer's id and whether the role was sent,
 * so make one per stream.
 */
export class OpenAiChunkFormat implements WireFormat {
  private roleSent = false;
  private textLength = 0;
  private failed = false;
  /** Calls sent so far: the next one's index. */
  private toolCalls = 0;

  constructor(
    private readonly id: string,
    private readonly created: number,
    private readonly model: string,
    /** `stream_options.include_usage`: a usage chunk before `[DONE]`, and `usage: null` on the others. */
    private readonly includeUsage: boolean,
    /** `parallel_tool_calls`: false sends only an answer's first call (Gemini has no such switch). */
    private readonly parallelToolCalls = true,
  ) {}

  encode(event: SseInput): Uint8Array {
    switch (event.type) {
      case 'text':
        this.textLength += event.text.length;
        return bytes(dataFrame(this.chunk({ content: event.text }, null)));
      case 'thought':
        return bytes(dataFrame(this.chunk({ reasoning_content: event.text }, null)));
      case 'tool-call': {
        if (!this.parallelToolCalls && this.toolCalls > 0) return NOTHING;
        const index = this.toolCalls++;
        const { id, function: fn } = toolCallOf(event);
        return bytes(
          dataFrame(this.chunk({ tool_calls: [{ index, id, type: 'function', function: { name: fn.name, arguments: '' } }] }, null)) +
            dataFrame(this.chunk({ tool_calls: [{ index, function: { arguments: fn.arguments } }] }, null)),
        );
      }
      case 'done': {
        const delta: ChunkDelta = event.sources?.length ? { annotations: annotationsOf(event.sources, this.textLength) } : {};
        let frames = dataFrame(this.chunk(delta, finishReasonOf(event.finishReason, this.toolCalls > 0)));
        if (this.includeUsage) frames += dataFrame({ ...this.head(), choices: [], usage: usageOf(event.usage) } satisfies ChatCompletionChunk);
        return bytes(frames);
      }
      case 'tool-result':
        // Only a stored chat runs tools itself; this API's client runs its own.
        return NOTHING;
      case 'error':
        this.failed = true;
        return bytes(dataFrame(openAiError(UPSTREAM_STATUS[event.code as UpstreamErrorCode] ?? 502, event.code, event.message)));
    }
  }

  end(): Uint8Array {
    return this.failed ? NOTHING : DONE_FRAME;
  }

  private chunk(delta: ChunkDelta, finishReason: FinishReason | null): ChatCompletionChunk {
    if (!this.roleSent) {
      this.roleSent = true;
      delta = { role: 'assistant', ...delta };
    }
    const chunk: ChatCompletionChunk = { ...this.head(), choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] };
    if (this.includeUsage) chunk.usage = null;
    return chunk;
  }

  private head() {
    return { id: this.id, object: 'chat.completion.chunk' as const, created: this.created, model: this.model };
  }
}
