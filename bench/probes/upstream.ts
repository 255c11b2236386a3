/** What every probe shares: the bench's settings, and the streaming call to the fake Gemini. */
export interface Env {
  GEMINI_BASE_URL: string;
  GEMINI_API_KEY: string;
  GEMINI_MODEL?: string;
}

/** Reads `{message}` from the request and starts Gemini's SSE stream for it, as the pass-through does. */
export async function fetchGeminiStream(request: Request, env: Env): Promise<Response> {
  const { message } = (await request.json()) as { message: string };
  const model = env.GEMINI_MODEL ?? 'gemini-3.8-flash';
  return fetch(`${env.GEMINI_BASE_URL}/v1beta/models/${model}:streamGenerateContent?alt=sse`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': env.GEMINI_API_KEY },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: message }] }] }),
    signal: request.signal,
  });
}

/** The parts of a Gemini chunk the hand-written parsers read. */
export interface GeminiChunk {
  candidates?: { content?: { parts?: { text?: string }[] }; finishReason?: string }[];
  usageMetadata?: Record<string, number>;
}
