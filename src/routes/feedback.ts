import { Hono, type Context } from 'hono';
import type { AppEnv } from '../app-env';
import type { ChatRoom } from '../chat/chat-room';
import { ApiError } from '../errors';
import { readJsonBody } from '../limits/read-json-body';
import { utcDay } from '../limits/utc-day';
import { CHAT_PREFIX } from '../observability/request-log';
import { isRecord } from '../protocol/events';
import type { Rating } from '../protocol/messages';
import { statsDay } from '../stats/stats-batch';
import { namedChatRoom } from './ai-sdk';
import { chatRoom } from './chats';

/**
 * A reader's thumbs up or down on an answer: `{"rating":"up"|"down"|null}`
 * (null takes it back). Stored with the message (`rating` in the chat's
 * messages), and, with the dashboard on, listed there among the latest rated
 * answers. Whoever holds the chat's id may rate its answers, as they may write to it.
 */
export const feedbackRoutes = new Hono<AppEnv>();

feedbackRoutes.post('/api/chats/:id/messages/:messageId/feedback', async (c) => {
  const messageId = /^[1-9]\d{0,14}$/.test(c.req.param('messageId')) ? Number(c.req.param('messageId')) : undefined;
  return rate(c, chatRoom(c), messageId);
});

// useChat's message ids are the stored ones with a role prefix: `m-12` is model message 12.
feedbackRoutes.post('/api/ai-sdk/chat/:id/messages/:messageId/feedback', async (c) => {
  const match = /^m-([1-9]\d{0,14})$/.exec(c.req.param('messageId'));
  const room = namedChatRoom(c, c.req.param('id'));
  return rate(c, room, match ? Number(match[1]) : undefined);
});

async function rate(c: Context<AppEnv>, room: DurableObjectStub<ChatRoom>, messageId: number | undefined): Promise<Response> {
  const { config } = c.var;
  const chatId = room.id.toString();
  const rating = parseRating(await readJsonBody(c.req.raw, config.maxBodyBytes));
  if (messageId === undefined) throw new ApiError(404, 'not_found', 'no such message');
  const rated = await room.rate(messageId, rating, config.adminShowTranscripts);
  if ('refused' in rated) {
    throw rated.refused === 'not_found'
      ? new ApiError(404, 'not_found', 'no such message in this chat')
      : new ApiError(400, 'invalid_request', 'only a finished answer can be rated');
  }
  if (config.adminKey !== undefined) {
    const at = Date.now();
    // Keyed by more of the chat id than the dashboard shows, so ratings of two chats never collide.
    const ref = `${chatId.slice(0, 16)}:${messageId}`;
    const recorded = statsDay(c.env, utcDay(at))
      .rate(utcDay(at), ref, { ...rated, at, chat: chatId.slice(0, CHAT_PREFIX) })
      .catch((error: unknown) => console.error(JSON.stringify({ level: 'error', event: 'rating_record_failed', error: String(error) })));
    c.executionCtx.waitUntil(recorded);
  }
  return c.json({ messageId, rating });
}

function parseRating(body: unknown): Rating | null {
  const rating = isRecord(body) ? body.rating : undefined;
  if (rating === 'up' || rating === 'down' || rating === null) return rating;
  throw new ApiError(400, 'invalid_request', 'rating must be "up", "down" or null');
}
