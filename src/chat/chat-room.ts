import { DurableObject } from 'cloudflare:workers';
import type { Content, Part } from '@google/generative-ai';
import { loadConfig, type Config } from '../config';
import type { Env } from '../env';
import { ApiError, errorResponse } from '../errors';
import { streamChat } from '../gemini/chat-stream';
import { mergeThinking, resolveThinking, thinkingConfig, toGenerationConfig } from '../gemini/generation-config';
import { isReroute } from '../gemini/models';
import type { ChatEvents } from '../gemini/gemini-adapter';
import { UsageMeter } from '../gemini/usage-meter';
import { CHAT_PREFIX } from '../observability/request-log';
import { charge } from '../limits/admission';
import { SSE_HEADERS } from '../stream/sse-headers';
import { encodeRawFrame } from '../stream/sse-encoder';
import { UI_MESSAGE_STREAM_HEADER, UiMessageFormat } from '../stream/ui-message-format';
import type { WireFormat } from '../stream/wire-format';
import { closedCall, eventData, parseEventData, type ErrorEvent } from '../protocol/events';
import { MESSAGE_ID_HEADER, type ChatMessage, type ChatSnapshot, type ThinkingSettings } from '../protocol/messages';
import { filesOf, toolStepsOf, PartsBuilder, type FilePart, type MessagePart, type TextPart, type ThoughtPart } from '../protocol/parts';
import { resolveFiles, URI_MARGIN_MS, type FileSource, type PendingContent } from '../gemini/file-parts';
import type { GeminiFile } from '../gemini/files-api';
import { GeminiError } from '../gemini/gemini-error';
import { toApiError } from '../gemini/error-mapping';
import { CHARS_PER_TOKEN } from '../files/file-tokens';
import { deleteChatFiles, fileKey, newFileId } from '../files/file-store';
import type { FileInfo } from '../protocol/messages';
import { DEFAULT_ASSISTANT } from '../assistants/assistant';
import { systemInstruction } from '../assistants/prompt';
import { findAssistant } from '../assistants/registry';
import { ChatStore, type ChatSettings, type StoredFileRow, type StoredFrame, type StoredMessage } from './chat-store';
import { FLUSH_FRAMES, Turn, type PageToolResult, type TurnTools } from './turn';
import { assistantTools, toFunctionCallPart, toFunctionResponsePart } from '../gemini/tool-parts';
import { callToolEndpoint } from '../assistants/tool-endpoint';
import type { Assistant } from '../assistants/assistant';
import { countForDashboard } from '../stats/stats-batch';
import { CHAT_ASSISTANT_HEADER, ERROR_CODE_HEADER } from '../stats/count-requests';
import type { Rating } from '../stats/stats-day';

/**
 * One conversation: its settings, its messages (SQLite, one row each) and at
 * most one model turn in flight. The object owns the turn — it calls Gemini,
 * streams the frames to whoever listens and stores the answer — so a turn
 * survives its client's connection. The Worker only routes.
 *
 * Streaming endpoints go through `fetch()` (a streaming Response whose
 * request.signal tells when a listener leaves); the rest are RPC methods.
 */
