import { Hono, type Context } from 'hono';
import type { AppEnv } from '../app-env';
import { uiMessageId, WIRE_FORMAT_HEADER, type ChatRoom, type TurnBody } from '../chat/chat-room';
import { assistantName, requestAssistant } from '../assistants/resolve';
import { ApiError } from '../errors';
import { isRecord } from '../protocol/events';
import { thinkingConfig } from '../gemini/generation-config';
import { admit } from '../limits/admission';
import { readJsonBody } from '../limits/read-json-body';
import { parseUiChatRequest, UI_CHAT_ID } from '../limits/ui-chat-request';
import { CHAT_PREFIX } from '../observability/request-log';
import type { ChatMessage } from '../protocol/messages';
import { postTurn } from './chats';
import { uiFinishReason, type UiMessageMetadata } from '../stream/ui-message-format';

/**
 * The Vercel AI SDK's chat protocol, for apps on `useChat` with
 * `new DefaultChatTransport({ api: '<worker>/api/ai-sdk/chat' })`: the same
 * stored chats (one Durable Object each) and turns as `/api/chats`, answered
 * as a UI message stream. `useChat` makes the chat id in the browser, so the
 * object is named after it: the id is the capability to the chat.
 */
export const aiSdkRoutes = new Hono<AppEnv>();

/** Tells the chat's object to answer in the UI message stream. */
const UI_FORMAT = { [WIRE_FORMAT_HEADER]: 'ai-sdk' };

aiSdkRoutes.post('/api/ai-sdk/chat', async (c) => {
  const { config } = c.var;
  const body = await readJsonBody(c.req.raw, config.maxBodyBytes);
  // The assistant is fixed when the chat is created; a later message's Origin must still be one it serves.
  const assistant = requestAssistant(c, assistantName(isRecord(body) ? body.assistant : undefined));
  const request = parseUiChatRequest(body, config, assistant);
  await admit(c, 'message');
  const room = namedChatRoom(c, request.id);
  const turn: TurnBody = request.regenerate ? { message: '', regenerate: true } : { message: request.message };
  if (request.thinking) turn.thinking = request.thinking;
  let response = await postTurn(c, room, turn, UI_FORMAT);
  if (response.status === 404) {
    await response.body?.cancel();
    if (request.regenerate) throw new ApiError(400, 'invalid_request', 'there is no answer to regenerate: the chat has no exchange yet');
    // A chat's first message creates it, so it counts as a new chat too (CHAT_CREATE_PER_MINUTE).
    // A level the new chat's model does not offer is refused before anything is created.
    if (request.thinking) thinkingConfig(request.settings.model, request.thinking);
    await admit(c, 'create');
    // The first message's thinking becomes the chat's own, as `model` and `system` do.
    response = await postTurn(c, room, { ...turn, create: { ...request.settings, thinking: request.thinking } }, UI_FORMAT);
  }
  return new Response(response.body, response);
});

aiSdkRoutes.get('/api/ai-sdk/chat/:id/stream', async (c) => {
  const room = namedChatRoom(c, c.req.param('id'));
  const response = await room.fetch('https://chat-room/stream', { headers: { ...UI_FORMAT, 'x-request-id': c.var.log.id } });
  return new Response(response.body, response);
});

aiSdkRoutes.post('/api/ai-sdk/chat/:id/cancel', async (c) => {
  // Any body is ignored, and left unread (see readJsonBody). A chat that does not exist has nothing to cancel.
  const cancelled = await namedChatRoom(c, c.req.param('id')).cancel();
  return c.json({ cancelled: cancelled === true });
});

/** A UIMessage as `useChat` takes it in `messages`: the thought summary (a `reasoning` part), text, then the sources, with the turn's metadata. */
export interface StoredUiMessage {
  id: string;
  role: 'user' | 'assistant';
  parts: (
    | { type: 'reasoning'; text: string; state: 'done' | 'streaming' }
    | { type: 'text'; text: string; state: 'done' | 'streaming' }
    | { type: 'source-url'; sourceId: string; url: string; title: string }
  )[];
  metadata?: Partial<UiMessageMetadata> & { status: ChatMessage['status']; uiFinishReason?: string; error?: ChatMessage['error'] };
}

aiSdkRoutes.get('/api/ai-sdk/chat/:id', async (c) => {
  const id = c.req.param('id');
  const snapshot = await namedChatRoom(c, id).snapshot();
  // A chat the client named but never used is simply empty: a page can load it before its first message.
  return c.json({ id, messages: (snapshot?.messages ?? []).map(toUiMessage) });
});

aiSdkRoutes.delete('/api/ai-sdk/chat/:id', async (c) => {
  await namedChatRoom(c, c.req.param('id')).destroy();
  return c.body(null, 204);
});

function toUiMessage(message: ChatMessage): StoredUiMessage {
  const state = message.status === 'streaming' ? 'streaming' : 'done';
  const ui: StoredUiMessage = {
    id: uiMessageId(message.role, message.id),
    role: message.role === 'user' ? 'user' : 'assistant',
    parts: [{ type: 'text', text: message.text, state }],
  };
  // The thought summary comes first, as it did in the stream (the summary is kept whole: its runs between texts are not).
  if (message.thoughts) ui.parts.unshift({ type: 'reasoning', text: message.thoughts, state: message.text || state === 'done' ? 'done' : 'streaming' });
  if (message.role === 'model') {
    message.sources?.forEach((source, i) => ui.parts.push({ type: 'source-url', sourceId: `source-${i}`, url: source.url, title: source.title }));
    ui.metadata = {
      status: message.status,
      ...(message.usage ? { usage: message.usage } : {}),
      ...(message.finishReason ? { finishReason: message.finishReason, uiFinishReason: uiFinishReason(message.finishReason) } : {}),
      ...(message.model ? { model: message.model } : {}),
      ...(message.error ? { error: message.error } : {}),
    };
  }
  return ui;
}

/**
 * The Durable Object of a chat named by its client. The name is prefixed so
 * that it can never meet an object of `/api/chats` (those ids come from
 * `newUniqueId()`). A malformed id is a 404 that reaches no object.
 */
export function namedChatRoom(c: Context<AppEnv>, id: string): DurableObjectStub<ChatRoom> {
  if (!UI_CHAT_ID.test(id)) throw new ApiError(404, 'not_found', 'no such chat: a chat id is 16 to 128 letters, digits, "_" or "-"');
  const objectId = c.env.CHAT_ROOMS.idFromName(`ai-sdk:${id}`);
  // Logged by the object's id, a hash of the name: a prefix of the client's id would shorten the key in every log.
  c.var.log.chat = objectId.toString().slice(0, CHAT_PREFIX);
  return c.env.CHAT_ROOMS.get(objectId);
}
