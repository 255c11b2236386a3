import { GeminiEdgeError } from '../client/client-error.js';
import type { FileLimits } from '../client/files.js';
import { apiUrl, responseError } from '../client/http.js';
import type { ErrorCode } from '../protocol/events.js';
import type { TurnstileInfo } from './turnstile.js';

/** What `GET /api/assistant` answers: the assistant that serves this page, and what it shows before anyone types. */
export interface AssistantInfo {
  name: string;
  greeting?: string;
  starters: string[];
  /** What files a message may carry; absent: the deployment takes none. */
  files?: FileLimits;
  /** With Turnstile on: the challenge to pass before a chat is created. */
  turnstile?: TurnstileInfo;
}

/**
 * Asks the Worker which assistant answers this page (`name`: the one `data-assistant` names).
 * @throws {GeminiEdgeError} `origin_not_allowed` (403) when it serves no assistant here, `not_found` (404) for an unknown name
 */
export async function fetchAssistant(endpoint: string, name: string | undefined): Promise<AssistantInfo> {
  let response: Response;
  try {
    response = await fetch(apiUrl(endpoint, `/api/assistant${name === undefined ? '' : `?name=${encodeURIComponent(name)}`}`));
  } catch (error) {
    throw new GeminiEdgeError('network_error', String(error));
  }
  if (!response.ok) {
    const { code, message, status } = await responseError(response);
    throw new GeminiEdgeError(code as ErrorCode, message, status);
  }
  const info = (await response.json().catch(() => null)) as Partial<AssistantInfo> | null;
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((s): s is string => typeof s === 'string') : []);
  if (typeof info?.name !== 'string') throw new GeminiEdgeError('invalid_response', 'GET /api/assistant answered without a name');
  const files = info.files;
  return {
    name: info.name,
    greeting: typeof info.greeting === 'string' ? info.greeting : undefined,
    starters: strings(info.starters).slice(0, 4),
    turnstile: info.turnstile,
    files: files && files.maxBytes > 0 && files.maxPerMessage > 0 ? { maxBytes: files.maxBytes, maxPerMessage: files.maxPerMessage, types: strings(files.types) } : undefined,
  };
}
