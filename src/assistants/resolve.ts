import type { Context } from 'hono';
import type { AppEnv } from '../app-env';
import type { Config } from '../config';
import { ApiError } from '../errors';
import type { Assistant } from './assistant';
import { DEFAULT_ASSISTANT } from './assistant';
import { assistantForOrigin, defaultAssistant, findAssistant } from './registry';

/**
 * Which assistant answers a request (docs/assistants.md):
 * - one the request names (`assistant` in its body, `?name=`): that one, when it serves the
 *   request's origin — a page cannot borrow another site's assistant, nor escape its own;
 * - else the assistant that serves the request's `Origin`;
 * - else the built-in `default`: for requests without an `Origin` (servers, curl), and for the
 *   origins of ALLOWED_ORIGINS and the Worker's own, as before assistants existed.
 * The CORS allowlist has already refused an origin neither an assistant nor ALLOWED_ORIGINS serves.
 * @throws {ApiError} 404 for a name no assistant has, 403 `origin_not_allowed` for one that does not serve the origin
 */
export function resolveAssistant(origin: string | undefined, name: string | undefined, config: Config, ownOrigin: string): Assistant {
  if (name !== undefined) {
    const named = findAssistant(name);
    if (!named) throw new ApiError(404, 'not_found', `no assistant is named "${name.slice(0, 64)}"`);
    if (origin !== undefined && !serves(named, origin, config, ownOrigin)) {
      throw new ApiError(403, 'origin_not_allowed', `the assistant "${named.name}" does not serve pages on ${origin.slice(0, 200)}`);
    }
    return named;
  }
  return (origin !== undefined && assistantForOrigin(origin)) || defaultAssistant();
}

/** Whether `assistant` serves pages on `origin`: its own origins; for `default`, ALLOWED_ORIGINS and the Worker's own. */
function serves(assistant: Assistant, origin: string, config: Config, ownOrigin: string): boolean {
  if (assistant.name !== DEFAULT_ASSISTANT) return assistant.origins.includes(origin);
  // A page an assistant serves keeps to it: `default` would be a way around its instructions.
  if (assistantForOrigin(origin)) return false;
  return config.allowedOrigins === '*' || config.allowedOrigins.has(origin) || origin === ownOrigin;
}

/** {@link resolveAssistant} for a Hono request. */
export function requestAssistant(c: Context<AppEnv>, name: string | undefined): Assistant {
  const assistant = resolveAssistant(c.req.header('origin'), name, c.var.config, new URL(c.req.url).origin);
  // The log line names it, and the dashboard counts the request for it.
  c.var.log.assistant = assistant.name;
  return assistant;
}

/** An `assistant` field's value: a name, checked by shape; undefined when absent. */
export function assistantName(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(value)) {
    throw new ApiError(400, 'invalid_request', 'assistant must be an assistant\'s name: lowercase letters, digits and "-"');
  }
  return value;
}

/** The models a caller may pick with `assistant`, its default first. */
export function modelsFor(assistant: Assistant, config: Config): readonly string[] {
  if (assistant.name === DEFAULT_ASSISTANT) return config.allowedModels;
  const first = assistant.model ?? config.defaultModel;
  return [first, ...assistant.models.filter((m) => m !== first)];
}
