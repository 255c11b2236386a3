import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { DEFAULT_ASSISTANT } from '../assistants/assistant';
import { assistantForOrigin } from '../assistants/registry';
import type { RequestLog } from '../observability/request-log';
import { countForDashboard } from './stats-batch';

/** Set by the chat's object on a turn's response, read and removed here: the chat's assistant. */
export const CHAT_ASSISTANT_HEADER = 'x-chat-assistant';
/** Set by the chat's object on a refused or failed turn's response, read and removed here: its code. */
export const ERROR_CODE_HEADER = 'x-error-code';

/** `POST` paths that call Gemini: every request to them counts, refusals included. */
const STATELESS = new Set(['/api/chat', '/api/chat/stream', '/v1/chat/completions']);
/** Turns of stored chats: their object counts how a turn it started ends. */
const STORED_TURN = /^\/api\/(?:chats\/[^/]+\/messages|ai-sdk\/chat)$/;

/**
 * Middleware, after the request log's: with the dashboard on (ADMIN_KEY), every
 * request to a route that calls Gemini is counted when its log line is written
 * (refused, failed, answered: the line knows the status, the code, the usage
 * and the time to first token), in this isolate's batch ({@link countForDashboard}).
 * A stored chat's turn that its object started is counted by the object when
 * the turn ends; here, only the request and the refusals before the turn.
 */
export function countRequests(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Hono's path, already parsed for routing: no URL of our own per request.
    const pathname = c.req.path;
    const storedTurn = STORED_TURN.test(pathname);
    const counted = c.req.method === 'POST' && (storedTurn || STATELESS.has(pathname));
    const { log } = c.var;
    if (counted && c.var.config?.adminKey !== undefined) {
      const origin = c.req.header('origin');
      log.onWrite = (line, status) => {
        countForDashboard(c.env, (promise) => c.executionCtx.waitUntil(promise), tallyOf(line, status, storedTurn, origin));
      };
    }
    await next();
    if (!storedTurn) return;
    // What the chat's object said of the turn (its response passes through the route untouched).
    const assistant = c.res.headers.get(CHAT_ASSISTANT_HEADER);
    const code = c.res.headers.get(ERROR_CODE_HEADER);
    if (assistant !== null) log.assistant = assistant;
    if (code !== null) log.errorCode ??= code as NonNullable<RequestLog['errorCode']>;
    c.res.headers.delete(CHAT_ASSISTANT_HEADER);
    c.res.headers.delete(ERROR_CODE_HEADER);
  };
}

function tallyOf(log: RequestLog, status: number, storedTurn: boolean, origin: string | undefined) {
  // A refusal before the assistant was known counts for the one serving the page.
  const assistant = log.assistant ?? (origin !== undefined ? assistantForOrigin(origin)?.name : undefined) ?? DEFAULT_ASSISTANT;
  const model = log.answeredBy ?? log.model ?? '';
  // A turn the chat's object started (2xx) is its object's to count; a failure before it, ours.
  if (storedTurn && status < 300 && log.errorCode === undefined) return { at: Date.now(), assistant, model, request: true };
  const errorCode = log.errorCode ?? (status >= 400 ? (status >= 500 ? 'internal_error' : 'invalid_request') : undefined);
  return {
    at: Date.now(),
    assistant,
    model,
    request: true,
    errorCode,
    answered: errorCode === undefined && log.usage !== undefined,
    usage: log.usage,
    ttftMs: log.ttftMs,
  };
}
