/**
 * Baseline 1, the floor: a Worker that forwards the request to Gemini and
 * returns Gemini's SSE bytes untouched — no parse, no re-encode.
 */
interface Env {
  GEMINI_BASE_URL: string;
  GEMINI_API_KEY: string;
  GEMINI_MODEL?: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { message } = (await request.json()) as { message: string };
    const model = env.GEMINI_MODEL ?? 'gemini-3.8-flash';
    const upstream = await fetch(`${env.GEMINI_BASE_URL}/v1beta/models/${model}:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': env.GEMINI_API_KEY },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: message }] }] }),
      signal: request.signal,
    });
    return new Response(upstream.body, {
      status: upstream.status,
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        'Content-Encoding': 'identity',
      },
    });
  },
};