export class ChatRoom extends DurableObject<Env> {
  private readonly store: ChatStore;
  private readonly config: Config;
  private exists: boolean;
  private turn: Turn | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = loadConfig(env);
    this.store = new ChatStore(ctx.storage);
    this.exists = this.store.exists();
    if (this.exists) {
      this.store.migrate();
      this.recoverInterruptedTurn();
    }
  }

  /** Creates the chat. Idempotent for the same object: a second call changes nothing. */
  async create(settings: ChatSettings): Promise<void> {
    if (this.exists) return;
    this.store.create(settings, Date.now());
    this.exists = true;
  }

  /** The chat and all its messages, or null when there is no such chat. */
  async snapshot(): Promise<ChatSnapshot | null> {
    if (!this.exists) return null;
    const { system, model, thinking, assistant, lastEventId } = this.store.settings();
    // Parts stay inside (their signatures are for Gemini, not for readers); files are listed.
    const chatId = this.ctx.id.toString();
    const messages = this.store.messages().map(({ parts, ...message }): ChatMessage => {
      const files = filesOf(parts);
      if (files.length) return { ...message, files: files.map((f) => fileInfo(chatId, f)) };
      const tools = toolStepsOf(parts);
      return tools.length ? { ...message, tools } : message;
    });
    const turn = this.turn;
    if (turn?.active) {
      const streaming = messages.find((m) => m.id === turn.messageId);
      if (streaming) {
        streaming.text = turn.text;
        if (turn.thoughts) streaming.thoughts = turn.thoughts;
      }
    }
    return {
      id: this.ctx.id.toString(),
      model,
      assistant: assistant ?? DEFAULT_ASSISTANT,
      ...(system ? { system } : {}),
      ...(thinking ? { thinking } : {}),
      messages,
      settledEventId: lastEventId,
    };
  }

  /**
   * Cancels the turn in flight and resolves once it has ended and is stored,
   * so a message sent next is not refused as `turn_in_progress`. Resolves to
   * false when there is none (or no chat: null).
   */
  async cancel(): Promise<boolean | null> {
    if (!this.exists) return null;
    const turn = this.turn;
    if (!turn?.active) return false;
    turn.cancel('The turn was cancelled');
    await turn.settled;
    return true;
  }

  /** Deletes the chat and all its storage. Resolves to false when there was no chat. */
  async destroy(): Promise<boolean> {
    if (!this.exists) return false;
    this.turn?.discard();
    this.turn = undefined;
    this.exists = false;
    // The files first: a chat whose rows are gone could never find them again.
    await deleteChatFiles(this.env.FILES, this.ctx.id.toString());
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    return true;
  }

  /**
   * Takes a slot for a file about to be uploaded, and names it. Refused when
   * there is no chat, or when `maxUnsent` files already wait to be sent (the
   * slot is counted here, one call at a time, so concurrent uploads cannot
   * overfill it). A file never sent is removed after a day.
   */
  async reserveFile(maxUnsent: number): Promise<{ id: string } | { refused: 'not_found' | 'full' }> {
    if (!this.exists) return { refused: 'not_found' };
    const id = newFileId();
    const now = Date.now();
    if (!this.store.reserveFile(id, maxUnsent, now)) return { refused: 'full' };
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + UNSENT_FILE_LIFETIME_MS);
    return { id };
  }

  /** Records a reserved file's bytes as stored; null when its slot is gone (the chat was deleted): the caller deletes the bytes. */
  async completeFile(file: Omit<StoredFileRow, 'status'>): Promise<FileInfo | null> {
    if (!this.exists || !this.store.completeFile(file)) return null;
    return fileInfo(this.ctx.id.toString(), { type: 'file', id: file.id, name: file.name, mediaType: file.type, size: file.size, sha256: file.sha256, tokens: file.tokens });
  }

  /** Gives back a slot whose upload failed. */
  async abandonFile(id: string): Promise<void> {
    if (this.exists) this.store.deleteFiles([id]);
  }

  /** Removes files never sent with a message, a day after their upload; looks again when the next one is due. */
  override async alarm(): Promise<void> {
    if (!this.exists) return;
    const stale = this.store.staleFiles(Date.now() - UNSENT_FILE_LIFETIME_MS);
    if (stale.length > 0) {
      const chatId = this.ctx.id.toString();
      await this.env.FILES.delete(stale.map((id) => fileKey(chatId, id)));
      this.store.transaction(() => this.store.deleteFiles(stale));
    }
    const oldest = this.store.oldestUnsentFile();
    if (oldest !== undefined) await this.ctx.storage.setAlarm(oldest + UNSENT_FILE_LIFETIME_MS);
  }

  /** Rows written by the latest turn (storage is billed per row written). */
  async lastTurnRowsWritten(): Promise<number | undefined> {
    return this.turn?.rowsWritten;
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    try {
      if (request.method === 'POST' && url.pathname === '/messages') return await this.postMessage(request);
      if (request.method === 'GET' && url.pathname === '/stream') return this.resume(request);
      if (request.method === 'POST' && url.pathname === '/tool-results') return await this.toolResults(request);
      await request.body?.cancel();
      throw new ApiError(404, 'not_found', 'no such chat endpoint');
    } catch (error) {
      // A turn's refusal or failure tells the Worker its code and the chat's assistant, for the dashboard's counts.
      const said = url.pathname === '/messages' && error instanceof ApiError ? this.turnHeaders(error.code) : {};
      if (error instanceof ApiError) return errorResponse(error.status, error.code, error.message, { ...error.headers, ...said });
      console.error(JSON.stringify({ level: 'error', event: 'chat_room_failed', error: String(error) }));
      return errorResponse(500, 'internal_error', 'internal error');
    }
  }

  /**
   * Starts a turn: stores the user message, calls Gemini, streams the answer.
   * With `create`, a chat that does not exist yet is created first (chats
   * named by their client, as the AI SDK's are); with `regenerate`, the last
   * answer is replaced: the last exchange is dropped and its message asked again.
   */
  private async postMessage(request: Request): Promise<Response> {
    // The Worker validated the body; read it whole before any early answer.
    const body = (await request.json()) as TurnBody;
    if (!this.exists) {
      if (!body.create) throw notFound();
      // The Worker checked thinking's shape; the model's rules, before there is a chat: a refusal creates none.
      for (const thinking of [body.create.thinking, body.thinking]) if (thinking) thinkingConfig(body.create.model, thinking);
      this.store.create(body.create, Date.now());
      this.exists = true;
    }
    // No await between this check and `this.turn = …`: a second message cannot slip in.
    if (this.turn?.active) {
      throw new ApiError(409, 'turn_in_progress', 'a turn is still streaming; wait for it, cancel it or resume it');
    }
    // Regenerating: the last exchange is asked again, and leaves the context; it is deleted once
    // the new answer has started, so a refused call (a 429, say) keeps the old answer.
    const replaced = body.regenerate ? this.lastExchange() : undefined;
    const message = replaced ? replaced[0].text : body.message;
    const files = replaced ? filesOf(replaced[0].parts) : this.sendableFiles(body.files ?? []);
    const settings = this.store.settings();
    // The message's thinking, else the chat's, else the deployment's, else the model's default. A level
    // the model does not offer is refused here, before anything is stored or sent.
    const assistant = findAssistant(settings.assistant ?? DEFAULT_ASSISTANT);
    if (!assistant) throw new ApiError(409, 'assistant_gone', `this chat's assistant "${settings.assistant}" is no longer deployed; start a new chat`);
    // The assistant's thinking, under the chat's, under the message's (each field on its own).
    const chatThinking = mergeThinking(mergeThinking(assistant.thinking, settings.thinking), body.thinking);
    const thinking = resolveThinking(settings.model, chatThinking, this.config.thinking);
    const generationConfig = toGenerationConfig(settings.model, { thinking }, this.config.maxOutputTokens);
    const recent = this.store.recentMessages();
    if (replaced) for (let i = 0; i < replaced.length; i++) recent.next();
    const pending = buildContents(recent, message, this.config.maxContextChars - (settings.system?.length ?? 0), files);
    const chargeKey = request.headers.get(CHARGE_KEY_HEADER) ?? undefined;
    const meter = chargeKey === undefined ? undefined : new UsageMeter();
    // Once the answer streams, the turn's end is this object's to count; a failure before, the Worker's.
    const counted = request.headers.get(COUNT_TURN_HEADER) === '1';
    let streaming = false;
    const call = { model: settings.model, system: systemInstruction(assistant.systemPrefix, settings.system), generationConfig };
    // The turn stores the answer's thought signatures, to send them back with the next turn; an
    // assistant's citations become the answer's sources.
    const reader = { keepSignatures: true, pages: assistant.pages, geminiSteps: true };
    // The first step's contents, its files resolved: each later step of a tool loop adds its calls and results.
    let contents: Content[] = [];
    const tools = this.turnTools(assistant, (parts, final) =>
      streamChat(
        { ...call, contents: [...contents, ...stepContents(parts)], ...assistantTools(assistant, final ? 'none' : 'auto') },
        this.config,
        turn.signal,
        meter,
        reader,
      ),
    );
    const turn = this.startTurn(message, files, settings.lastEventId, request.headers.get('x-request-id') ?? undefined, settings.model, tools, (settled) => {
      // What the answer cost, however it ended (done, failed, cancelled), to the client's daily budget.
      if (meter) charge(this.env, (promise) => this.ctx.waitUntil(promise), chargeKey, meter.tokens());
      if (counted && streaming) this.countTurn(settled, assistant.name, settings.model);
    });

    let events: ChatEvents;
    try {
      const open = async (source: FileSource) => {
        contents = await resolveFiles(pending, source, { maxInlineBytes: this.config.maxInlineBytes, upload: uploadSettings(this.config), signal: turn.signal });
        return streamChat({ ...call, contents, ...assistantTools(assistant, 'auto') }, this.config, turn.signal, meter, reader);
      };
      const first = this.fileSource(false);
      try {
        events = await open(first);
      } catch (error) {
        // A Files API URI Gemini no longer honours (deleted before its expiry) is its 403: upload again, once.
        if (!(error instanceof ApiError && error.code === 'upstream_auth' && first.usedUris)) throw error;
        events = await open(this.fileSource(true));
      }
    } catch (caught) {
      // A Files API upload fails as the adapter's GeminiError: the same words as a model call's.
      const error = caught instanceof GeminiError ? toApiError(caught) : caught;
      if (!(error instanceof ApiError)) throw error;
      await turn.fail(error.code, error.message);
      // A failed regeneration leaves the chat as it was: its new exchange goes (startTurn adds the
      // question and its answer in one transaction, so their ids are consecutive).
      if (replaced && this.exists) this.store.transaction(() => this.store.deleteMessages([turn.messageId - 1, turn.messageId]));
      throw error;
    }
    // (The chat may have been deleted while Gemini was called: then there is nothing to replace.)
    if (replaced && this.exists) this.store.transaction(() => this.store.deleteMessages(replaced.map((m) => m.id)));
    // This turn's frames are numbered from the chat's last event id at its start.
    const format = wireFormat(request, turn.messageId);
    const stream = turn.listen(settings.lastEventId, request.signal, format);
    streaming = true;
    this.ctx.waitUntil(turn.run(events));
    return new Response(stream, { headers: { ...responseHeaders(format), [CHAT_ASSISTANT_HEADER]: assistant.name, [MESSAGE_ID_HEADER]: String(turn.messageId) } });
  }

  /**
   * How a turn runs the assistant's tools, if it has any: each call POSTed to its endpoint (signed,
   * within TOOLS_TIMEOUT_MS), the model asked again by `next`.
   */
  private turnTools(assistant: Assistant, next: TurnTools['next']): TurnTools | undefined {
    if (assistant.tools.length === 0) return undefined;
    const chat = this.ctx.id.toString().slice(0, CHAT_PREFIX);
    const settings = this.config.tools;
    return {
      maxRounds: settings.maxRounds,
      pageTimeoutMs: settings.pageTimeoutMs,
      runsOnPage: (name) => assistant.tools.some((t) => t.name === name && t.runs === 'page'),
      run: async (toolCall, signal) => {
        const tool = assistant.tools.find((t) => t.name === toolCall.name);
        if (!tool) return { error: `there is no tool named "${toolCall.name}"` };
        if (tool.runs === 'page') return { error: `"${tool.name}" runs in the page` };
        const outcome = await callToolEndpoint(tool, { name: tool.name, arguments: toolCall.args, chat, callId: toolCall.toolCallId }, settings, signal);
        if ('error' in outcome) console.warn(JSON.stringify({ level: 'warn', event: 'tool_failed', chat, tool: tool.name, error: outcome.error }));
        return outcome;
      },
      next,
    };
  }

  /** Counts how a turn that streamed ended, for the dashboard: its answer, tokens and time to first text, or its error. */
  private countTurn(turn: Turn, assistant: string, model: string): void {
    if (!turn.outcome) return;
    const { status, code, usage, model: answeredBy } = turn.outcome;
    countForDashboard(this.env, (promise) => this.ctx.waitUntil(promise), {
      at: Date.now(),
      assistant,
      model: answeredBy ?? model,
      request: false,
      errorCode: code,
      answered: status === 'complete',
      usage,
      ttftMs: turn.timings().ttftMs,
    });
  }

  /** The headers of a turn's refusal: its code, and the chat's assistant when there is a chat. */
  private turnHeaders(code: string): Record<string, string> {
    const headers: Record<string, string> = { [ERROR_CODE_HEADER]: code };
    if (this.exists) headers[CHAT_ASSISTANT_HEADER] = this.store.settings().assistant ?? DEFAULT_ASSISTANT;
    return headers;
  }

  /**
   * Rates a model message (`null` takes the rating back), stored with it. Resolves to what the
   * dashboard lists of it: with `transcripts`, its question and its text; or to why not.
   */
  async rate(messageId: number, rating: 'up' | 'down' | null, transcripts: boolean): Promise<Omit<Rating, 'at' | 'chat'> | { refused: 'not_found' | 'not_an_answer' }> {
    if (!this.exists) return { refused: 'not_found' };
    const answer = this.store.message(messageId);
    if (!answer) return { refused: 'not_found' };
    if (answer.role !== 'model' || answer.status === 'streaming') return { refused: 'not_an_answer' };
    this.store.transaction(() => this.store.setRating(messageId, rating));
    const settings = this.store.settings();
    const rated: Omit<Rating, 'at' | 'chat'> = { rating, messageId, assistant: settings.assistant ?? DEFAULT_ASSISTANT, model: answer.model ?? settings.model };
    if (transcripts) {
      rated.question = this.store.questionBefore(messageId)?.text ?? '';
      rated.answer = answer.text;
    }
    return rated;
  }

  /**
   * The chat's files a message names, in its order: each uploaded to this chat
   * and stored (sent before or not: a file may be asked about again).
   * @throws {ApiError} 400 naming a file this chat does not have
   */
  private sendableFiles(ids: readonly string[]): FilePart[] {
    return ids.map((id) => {
      const file = this.store.file(id);
      if (file?.status !== 'ready') throw new ApiError(400, 'invalid_request', `files: this chat has no file "${id}" (upload it first: POST /api/chats/:id/files)`);
      return { type: 'file', id, name: file.name, mediaType: file.type, size: file.size, sha256: file.sha256, tokens: file.tokens };
    });
  }

  /**
   * The chat's files for a Gemini call: bytes from R2, and the Files API URIs
   * Gemini still holds (none with `reupload`: every large file goes up again).
   */
  private fileSource(reupload: boolean): FileSource & { usedUris: boolean } {
    const chatId = this.ctx.id.toString();
    const object = async (file: FilePart) => {
      const stored = await this.env.FILES.get(fileKey(chatId, file.id));
      if (!stored) throw new ApiError(409, 'invalid_request', `the file "${file.name}" is no longer stored; send it again`);
      return stored;
    };
    const source = {
      usedUris: false,
      bytes: async (file: FilePart) => new Uint8Array(await (await object(file)).arrayBuffer()),
      stream: async (file: FilePart) => (await object(file)).body,
      uri: (file: FilePart) => {
        const row = reupload ? undefined : this.store.file(file.id);
        const valid = row?.geminiUri !== undefined && row.geminiExpiresAt! - URI_MARGIN_MS > Date.now();
        if (valid) source.usedUris = true;
        return valid ? row.geminiUri : undefined;
      },
      remember: (file: FilePart, uploaded: GeminiFile) => {
        if (this.exists) this.store.transaction(() => this.store.setGeminiUri(file.id, uploaded.uri, uploaded.expiresAt));
      },
    };
    return source;
  }

  /**
   * The last exchange, question first: the one a regeneration replaces.
   * @throws {ApiError} 400 when the chat has no answer to replace
   */
  private lastExchange(): [question: StoredMessage, answer: StoredMessage] {
    const recent = this.store.recentMessages();
    const answer = recent.next().value;
    const question = recent.next().value;
    recent.return(undefined);
    if (answer?.role !== 'model' || question?.role !== 'user') {
      throw new ApiError(400, 'invalid_request', 'there is no answer to regenerate: the chat has no exchange yet');
    }
    return [question, answer];
  }

  /**
   * The page's results for the turn's page-side calls (checked by the Worker: {@link ToolResultsBody}).
   * For a listener that speaks the AI SDK's protocol (whose stream ended at the wait), the answer is
   * the turn's stream from there on; for this project's, `{ accepted }` (its stream never ended).
   */
  private async toolResults(request: Request): Promise<Response> {
    const { results } = (await request.json()) as ToolResultsBody;
    if (!this.exists) throw notFound();
    const turn = this.turn;
    const delivered = turn?.active ? turn.deliver(results) : { refused: 'no tool call of this chat is waiting for the page' };
    if ('refused' in delivered) throw new ApiError(409, 'invalid_request', delivered.refused);
    const format = wireFormat(request, turn!.messageId);
    if (!format) return Response.json({ accepted: results.length });
    return new Response(turn!.listen(delivered.after, request.signal, format), { headers: responseHeaders(format) });
  }

  /** Replays the latest turn after Last-Event-ID, then follows it live. */
  private resume(request: Request): Response {
    const turn = this.turn;
    if (request.headers.get(WIRE_FORMAT_HEADER) === 'ai-sdk') {
      // The AI SDK resumes a whole turn from its start, and only one in flight; a chat it has not
      // created yet has nothing to resume either.
      if (!turn?.active) return new Response(null, { status: 204 });
      const format = wireFormat(request, turn.messageId);
      return new Response(turn.listen(turn.firstFrameId - 1, request.signal, format), { headers: responseHeaders(format) });
    }
    if (!this.exists) throw notFound();
    const lastEventId = parseLastEventId(request);
    if (turn) {
      // EventSource reconnects whenever a stream closes; 204 is what tells it to stop.
      if (!turn.active && lastEventId >= turn.lastFrameId!) return new Response(null, { status: 204 });
      return new Response(turn.listen(lastEventId, request.signal), { headers: { ...SSE_HEADERS, [MESSAGE_ID_HEADER]: String(turn.messageId) } });
    }
    // Not in memory (the object restarted): the stored frames of a settled turn, whose page calls are all closed.
    const frames = this.store.frames().frames.filter(([id]) => id > lastEventId);
    if (frames.length === 0) return new Response(null, { status: 204 });
    const bytes = frames.map(([id, event, data]) => encodeRawFrame(id, event, event === 'tool-call' ? closedCallData(data) : data));
    return new Response(new Blob(bytes).stream(), { headers: SSE_HEADERS });
  }

  private startTurn(
    message: string,
    files: readonly FilePart[],
    lastEventId: number,
    requestId: string | undefined,
    model: string,
    tools: TurnTools | undefined,
    onSettled: (turn: Turn) => void,
  ): Turn {
    const now = Date.now();
    const messageId = this.store.transaction(() => {
      this.store.clearFrames();
      // A user message with files keeps them as parts, before its text (the order Gemini gets them in).
      const parts: MessagePart[] | undefined = files.length ? [...files, { type: 'text', text: message }] : undefined;
      const userId = this.store.addMessage('user', message, 'complete', now, parts);
      this.store.attachFiles(files.map((f) => f.id), userId);
      return this.store.addMessage('model', '', 'streaming', now);
    });
    this.turn = new Turn({
      store: this.store,
      sync: () => this.ctx.storage.sync(),
      messageId,
      lastEventId,
      graceMs: this.config.resumeGraceMs,
      heartbeatMs: this.config.heartbeatMs,
      ...(tools ? { tools } : {}),
      // One log line per turn, like the Worker's per request: ids, timings, counts, never text.
      onSettled: (settled) => {
        onSettled(settled);
        console.log(
          JSON.stringify({
            level: 'info',
            event: 'turn',
            requestId,
            chat: this.ctx.id.toString().slice(0, CHAT_PREFIX),
            model,
            answeredBy: isReroute(model, settled.outcome?.model) ? settled.outcome?.model : undefined,
            ...settled.timings(),
            rowsWritten: settled.rowsWritten,
            status: settled.outcome?.status,
            finishReason: settled.outcome?.finishReason,
            usage: settled.outcome?.usage,
            errorCode: settled.outcome?.code,
          }),
        );
      },
    });
    return this.turn;
  }

  /**
   * A turn that was streaming when the object stopped (a deploy, an eviction)
   * can no longer finish: store its partial text as failed, and end its frame
   * log with an error frame so a resuming client is told.
   */
  private recoverInterruptedTurn(): void {
    for (const message of this.store.streamingMessages()) {
      const { turn, frames } = this.store.frames();
      const own = turn === message.id ? frames : [];
      // The answer and its thought summary as far as they were stored (signatures come at the end, so none).
      const parts = new PartsBuilder();
      for (const [, event, data] of own) {
        if (event === 'text') parts.add({ type: 'text', text: (JSON.parse(data) as { text: string }).text });
        else if (event === 'thought') parts.add({ type: 'thought', text: (JSON.parse(data) as { thought: string }).thought });
      }
      // Frames reach listeners before they are stored, at most FLUSH_FRAMES ahead: skip past
      // every id a client may already have, so the error frame is new to all of them.
      const lastId = Math.max(this.store.settings().lastEventId, own.at(-1)?.[0] ?? 0) + FLUSH_FRAMES;
      const error: ErrorEvent = { type: 'error', code: 'interrupted', message: 'The turn was interrupted by a restart of the chat service' };
      const frame: StoredFrame = [lastId + 1, 'error', eventData(error)];
      this.store.transaction(() => {
        if (turn !== message.id) this.store.clearFrames();
        this.store.appendFrames(message.id, [frame]);
        this.store.finishMessage(message.id, {
          text: parts.text,
          parts: parts.meaningful ? parts.parts : undefined,
          status: 'failed',
          error: { code: error.code, message: error.message },
        });
        this.store.setLastEventId(frame[0]);
      });
    }
  }
}

