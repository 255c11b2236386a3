import { Hono, type Context } from 'hono';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';
import { streamChat } from '../gemini/chat-stream';
import type { ChatEvents } from '../gemini/gemini-adapter';
import { UPSTREAM_STATUS, type UpstreamErrorCode } from '../gemini/error-mapping';
import { UsageMeter } from '../gemini/usage-meter';
import { admit, charge } from '../limits/admission';
import { chatBodyHasFiles, checkBodyWithoutFiles, decodeChatFiles, parseChatRequest, readFilesBody, toGeminiCall, withFiles, type ChatRequest } from '../limits/chat-request';
import type { GeminiCall } from '../gemini/gemini-adapter';
import { isRecord } from '../protocol/events';
import { assistantName, requestAssistant } from '../assistants/resolve';
import type { Assistant } from '../assistants/assistant';
import type { Config } from '../config';
import type { RequestLog } from '../observability/request-log';
import { isTerminal, type ChatEvent, type Source, type ToolCallEvent, type Usage } from '../protocol/events';
import { SSE_HEADERS } from '../stream/sse-headers';
import { sseBody, type SseEncoderOptions } from '../stream/sse-encoder';

type StreamObserver = NonNullable<SseEncoderOptions['observer']>;

/** The stateless chat endpoints: the whole conversation comes with each request. */
export const chatRoutes = new Hono<AppEnv>();

chatRoutes.post('/api/chat/stream', async (c) => {
  const { config, log } = c.var;
  const [body, , assistant] = await assistantRequest(c);
  checkBodyWithoutFiles(c.req.raw, body, config, chatBodyHasFiles);
  const request = parseChatRequest(body, config, assistant);
  const call = await geminiCall(c, request);
  await admit(c, 'message');
  log.model = request.model;
  const billing = tokenBilling(c);
  const events = await streamChat(call, config, c.req.raw.signal, billing?.meter, { pages: request.assistant.pages });
  log.streaming = true;
  const observer = streamObserver(log, billing);
  return new Response(sseBody(events, { heartbeatMs: config.heartbeatMs, observer }), { headers: SSE_HEADERS });
});

/**
 * What watches a streamed answer: the request log sees every event; with a
 * token budget, the answer is charged when it ends, however it ends.
 */
export function streamObserver(log: RequestLog, billing: TokenBilling | undefined): StreamObserver {
  if (!billing) return log;
  return {
    observe(event: ChatEvent) {
      log.observe(event);
      if (isTerminal(event)) billing.charge();
    },
    cancelled() {
      log.cancelled();
      billing.charge();
    },
  };
}

/** The whole answer as one JSON object, for callers that want no stream. */
export interface ChatAnswer {
  text: string;
  /** The summary of the model's thinking, when thoughts were shown and Gemini sent one. */
  thoughts?: string;
  finishReason: string;
  usage: Usage;
  /** When Gemini grounded the answer: the pages, as in the stream's `done`. */
  sources?: Source[];
  /** The model that answered, when Gemini reported it, as in the stream's `done`. */
  model?: string;
  /** The functions the model called, in order, when the request declared some (the OpenAI API's `tools`). */
  toolCalls?: ToolCallEvent[];
}

chatRoutes.post('/api/chat', async (c) => {
  const { config, log } = c.var;
  const [body, , assistant] = await assistantRequest(c);
  checkBodyWithoutFiles(c.req.raw, body, config, chatBodyHasFiles);
  const request = parseChatRequest(body, config, assistant);
  const call = await geminiCall(c, request);
  await admit(c, 'message');
  log.model = request.model;
  const billing = tokenBilling(c);
  const events = await streamChat(call, config, c.req.raw.signal, billing?.meter, { pages: request.assistant.pages });
  try {
    return c.json(await readAnswer(log, events));
  } finally {
    billing?.charge();
  }
});

/**
 * Reads the answer to its end, noting it in the request log.
 * @throws {ApiError} when it ends in an error: nothing has been sent, so it is still an HTTP error
 */
export async function readAnswer(log: RequestLog, events: ChatEvents): Promise<ChatAnswer> {
  const pieces: string[] = [];
  let thoughts = '';
  const toolCalls: ToolCallEvent[] = [];
  for await (const event of events) {
    if (event.type === 'text') {
      log.firstToken();
      pieces.push(event.text);
    } else if (event.type === 'thought') {
      thoughts += event.text;
    } else if (event.type === 'tool-call') {
      log.firstToken();
      toolCalls.push(event);
    } else if (event.type === 'done') {
      log.done(event);
      const answer: ChatAnswer = { text: pieces.join(''), finishReason: event.finishReason, usage: event.usage };
      if (thoughts) answer.thoughts = thoughts;
      if (event.sources) answer.sources = event.sources;
      if (event.model !== undefined) answer.model = event.model;
      if (toolCalls.length) answer.toolCalls = toolCalls;
      return answer;
    } else if (event.type === 'error') {
      // Nothing has been sent yet, so a failure mid-answer is still an HTTP error.
      throw new ApiError(UPSTREAM_STATUS[event.code as UpstreamErrorCode] ?? 502, event.code, event.message);
    }
  }
  throw new ApiError(502, 'upstream_incomplete', 'Gemini ended the answer without a finish reason');
}

/** A meter for an answer, and a `charge` that bills it to the client once. */
export interface TokenBilling {
  meter: UsageMeter;
  charge: () => void;
}

/**
 * With a token budget on, a meter for the answer and a `charge` that bills it
 * to the client once, after the response; undefined when there is nothing to charge.
 */
export function tokenBilling(c: Context<AppEnv>): TokenBilling | undefined {
  const key = c.var.client?.chargeKey;
  if (key === undefined) return undefined;
  const meter = new UsageMeter();
  let charged = false;
  return {
    meter,
    charge() {
      if (charged) return;
      charged = true;
      charge(c.env, (promise) => c.executionCtx.waitUntil(promise), key, meter.tokens());
    },
  };
}

/**
 * A chat request's body, the settings and the assistant that answers it (named in the body, or
 * the one serving the page's origin): what parseChatRequest takes.
 */
export async function assistantRequest(c: Context<AppEnv>): Promise<[body: unknown, config: Config, assistant: Assistant]> {
  const { config } = c.var;
  const body = await readFilesBody(c.req.raw, config);
  return [body, config, requestAssistant(c, assistantName(isRecord(body) ? body.assistant : undefined))];
}

/**
 * The Gemini call of a stateless request. Its files (if any) are decoded and
 * checked here, before admission: a refused file costs the client nothing.
 * A request without files takes the path it always took.
 */
async function geminiCall(c: Context<AppEnv>, request: ChatRequest): Promise<GeminiCall> {
  const { config } = c.var;
  const call = toGeminiCall(request, config);
  if (!request.files) return call;
  return withFiles(call, await decodeChatFiles(request.files, config), config);
}
