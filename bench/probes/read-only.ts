/**
 * Probe (npm run bench -- --probes): reads Gemini's body in JavaScript and
 * discards it, then answers with one frame saying how many reads it took.
 * `?byob=1` reads into a 64 KiB buffer instead of taking the runtime's chunks.
 */
import { fetchGeminiStream, type Env } from './upstream';
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const upstream = await fetchGeminiStream(request, env);
    let reads = 0;
    let bytes = 0;
    if (new URL(request.url).searchParams.has('byob')) {
      const reader = upstream.body!.getReader({ mode: 'byob' });
      let buffer = new ArrayBuffer(65536);
      for (;;) {
        const { value, done } = await reader.read(new Uint8Array(buffer));
        if (done) break;
        reads++;
        bytes += value.byteLength;
        buffer = value.buffer;
      }
    } else {
      const reader = upstream.body!.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        reads++;
        bytes += value.byteLength;
      }
    }
    return new Response(`data: ${JSON.stringify({ done: true, reads, bytes })}\n\n`, {
      headers: { 'Content-Type': 'text/event-stream' },
    });
  },
};