/** Set by the Worker (never by a client: only the Worker reaches the object) when the turn's tokens are to be charged. */
export const CHARGE_KEY_HEADER = 'x-charge-key';

/** Set by the Worker (with the dashboard on) when the object is to count how the turn ends. */
export const COUNT_TURN_HEADER = 'x-count-turn';

/** Set by the Worker to `ai-sdk` for a listener that speaks the AI SDK's UI message stream. */
export const WIRE_FORMAT_HEADER = 'x-wire-format';

/** What the Worker sends the object to start a turn (validated by the Worker). */
export interface TurnBody {
  /** The user's message; ignored with `regenerate`. */
  message: string;
  /** Ids of this chat's files to send with it (checked here: the Worker checked their shape). */
  files?: string[];
  /** Ask the last message again, replacing its answer. */
  regenerate?: boolean;
  /** This turn's thinking, instead of the chat's; its shape checked by the Worker, its model rules here. */
  thinking?: ThinkingSettings;
  /** Create the chat with these settings if it does not exist yet. */
  create?: ChatSettings;
}

/** What the Worker sends the object with a page's tool results (validated by the Worker). */
export interface ToolResultsBody {
  results: PageToolResult[];
}

/** The stored message id as the AI SDK sees it (a UIMessage id): stable, so a resumed stream replaces its message. */
export function uiMessageId(role: 'user' | 'model', id: number): string {
  return `${role === 'user' ? 'u' : 'm'}-${id}`;
}

