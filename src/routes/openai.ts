import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';
import { streamChat } from '../gemini/chat-stream';
import { admit } from '../limits/admission';
import { bearerAuth } from '../limits/bearer-auth';
import { ASSISTANT_MODEL_PREFIX, completionBodyHasFiles, parseCompletionRequest, ParamError, withCompletionFiles } from '../limits/openai-request';
import { checkBodyWithoutFiles, readFilesBody } from '../limits/chat-request';
import { assistants } from '../assistants/registry';
import { annotationsOf, finishReasonOf, toolCallOf, usageOf, type ChatCompletion } from '../protocol/openai';
import { sseBody } from '../stream/sse-encoder';
import { SSE_HEADERS } from '../stream/sse-headers';
import { OpenAiChunkFormat } from '../stream/openai-format';
import { readAnswer, streamObserver, tokenBilling } from './chat';
import { openAiErrorResponse } from './openai-errors';

/**
 * The OpenAI-compatible API: `POST /v1/chat/completions`, `GET /v1/models`
 * and `GET /v1/models/:model`, for servers and tools that speak OpenAI's
 * protocol (the official `openai` client, with `baseURL` set to `…/v1`).
 *
 * Opt-in: without OPENAI_COMPAT_KEYS every `/v1/*` path answers the plain 404
 * of any unknown path. With keys, each request needs `Authorization: Bearer
 * <key>`; the limits count it by its key, not its address. No CORS: a browser
 * page should never hold the key.
 */
export const openaiRoutes = new Hono<AppEnv>();

/** The `/v1/*` paths, with their methods, for 405 answers. */
const V1_ROUTES: Record<string, string> = {
  '/v1/chat/completions': 'POST',
  '/v1/models': 'GET, HEAD',
  '/v1/models/:model': 'GET, HEAD',
};

/** `created` of every model: Google publishes no creation time, so none is claimed. */
const MODEL_CREATED = 0;

openaiRoutes.onError(openAiErrorResponse);

openaiRoutes.use('/v1/*', bearerAuth());

/** The models, then the site assistants as `assistant:<name>`. */
const modelIds = (allowed: readonly string[]) => [...allowed, ...[...assistants().keys()].map((name) => `${ASSISTANT_MODEL_PREFIX}${name}`)];

openaiRoutes.get('/v1/models', (c) => c.json({ object: 'list', data: modelIds(c.var.config.allowedModels).map(modelObject) }));

openaiRoutes.get('/v1/models/:model', (c) => {
  const id = c.req.param('model');
  if (!modelIds(c.var.config.allowedModels).includes(id)) {
    throw new ParamError(404, 'model_not_allowed', `The model "${id.slice(0, 100)}" does not exist here`, 'model', 'model_not_found');
  }
  return c.json(modelObject(id));
});

openaiRoutes.post('/v1/chat/completions', async (c) => {
  const { config, log } = c.var;
  const body = await readFilesBody(c.req.raw, config);
  checkBodyWithoutFiles(c.req.raw, body, config, completionBodyHasFiles);
  const request = parseCompletionRequest(body, config);
  // Inline files are checked before admission (a refused file costs the key nothing), links
  // fetched after it (a key a limit refuses makes the Worker fetch nothing).
  const withLinks = await withCompletionFiles(request, config);
  await admit(c, 'message', c.var.apiKeyId);
  const call = await withLinks();
  log.model = call.model;
  const billing = tokenBilling(c);
  const events = await streamChat(call, config, c.req.raw.signal, billing?.meter, { pages: request.pages });
  const id = `chatcmpl-${crypto.randomUUID().replaceAll('-', '')}`;
  const created = Math.floor(Date.now() / 1000);
  if (request.stream) {
    log.streaming = true;
    const format = new OpenAiChunkFormat(id, created, request.model, request.includeUsage, request.parallelToolCalls);
    const body = sseBody(events, { heartbeatMs: config.heartbeatMs, observer: streamObserver(log, billing), format });
    return new Response(body, { headers: SSE_HEADERS });
  }
  try {
    const answer = await readAnswer(log, events);
    // parallel_tool_calls: false keeps the first call only (Gemini has no such switch).
    const calls = (request.parallelToolCalls ? answer.toolCalls : answer.toolCalls?.slice(0, 1))?.map(toolCallOf);
    const completion: ChatCompletion = {
      id,
      object: 'chat.completion',
      created,
      model: request.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            // OpenAI's answer of only calls has no content.
            content: calls && !answer.text ? null : answer.text,
            ...(answer.thoughts ? { reasoning_content: answer.thoughts } : {}),
            refusal: null,
            ...(answer.sources?.length ? { annotations: annotationsOf(answer.sources, answer.text.length) } : {}),
            ...(calls ? { tool_calls: calls } : {}),
          },
          finish_reason: finishReasonOf(answer.finishReason, calls !== undefined),
          logprobs: null,
        },
      ],
      usage: usageOf(answer.usage),
    };
    return c.json(completion);
  } finally {
    billing?.charge();
  }
});

for (const [path, allow] of Object.entries(V1_ROUTES)) {
  openaiRoutes.all(path, (c) => {
    throw new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed here; use ${allow}`, { Allow: allow });
  });
}

openaiRoutes.all('/v1/*', (c) => {
  throw new ApiError(404, 'not_found', `Unknown request URL: ${c.req.method} ${new URL(c.req.url).pathname.slice(0, 200)}`);
});

function modelObject(id: string) {
  return { id, object: 'model', created: MODEL_CREATED, owned_by: 'google' };
}
