import { Hono, type Context } from 'hono';
import type { AppEnv } from '../app-env';
import type { ChatRoom, TurnBody } from '../chat/chat-room';
import { ApiError } from '../errors';
import { CHAT_PREFIX } from '../observability/request-log';
import { admit } from '../limits/admission';
import { CHARGE_KEY_HEADER, COUNT_TURN_HEADER } from '../chat/chat-room';
import { parseNewChatRequest, parseTurnRequest } from '../limits/chat-request';
import { readJsonBody } from '../limits/read-json-body';
import { assistantName, requestAssistant } from '../assistants/resolve';
import { isRecord } from '../protocol/events';
import type { ChatSnapshot } from '../protocol/messages';

/**
 * Chats that live in Durable Objects, one per conversation. The id in the
 * path is the object's id: 64 hex characters from `newUniqueId()`, which is
 * unguessable and doubles as the capability to read and write the chat.
 */
export const chatsRoutes = new Hono<AppEnv>();

chatsRoutes.post('/api/chats', async (c) => {
  const { config } = c.var;
  // The body is optional; fetch() sends `Content-Length: 0` for a POST without one.
  const empty = c.req.raw.body === null || c.req.header('content-length') === '0';
  const body = empty ? undefined : await readJsonBody(c.req.raw, config.maxBodyBytes);
  // The assistant that serves the page (or the one it names) answers in this chat for its whole life.
  const assistant = requestAssistant(c, assistantName(isRecord(body) ? body.assistant : undefined));
  const settings = parseNewChatRequest(body, config, assistant);
  await admit(c, 'create');
  const id = c.env.CHAT_ROOMS.newUniqueId();
  await c.env.CHAT_ROOMS.get(id).create(settings);
  // The new chat, as GET /api/chats/:id would show it: a client needs no second request.
  const chat: ChatSnapshot = {
    id: id.toString(),
    model: settings.model,
    assistant: settings.assistant,
    ...(settings.system ? { system: settings.system } : {}),
    ...(settings.thinking ? { thinking: settings.thinking } : {}),
    messages: [],
    settledEventId: 0,
  };
  return c.json(chat, 201);
});

chatsRoutes.get('/api/chats/:id', async (c) => {
  const snapshot = await chatRoom(c).snapshot();
  if (!snapshot) throw notFound();
  return c.json(snapshot);
});

chatsRoutes.post('/api/chats/:id/messages', async (c) => {
  const { config } = c.var;
  const room = chatRoom(c);
  const turn = parseTurnRequest(await readJsonBody(c.req.raw, config.maxBodyBytes), config);
  await admit(c, 'message');
  // The object owns the turn; its streaming answer passes through untouched.
  const response = await postTurn(c, room, turn);
  return new Response(response.body, response);
});

/**
 * Starts a turn in the chat's object, for the request's client: the object
 * charges the answer's tokens to it when the turn ends. `headers` add to the
 * request (the AI SDK's wire format).
 */
export function postTurn(c: Context<AppEnv>, room: DurableObjectStub<ChatRoom>, turn: TurnBody, headers: Record<string, string> = {}): Promise<Response> {
  const all: Record<string, string> = { ...headers, 'content-type': 'application/json', 'x-request-id': c.var.log.id };
  const chargeKey = c.var.client?.chargeKey;
  if (chargeKey !== undefined) all[CHARGE_KEY_HEADER] = chargeKey;
  if (c.var.config.adminKey !== undefined) all[COUNT_TURN_HEADER] = '1';
  return room.fetch('https://chat-room/messages', { method: 'POST', headers: all, body: JSON.stringify(turn) });
}

chatsRoutes.get('/api/chats/:id/stream', async (c) => {
  const room = chatRoom(c);
  const headers = new Headers({ 'x-request-id': c.var.log.id });
  const lastEventId = c.req.header('last-event-id') ?? c.req.query('lastEventId');
  if (lastEventId !== undefined) headers.set('last-event-id', lastEventId);
  const response = await room.fetch('https://chat-room/stream', { headers });
  return new Response(response.body, response);
});

chatsRoutes.post('/api/chats/:id/cancel', async (c) => {
  // Any body is ignored, and left unread (see readJsonBody).
  const cancelled = await chatRoom(c).cancel();
  if (cancelled === null) throw notFound();
  return c.json({ cancelled });
});

chatsRoutes.delete('/api/chats/:id', async (c) => {
  if (!(await chatRoom(c).destroy())) throw notFound();
  return c.body(null, 204);
});

const CHAT_ID = /^[0-9a-f]{64}$/;

/** The chat's Durable Object. A malformed or forged id is a 404 and never reaches (or creates) an object. */
export function chatRoom(c: Context<AppEnv>): DurableObjectStub<ChatRoom> {
  return c.env.CHAT_ROOMS.get(chatObjectId(c));
}

/** The chat id of the path, checked as {@link chatRoom} checks it, without reaching its object. */
export function chatIdParam(c: Context<AppEnv>): string {
  return chatObjectId(c).toString();
}

function chatObjectId(c: Context<AppEnv>): DurableObjectId {
  const id = c.req.param('id') ?? '';
  if (!CHAT_ID.test(id)) throw notFound();
  c.var.log.chat = id.slice(0, CHAT_PREFIX);
  try {
    // Rejects ids this namespace did not make.
    return c.env.CHAT_ROOMS.idFromString(id);
  } catch {
    throw notFound();
  }
}

export function notFound(): ApiError {
  return new ApiError(404, 'not_found', 'no such chat');
}