function wireFormat(request: Request, messageId: number): WireFormat | undefined {
  return request.headers.get(WIRE_FORMAT_HEADER) === 'ai-sdk' ? new UiMessageFormat(uiMessageId('model', messageId)) : undefined;
}

function responseHeaders(format: WireFormat | undefined): Record<string, string> {
  return format instanceof UiMessageFormat ? { ...SSE_HEADERS, ...UI_MESSAGE_STREAM_HEADER } : SSE_HEADERS;
}

function notFound(): ApiError {
  return new ApiError(404, 'not_found', 'no such chat');
}

function parseLastEventId(request: Request): number {
  const raw = request.headers.get('last-event-id') ?? new URL(request.url).searchParams.get('lastEventId');
  if (raw === null || raw === '') return 0;
  if (!/^\d{1,15}$/.test(raw)) throw new ApiError(400, 'invalid_request', 'Last-Event-ID must be a whole number');
  return Number(raw);
}

/** A stored `tool-call` frame's data as a replay of a settled turn sends it ({@link closedCall}). */
function closedCallData(data: string): string {
  const call = parseEventData(data, 'tool-call');
  return call?.type === 'tool-call' && call.runsOn === 'page' ? eventData(closedCall(call)) : data;
}

/** How long a file never sent with a message is kept. */
export const UNSENT_FILE_LIFETIME_MS = 86_400_000;

