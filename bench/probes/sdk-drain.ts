/**
 * Probe (npm run bench -- --probes): the SDK's parse alone. It reads every
 * chunk of generateContentStream and writes nothing until the end (one done
 * frame), so its cost over js-pipe is what @google/generative-ai costs per chunk.
 */
import { GoogleGenerativeAI } from '@google/generative-ai';
import type { Env } from './upstream';

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { message } = (await request.json()) as { message: string };
    const model = new GoogleGenerativeAI(env.GEMINI_API_KEY).getGenerativeModel(
      { model: env.GEMINI_MODEL ?? 'gemini-3.8-flash' },
      { baseUrl: env.GEMINI_BASE_URL },
    );
    const result = await model.generateContentStream(message);
    let chars = 0;
    for await (const chunk of result.stream) chars += chunk.candidates?.[0]?.content?.parts?.[0]?.text?.length ?? 0;
    const response = await result.response;
    return new Response(`data: ${JSON.stringify({ done: true, chars, usage: response.usageMetadata })}\n\n`, {
      headers: { 'Content-Type': 'text/event-stream' },
    });
  },
};
