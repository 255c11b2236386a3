/**
 * Probe (npm run bench -- --probes): reads Gemini's body in JavaScript and
 * discards it, then answers with one frame saying how many reads it took.
 * `?byob=1` reads into a 64 KiB buffer instead of taking the runtime's chunks.
 */
interface Env {
  GEMINI_BASE_URL: string;
  GEMINI_API_KEY: string;
  GEMINI_MODEL?: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { message } = (await request.json()) as { message: string };
    const model = env.GEMINI_MODEL ?? 'gemini-2.5-flash';
    const upstream = await fetch(`${env.GEMINI_BASE_URL}/v1beta/models/${model}:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': env.GEMINI_API_KEY },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: message }] }] }),
      signal: request.signal,
    });
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
