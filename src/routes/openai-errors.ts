import type { Context } from 'hono';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';
import { ParamError } from '../limits/openai-request';
import { openAiError } from '../protocol/openai';
import type { ErrorCode } from '../protocol/events';

/**
 * Statuses that differ from the native API's, so that the `openai` client
 * raises the class its users catch: a blocked prompt is a 400 (with code
 * `content_filter`, as Azure OpenAI answers a filtered prompt), not a 422; a
 * model Gemini does not serve is a 404 `model_not_found` (`NotFoundError`, as
 * OpenAI answers an unknown model), not a 502.
 */
const STATUS: Partial<Record<ErrorCode, number>> = { blocked: 400, model_unavailable: 404 };

/**
 * `onError` of the `/v1/*` routes: every error in OpenAI's shape
 * `{"error":{"message","type","code","param"}}`, with the status the `openai`
 * client maps to its error classes. Unknown errors are logged and answered
 * as a 500 without details.
 */
export function openAiErrorResponse(error: Error, c: Context<AppEnv>): Response {
  if (!(error instanceof ApiError)) {
    console.error(JSON.stringify({ level: 'error', event: 'unhandled', requestId: c.var.log?.id, error: error.name, stack: error.stack }));
    return respond(c, 500, 'internal_error', 'internal error');
  }
  const headers = { ...error.headers };
  // A spent daily budget, or a Gemini quota of zero, will not come back in the client's retry window: tell it not to retry.
  if (error.code === 'budget_exhausted' || error.final) headers['x-should-retry'] = 'false';
  const param = error instanceof ParamError ? error.param : null;
  const code = error instanceof ParamError ? error.openAiCode : undefined;
  return respond(c, STATUS[error.code] ?? error.status, error.code, error.message, headers, param, code);
}

/** An OpenAI-shaped error response, noted in the request's log line. */
function respond(
  c: Context<AppEnv>,
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
  param: string | null = null,
  openAiCode?: string,
): Response {
  if (c.var.log) c.var.log.errorCode = code;
  return new Response(JSON.stringify(openAiError(status, code, message, param, openAiCode)), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
  });
}