/** A stored file as the chat's routes show it. */
function fileInfo(chatId: string, file: FilePart): FileInfo {
  return { id: file.id, name: file.name, type: file.mediaType, size: file.size, url: `/api/chats/${chatId}/files/${file.id}` };
}

/** The Files API settings for a turn's large files; none without a key (the call then fails as not configured). */
function uploadSettings(config: Config) {
  return config.apiKey ? { apiKey: config.apiKey, baseUrl: config.baseUrl, timeoutMs: config.upstreamTimeoutMs } : undefined;
}

/**
 * The Gemini contents for a new message: as many of the latest complete turns
 * as fit in `budget` characters, oldest first, then the new message. Turns
 * whose answer failed or is empty are left out, so the contents always
 * alternate user/model and end with the user. Reads only as many rows as it uses.
 * An answer goes back as the parts it came as — thought summaries and thought
 * signatures on the parts they came on, as Gemini 3 asks — and a turn is kept
 * or dropped whole, so no signature is parted from its message. A user
 * message's files come before its text, as references ({@link resolveFiles}
 * makes them Gemini parts), each weighing its estimated tokens in characters.
 */
export function buildContents(recent: Iterable<StoredMessage>, message: string, budget: number, files: readonly FilePart[] = []): PendingContent[] {
  const turns: PendingContent[] = [];
  let used = message.length + filesLength(files);
  let answer: StoredMessage | undefined;
  for (const entry of recent) {
    if (entry.role === 'model') {
      answer = entry;
      continue;
    }
    const usable = answer && (answer.status === 'complete' || answer.status === 'cancelled') && answer.text.trim() !== '';
    if (usable) {
      const answerParts = answer!.parts;
      const entryFiles = filesOf(entry.parts);
      const size = entry.text.length + filesLength(entryFiles) + (answerParts ? partsLength(answerParts) : answer!.text.length);
      if (used + size > budget) break;
      used += size;
      // A tool loop's answer is several contents: the model's calls, the results (as the user's), the model's answer.
      const answerContents = answerParts ? stepContents(finished(answerParts)) : [{ role: 'model', parts: [{ text: answer!.text }] }];
      turns.push(...answerContents.reverse(), userContent(entry.text, entryFiles));
    }
    answer = undefined;
  }
  turns.reverse();
  turns.push(userContent(message, files));
  return turns;
}

