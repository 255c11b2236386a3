import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { assistantName, requestAssistant } from '../assistants/resolve';
import { MEDIA_TYPES } from '../files/media-type';
import type { FileLimits } from '../protocol/messages';

/** What `GET /api/assistant` answers: what a widget shows before anyone types. */
export interface AssistantInfo {
  name: string;
  greeting?: string;
  starters: readonly string[];
  /** What files a message may carry, so a page refuses the rest before uploading; absent: none. */
  files?: FileLimits;
  /** With Turnstile on: the site key to render a challenge with, and where its script is (docs/turnstile.md). */
  turnstile?: { siteKey: string; scriptUrl: string };
}

/** A page's assistant changes only with a deploy: browsers may keep the answer a while. */
const CACHE_CONTROL = 'public, max-age=300';

/**
 * `GET /api/assistant[?name=…]`: the assistant that answers the caller's
 * page (its `Origin`, or the one `name` names when it serves that origin),
 * as `{ name, greeting?, starters, files? }`. A refused origin gets the CORS
 * allowlist's `403 origin_not_allowed` before this runs, so a widget can say
 * so before anyone types. Answered per origin (`Vary: Origin`), cached five minutes.
 */
export const assistantRoutes = new Hono<AppEnv>();

assistantRoutes.get('/api/assistant', (c) => {
  const assistant = requestAssistant(c, assistantName(c.req.query('name')));
  const { maxFileBytes, maxFilesPerMessage, turnstile } = c.var.config;
  const info: AssistantInfo = { name: assistant.name, ...(assistant.greeting ? { greeting: assistant.greeting } : {}), starters: assistant.starters };
  if (maxFilesPerMessage > 0) info.files = { maxBytes: maxFileBytes, maxPerMessage: maxFilesPerMessage, types: MEDIA_TYPES };
  if (turnstile) info.turnstile = { siteKey: turnstile.siteKey, scriptUrl: turnstile.scriptUrl };
  return c.json(info, 200, { 'Cache-Control': CACHE_CONTROL, Vary: 'Origin' });
});
