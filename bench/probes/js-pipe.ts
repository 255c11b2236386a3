/**
 * Probe (npm run bench -- --probes): the pass-through, except that every read
 * of Gemini's body passes through JavaScript unchanged. Its cost over the
 * pass-through is what any JS-visible streaming costs before parsing anything.
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