function userContent(text: string, files: readonly FilePart[]): PendingContent {
  const parts: PendingContent['parts'] = files.map((file) => ({ file }));
  // A message of files alone has no text part: Gemini refuses an empty one.
  if (text !== '' || files.length === 0) parts.push({ text });
  return { role: 'user', parts };
}

/**
 * A model message's parts as Gemini contents: its text, thoughts and calls as the model's (calls
 * with their thought signatures exactly as they came), the results of each step's calls as the
 * user's `functionResponse`s, in order: `model, user, model, …`. The steps of Gemini's built-in
 * tools (`runsOn: 'gemini'`) are the model's own parts, results too (`executableCode`,
 * `codeExecutionResult`), so they stay in its turn.
 */
export function stepContents(parts: readonly MessagePart[]): Content[] {
  const contents: Content[] = [];
  // Gemini 3's id of each call, for its result's functionResponse.
  const geminiIds = new Map<string, string>();
  for (const part of parts) if (part.type === 'tool-call' && part.geminiId !== undefined) geminiIds.set(part.id, part.geminiId);
  for (const part of parts) {
    if (part.type === 'file') continue;
    const role = part.type === 'tool-result' && part.runsOn !== 'gemini' ? 'user' : 'model';
    let last = contents.at(-1);
    if (last?.role !== role) contents.push((last = { role, parts: [] }));
    last.parts.push(part.type === 'tool-call' ? toFunctionCallPart(part) : part.type === 'tool-result' ? toFunctionResponsePart(part, geminiIds.get(part.id)) : toGeminiPart(part));
  }
  return contents;
}

