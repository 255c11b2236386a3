import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { readJsonBody } from '../limits/read-json-body';
import { parseToolResults } from '../limits/tool-results-request';
import type { ToolResultsBody } from '../chat/chat-room';
import { chatRoom } from './chats';

/**
 * The page's results for a stored chat's page-side tool calls (an assistant's `runs: page`
 * tools): the turn waits for them with its stream open, then asks the model again
 * (docs/assistants.md, "Tools that run in the page"). 200 `{"accepted": n}`; 409 when no call
 * with such an id is waiting (answered already, timed out, or the turn is over).
 */
export const toolResultsRoutes = new Hono<AppEnv>();

toolResultsRoutes.post('/api/chats/:id/tool-results', async (c) => {
  const { config } = c.var;
  const room = chatRoom(c);
  // Room for four results of the largest size (TOOLS_MAX_RESPONSE_BYTES each); a step of more
  // calls than that sends smaller results, or sends them in more than one request.
  const body = await readJsonBody(c.req.raw, config.maxBodyBytes + 4 * config.tools.maxResponseBytes);
  const results: ToolResultsBody = { results: parseToolResults(body, config) };
  const response = await room.fetch('https://chat-room/tool-results', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(results) });
  // The object's headers are immutable; the Worker's middleware adds its own.
  return new Response(response.body, response);
});
