/**
 * Probe (npm run bench -- --probes): the leanest stream path we could write —
 * one read loop that splits Gemini's SSE by hand, JSON.parses each event and
 * pushes gemini-edge frames into a CoalescingQueue. No SDK and no pipe stages;
 * no timeouts or error handling either, so it is a floor, not a product.
 */
import { fetchGeminiStream, type Env, type GeminiChunk as Chunk } from './upstream';
import { CoalescingQueue } from '../../src/stream/coalescing-queue';
import { encodeFrame } from '../../src/stream/sse-encoder';

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const upstream = await fetchGeminiStream(request, env);
    const queue = new CoalescingQueue();
    const pump = async () => {
      const reader = upstream.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      let finishReason = '';
      let usage: Record<string, number> | undefined;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let start = 0;
        for (let end; (end = buffer.indexOf('\r\n\r\n', start)) >= 0; start = end + 4) {
          if (!buffer.startsWith('data: ', start)) continue;
          const chunk = JSON.parse(buffer.slice(start + 6, end)) as Chunk;
          const candidate = chunk.candidates?.[0];
          if (chunk.usageMetadata) usage = chunk.usageMetadata;
          if (candidate?.finishReason) finishReason = candidate.finishReason;
          const text = candidate?.content?.parts?.[0]?.text;
          if (text) queue.push(encodeFrame({ type: 'text', text }));
        }
        buffer = buffer.slice(start);
        await queue.ready();
      }
      queue.push(encodeFrame({ type: 'done', finishReason, usage: usage as never }));
      queue.close();
    };
    pump().catch((error) => queue.error(error));
    return new Response(queue.readable, {
      headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform' },
    });
  },
};