/** A stored answer's parts without an unfinished last step (a cancelled loop's calls or results after its text). */
function finished(parts: readonly MessagePart[]): MessagePart[] {
  let end = parts.length;
  while (end > 0 && (parts[end - 1]!.type === 'tool-call' || parts[end - 1]!.type === 'tool-result')) end--;
  return parts.slice(0, end);
}

/** What files weigh in the context budget: their estimated tokens, in characters. */
function filesLength(files: readonly FilePart[]): number {
  let length = 0;
  for (const file of files) length += file.tokens * CHARS_PER_TOKEN;
  return length;
}

/** Characters a message's parts send (signatures are opaque, and small beside their thinking). */
function partsLength(parts: readonly MessagePart[]): number {
  let length = 0;
  for (const part of parts) {
    if (part.type === 'file') length += part.tokens * CHARS_PER_TOKEN;
    else if (part.type === 'tool-call') length += part.name.length + JSON.stringify(part.args).length;
    else if (part.type === 'tool-result') length += part.name.length + (JSON.stringify(part.result) ?? '').length;
    else length += part.text.length;
  }
  return length;
}

/** One stored part as Gemini's: the SDK's 0.24.1 `Part` type lacks `thought` and `thoughtSignature`, which it passes on. */
function toGeminiPart(part: TextPart | ThoughtPart): Part {
  const gemini: Part & { thought?: boolean; thoughtSignature?: string } = { text: part.text };
  if (part.type === 'thought') gemini.thought = true;
  if (part.signature !== undefined) gemini.thoughtSignature = part.signature;
  return gemini;
}
