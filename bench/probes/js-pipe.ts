/**
 * Probe (npm run bench -- --probes): the pass-through, except that every read
 * of Gemini's body passes through JavaScript unchanged. Its cost over the
 * pass-through is what any JS-visible streaming costs before parsing anything.
 */
import { fetchGeminiStream, type Env } from './upstream';
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const upstream = await fetchGeminiStream(request, env);
    const body = upstream.body!.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, {
      status: upstream.status,
      headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform' },
    });
  },
};
