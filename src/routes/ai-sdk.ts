import { Hono, type Context } from 'hono';
import type { AppEnv } from '../app-env';
import { uiMessageId, WIRE_FORMAT_HEADER, type ChatRoom, type ToolResultsBody, type TurnBody } from '../chat/chat-room';
import { assistantName, requestAssistant } from '../assistants/resolve';
import { ApiError } from '../errors';
import { isRecord } from '../protocol/events';
import { thinkingConfig } from '../gemini/generation-config';
import { admit } from '../limits/admission';
import { checkBodyWithoutFiles, decodeChatFiles, readFilesBody } from '../limits/chat-request';
import { parseUiChatRequest, parseUiToolOutputs, UI_CHAT_ID, uiBodyHasFiles, type UiChatRequest, type UiToolOutputs } from '../limits/ui-chat-request';
import { saveInlineFile } from '../files/chat-files';
import type { InlineFile } from '../files/inline-file';
import { CHAT_PREFIX } from '../observability/request-log';
import type { ChatMessage } from '../protocol/messages';
import type { ToolStep } from '../protocol/parts';
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
  const body = await readFilesBody(c.req.raw, config);
  // The assistant is fixed when the chat is created; a later message's Origin must still be one it serves.
  const assistant = requestAssistant(c, assistantName(isRecord(body) ? body.assistant : undefined));
  checkBodyWithoutFiles(c.req.raw, body, config, uiBodyHasFiles);
  const outputs = parseUiToolOutputs(body, config);
  if (outputs) return continueTurn(c, outputs);
  const request = parseUiChatRequest(body, config, assistant);
  // Files are checked before admission: a refused file costs the client nothing.
  const files = request.files ? await decodeChatFiles(request.files, config, 'file parts') : undefined;
  await admit(c, 'message');
  const room = namedChatRoom(c, request.id);
  const turn: TurnBody = request.regenerate ? { message: '', regenerate: true } : { message: request.message };
  if (request.thinking) turn.thinking = request.thinking;
  if (files) turn.files = await storeFiles(c, room, request, files);
  let response = await postTurn(c, room, turn, UI_FORMAT);
  if (response.status === 404) {
    await response.body?.cancel();
    if (request.regenerate) throw new ApiError(400, 'invalid_request', 'there is no answer to regenerate: the chat has no exchange yet');
    await admitNewChat(c, request);
    // The first message's thinking becomes the chat's own, as `model` and `system` do.
    response = await postTurn(c, room, { ...turn, create: { ...request.settings, thinking: request.thinking } }, UI_FORMAT);
  }
  return new Response(response.body, response);
});

/**
 * The page ran the answer's page-side tool calls: their outputs go to the turn that waits for them
 * (the chat's `POST /tool-results`), and the answer goes on in the same UI message (`start` with
 * its id) from where the last stream paused. Not admitted as a message: it is the same turn, whose
 * tokens the chat's object charges to the ticket the message was admitted with, as
 * `POST /api/chats/:id/tool-results` is. 409 when no call of those ids waits (answered already,
 * timed out, or the turn is over): nothing reaches Gemini.
 */
async function continueTurn(c: Context<AppEnv>, request: UiToolOutputs): Promise<Response> {
  // Nor is it another request on the dashboard: the turn's request was counted, and its object counts how it ends.
  c.var.log.onWrite = undefined;
  const room = namedChatRoom(c, request.id);
  const body: ToolResultsBody = { results: request.results };
  const response = await room.fetch('https://chat-room/tool-results', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...UI_FORMAT, 'x-request-id': c.var.log.id },
    body: JSON.stringify(body),
  });
  return new Response(response.body, response);
}

/**
 * Before a message creates its chat: a level the new chat's model does not
 * offer is refused, and the chat counts as a new one (CHAT_CREATE_PER_MINUTE).
 */
async function admitNewChat(c: Context<AppEnv>, request: UiChatRequest): Promise<void> {
  if (request.thinking) thinkingConfig(request.settings.model, request.thinking);
  await admit(c, 'create');
}

/**
 * Stores a message's files in the chat (R2 and the chat's object), as an
 * upload to `/api/chats/:id/files` would, creating the chat when this message
 * is its first; returns their ids for the turn.
 */
