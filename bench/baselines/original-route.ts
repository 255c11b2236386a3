/**
 * Baseline 2: the original Next.js route this project grew from, ported to a
 * Worker as literally as possible — SDK stream → ReadableStream of
 * `data: {"text"}` frames → `data: {"done":true,"usage"}`.
 */
import { GoogleGenerativeAI } from '@google/generative-ai';

interface Env {
  GEMINI_BASE_URL: string;
  GEMINI_API_KEY: string;
  GEMINI_MODEL?: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { message } = (await request.json()) as { message: string };
    const genAI = new GoogleGenerativeAI(env.GEMINI_API_KEY);
    const model = genAI.getGenerativeModel({ model: env.GEMINI_MODEL ?? 'gemini-3.8-flash' }, { baseUrl: env.GEMINI_BASE_URL });
    const result = await model.generateContentStream(message);
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        try {
          for await (const chunk of result.stream) {
            const text = chunk.text();
            if (text) controller.enqueue(encoder.encode(`data: ${JSON.stringify({ text })}\n\n`));
          }
          const response = await result.response;
          controller.enqueue(encoder.encode(`data: ${JSON.stringify({ done: true, usage: response.usageMetadata })}\n\n`));
        } catch (error) {
          controller.enqueue(encoder.encode(`data: ${JSON.stringify({ error: String(error) })}\n\n`));
        } finally {
          controller.close();
        }
      },
    });
    return new Response(stream, {
      headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' },
    });
  },
};
