/**
 * Probe (npm run bench -- --probes): Gemini's SSE parsed by hand, without the
 * SDK, and re-encoded as gemini-edge frames through the same encodeSse.
 * Its cost is what the stream path would cost if it did not use the SDK.
 */
import { fetchGeminiStream, type Env, type GeminiChunk as Chunk } from './upstream';
import { encodeSse, type SseInput } from '../../src/stream/sse-encoder';

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const upstream = await fetchGeminiStream(request, env);
    const decoder = new TextDecoder();
    let buffer = '';
    let finishReason = '';
    let usage: Record<string, number> | undefined;
    const events = upstream.body!.pipeThrough(
      new TransformStream<Uint8Array, SseInput>({
        transform(bytes, controller) {
          buffer += decoder.decode(bytes, { stream: true });
          let start = 0;
          for (let end; (end = buffer.indexOf('\r\n\r\n', start)) >= 0; start = end + 4) {
            const line = buffer.slice(start, end);
            if (!line.startsWith('data: ')) continue;
            const chunk = JSON.parse(line.slice(6)) as Chunk;
            const candidate = chunk.candidates?.[0];
            if (chunk.usageMetadata) usage = chunk.usageMetadata;
            if (candidate?.finishReason) finishReason = candidate.finishReason;
            const text = candidate?.content?.parts?.[0]?.text;
            if (text) controller.enqueue({ type: 'text', text });
          }
          buffer = buffer.slice(start);
        },
        flush(controller) {
          controller.enqueue({ type: 'done', finishReason, usage: usage as never });
        },
      }),
    );
    return new Response(encodeSse(events), {
      headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform' },
    });
  },
};