async function storeFiles(c: Context<AppEnv>, room: DurableObjectStub<ChatRoom>, request: UiChatRequest, files: readonly InlineFile[]): Promise<string[]> {
  const { config } = c.var;
  // The object's id names the chat's files (`/api/chats/:chatId/files/:fileId`).
  const save = (file: InlineFile) => saveInlineFile(c.env.FILES, room, room.id.toString(), file, config.maxFilesPerMessage * 2);
  const ids: string[] = [];
  for (const file of files) {
    try {
      ids.push((await save(file)).id);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404) || ids.length > 0) throw error;
      await admitNewChat(c, request);
      await room.create({ ...request.settings, thinking: request.thinking });
      ids.push((await save(file)).id);
    }
  }
  return ids;
}

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

/**
 * A UIMessage as `useChat` takes it in `messages`: a question's files, then its
 * text; an answer's thought summary (a `reasoning` part), its tool calls (`dynamic-tool` parts,
 * as the stream sent them, each with its output or error), a `step-start` and its text, then the
 * sources, with the turn's metadata. (The calls of every step come first: the stored answer keeps
 * its text whole, not where it stood between them.)
 */
export interface StoredUiMessage {
  id: string;
  role: 'user' | 'assistant';
  parts: (
    | { type: 'reasoning'; text: string; state: 'done' | 'streaming' }
    | { type: 'text'; text: string; state: 'done' | 'streaming' }
    | { type: 'source-url'; sourceId: string; url: string; title: string }
    | { type: 'file'; mediaType: string; filename: string; url: string }
    | UiToolPart
    | { type: 'step-start' }
  )[];
  metadata?: Partial<UiMessageMetadata> & { status: ChatMessage['status']; uiFinishReason?: string; error?: ChatMessage['error']; rating?: ChatMessage['rating'] };
}

/** A stored tool call as useChat's `dynamic-tool` part: the page's calls are the ones useChat ran (not `providerExecuted`). */
export type UiToolPart = { type: 'dynamic-tool'; toolCallId: string; toolName: string; input: Record<string, unknown>; providerExecuted?: true } & (
  | { state: 'input-available' }
  | { state: 'output-available'; output: unknown }
  | { state: 'output-error'; errorText: string }
);

function toUiToolPart(step: ToolStep): UiToolPart {
  const call = { type: 'dynamic-tool' as const, toolCallId: step.toolCallId, toolName: step.name, input: step.args, ...(step.runsOn === 'page' ? {} : { providerExecuted: true as const }) };
  if (step.error !== undefined) return { ...call, state: 'output-error', errorText: step.error };
  return step.result !== undefined ? { ...call, state: 'output-available', output: step.result } : { ...call, state: 'input-available' };
}

aiSdkRoutes.get('/api/ai-sdk/chat/:id', async (c) => {
  const id = c.req.param('id');
  const snapshot = await namedChatRoom(c, id).snapshot();
  // A chat the client named but never used is simply empty: a page can load it before its first message.
  return c.json({ id, messages: (snapshot?.messages ?? []).map((message) => toUiMessage(message, c.req.url)) });
});

aiSdkRoutes.delete('/api/ai-sdk/chat/:id', async (c) => {
  await namedChatRoom(c, c.req.param('id')).destroy();
  return c.body(null, 204);
});

/** A stored message as a UIMessage; `base` (the request's URL) makes its files' URLs absolute, on this Worker. */
function toUiMessage(message: ChatMessage, base: string): StoredUiMessage {
  const state = message.status === 'streaming' ? 'streaming' : 'done';
  const ui: StoredUiMessage = {
    id: uiMessageId(message.role, message.id),
    role: message.role === 'user' ? 'user' : 'assistant',
    // A question of files alone has no text part, as useChat sent it.
    parts: message.files?.length && !message.text ? [] : [{ type: 'text', text: message.text, state }],
  };
  // Files first, as `sendMessage({ text, files })` orders them; the URL serves the stored bytes.
  if (message.files?.length) {
    ui.parts.unshift(...message.files.map((file) => ({ type: 'file' as const, mediaType: file.type, filename: file.name, url: new URL(file.url, base).href })));
  }
  if (message.tools?.length) {
    // The answer's text is a step after its calls' (an answer without text: only the calls).
    const answer = message.text ? [{ type: 'step-start' as const }, ...ui.parts] : [];
    ui.parts = [...message.tools.map(toUiToolPart), ...answer];
  }
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
      ...(message.rating ? { rating: message.rating } : {}),
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
