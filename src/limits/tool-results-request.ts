import type { Config } from '../config';
import { ApiError } from '../errors';
import { isRecord } from '../protocol/events';
import type { PageToolResult } from '../chat/turn';
import { MAX_TOOL_ERROR_CHARS } from '../protocol/parts';

/** Results one request may carry: a step's parallel calls, at most. */
export const MAX_RESULTS = 32;

/**
 * `POST /api/chats/:id/tool-results`: `{"results":[{"toolCallId","result"} | {"toolCallId","error"}]}`,
 * the page's answers to the turn's page-side calls (`event: tool-call` with `"runsOn":"page"`).
 * Each result is any JSON, at most TOOLS_MAX_RESPONSE_BYTES as JSON text (what an owner's endpoint
 * may answer); an error is a string the model reads.
 * @throws {ApiError} 400 naming the first field that is wrong, 413 for a result too large
 */
export function parseToolResults(body: unknown, config: Config): PageToolResult[] {
  const results = isRecord(body) ? body.results : undefined;
  if (!Array.isArray(results) || results.length === 0 || results.length > MAX_RESULTS) {
    throw new ApiError(400, 'invalid_request', `results must be a list of 1 to ${MAX_RESULTS} { toolCallId, result } or { toolCallId, error }`);
  }
  return results.map((item, i) => checkResult(item, `results[${i}]`, config.tools.maxResponseBytes));
}

/**
 * One page result, checked: also how the AI SDK's tool outputs are read, whose parts call a
 * result `output` and an error `errorText` (`fields`: the names the messages use).
 */
export function checkResult(item: unknown, at: string, maxBytes: number, fields: { result: string; error: string } = { result: 'result', error: 'error' }): PageToolResult {
  const shapes = `{ toolCallId, ${fields.result} } or { toolCallId, ${fields.error} }`;
  if (!isRecord(item)) throw new ApiError(400, 'invalid_request', `${at} must be an object: ${shapes}`);
  const { toolCallId, error } = item;
  if (typeof toolCallId !== 'string' || toolCallId === '' || toolCallId.length > 256) {
    throw new ApiError(400, 'invalid_request', `${at}.toolCallId must be the id of the call, as its tool-call frame gave it`);
  }
  if (error !== undefined) {
    if ('result' in item) throw new ApiError(400, 'invalid_request', `${at} has both ${fields.result} and ${fields.error}: give one`);
    if (typeof error !== 'string' || error.length > MAX_TOOL_ERROR_CHARS) throw new ApiError(400, 'invalid_request', `${at}.${fields.error} must be a string of at most ${MAX_TOOL_ERROR_CHARS} characters`);
    return { toolCallId, error };
  }
  if (!('result' in item)) throw new ApiError(400, 'invalid_request', `${at} needs a ${fields.result} (any JSON) or an ${fields.error} (a string)`);
  const size = new TextEncoder().encode(JSON.stringify(item.result) ?? '').length;
  if (size > maxBytes) throw new ApiError(413, 'too_large', `${at}.${fields.result} is ${size} bytes as JSON; at most ${maxBytes} (TOOLS_MAX_RESPONSE_BYTES)`);
  return { toolCallId, result: item.result ?? null };
}
