import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';
import { streamChat } from '../gemini/chat-stream';
import { UPSTREAM_STATUS, type UpstreamErrorCode } from '../gemini/error-mapping';
import { parseChatRequest, toGeminiCall } from '../limits/chat-request';
import { readJsonBody } from '../limits/read-json-body';
import type { Usage } from '../protocol/events';
import { SSE_HEADERS } from '../stream/sse-headers';
import { SseEncoderStream } from '../stream/sse-encoder';

/** The stateless chat endpoints: the whole conversation comes with each request. */
export const chatRoutes = new Hono<AppEnv>();

chatRoutes.post('/api/chat/stream', async (c) => {
  const { config, log } = c.var;
  const request = parseChatRequest(await readJsonBody(c.req.raw, config.maxBodyBytes), config);
  log.model = request.model;
  const events = await streamChat(toGeminiCall(request, config), config, c.req.raw.signal);
  log.streaming = true;
  const body = events.pipeThrough(new SseEncoderStream({ heartbeatMs: config.heartbeatMs, observer: log }));
  return new Response(body, { headers: SSE_HEADERS });
});

/** The whole answer as one JSON object, for callers that want no stream. */
export interface ChatAnswer {
  text: string;
  finishReason: string;
  usage: Usage;
}

chatRoutes.post('/api/chat', async (c) => {
  const { config, log } = c.var;
  const request = parseChatRequest(await readJsonBody(c.req.raw, config.maxBodyBytes), config);
  log.model = request.model;
  const events = await streamChat(toGeminiCall(request, config), config, c.req.raw.signal);
  const pieces: string[] = [];
  for await (const event of events) {
    if (event.type === 'text') {
      log.firstToken();
      pieces.push(event.text);
    } else if (event.type === 'done') {
      log.finishReason = event.finishReason;
      log.usage = event.usage;
      return c.json({ text: pieces.join(''), finishReason: event.finishReason, usage: event.usage } satisfies ChatAnswer);
    } else {
      // Nothing has been sent yet, so a failure mid-answer is still an HTTP error.
      throw new ApiError(UPSTREAM_STATUS[event.code as UpstreamErrorCode] ?? 502, event.code, event.message);
    }
  }
  throw new ApiError(502, 'upstream_incomplete', 'Gemini ended the answer without a finish reason');
});
