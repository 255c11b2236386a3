import type { Config } from '../config';
import { ApiError } from '../errors';
import { toApiError } from './error-mapping';
import { openGeminiStream, type ChatEvents, type GeminiCall, type ReaderOptions } from './gemini-adapter';
import { GeminiError } from './gemini-error';
import type { UsageMeter } from './usage-meter';

/**
 * Calls Gemini with the configured key and limits and returns the answer as
 * chat events (thought and text…, then done or error).
 * `meter`, when given, sees every chunk's usage and text: what the answer
 * cost so far, should it be cut short.
 * @throws {ApiError} for everything known before the first event: no key, an
 *   upstream HTTP error, a blocked prompt, a timeout, an empty answer
 */
export async function streamChat(
  call: GeminiCall,
  config: Config,
  signal?: AbortSignal,
  meter?: UsageMeter,
  reader?: ReaderOptions,
): Promise<ChatEvents> {
  if (!config.apiKey) {
    throw new ApiError(
      503,
      'not_configured',
      'No Gemini API key is configured: set the GEMINI_API_KEY secret (wrangler secret put GEMINI_API_KEY)',
    );
  }
  try {
    return await openGeminiStream(
      call,
      {
        apiKey: config.apiKey,
        baseUrl: config.baseUrl,
        firstChunkTimeoutMs: config.upstreamTimeoutMs,
        idleTimeoutMs: config.upstreamIdleTimeoutMs,
      },
      signal,
      meter,
      reader,
    );
  } catch (error) {
    throw error instanceof GeminiError ? toApiError(error) : error;
  }
}
