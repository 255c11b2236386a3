import type { Source, Usage } from '../protocol/events';
import type { ChatMessage, MessageStatus, Role, ThinkingSettings } from '../protocol/messages';
import { textOf, type MessagePart } from '../protocol/parts';

/** A message as the store holds it: what `GET` shows, and its parts with their signatures (sent back to Gemini, never shown). */
export interface StoredMessage extends ChatMessage {
  /** Set when the parts say more than `text` does (a thought summary, a signature); else the message is its text. */
  parts?: MessagePart[];
}

export interface ChatSettings {
  system?: string;
  model: string;
  /** How much the model thinks on every turn that does not set its own. */
  thinking?: ThinkingSettings;
  /** The assistant that answers; undefined (a chat from before assistants): `default`. */
  assistant?: string;
}

/** A file of the chat, as its row holds it. */
export interface StoredFileRow {
  id: string;
  status?: 'uploading' | 'ready';
  name: string;
  type: string;
  size: number;
  sha256: string;
  tokens: number;
  messageId?: number;
  createdAt?: number;
  /** The Gemini Files API URI it was uploaded as, and when that expires (epoch ms). */
  geminiUri?: string;
  geminiExpiresAt?: number;
}

interface FileRow extends Record<string, SqlStorageValue> {
  id: string;
  status: string;
  name: string;
  type: string;
  size: number;
  sha256: string;
  tokens: number;
  message_id: number | null;
  created_at: number;
  gemini_uri: string | null;
  gemini_expires_at: number | null;
}

function toFile(row: FileRow): StoredFileRow {
  const file: StoredFileRow = {
    id: row.id,
    status: row.status as 'uploading' | 'ready',
    name: row.name,
    type: row.type,
    size: row.size,
    sha256: row.sha256,
    tokens: row.tokens,
    createdAt: row.created_at,
  };
  if (row.message_id !== null) file.messageId = row.message_id;
  if (row.gemini_uri !== null) {
    file.geminiUri = row.gemini_uri;
    file.geminiExpiresAt = row.gemini_expires_at ?? 0;
  }
  return file;
}

/** One SSE frame of a turn, kept for replay: its id, event name and `data:` JSON. */
export type StoredFrame = [id: number, event: string, data: string];

interface MessageRow extends Record<string, SqlStorageValue> {
  id: number;
  role: string;
  text: string;
  status: string;
  finish_reason: string | null;
  usage: string | null;
  error: string | null;
  sources: string | null;
  model: string | null;
  parts: string | null;
  rating: string | null;
  created_at: number;
}

/**
 * Schema changes, applied in order, once each. Never edit a shipped one: add the next.
 * - `chat`: one row, the chat's settings and the last SSE event id handed out.
 * - `messages`: one row per message; appends are O(1) whatever the chat's length.
 * - `turn_frames`: the latest turn's frames in batches (one row per batch, not per frame),
 *   so a cut connection can resume. Older turns' frames are dropped when a turn starts.
 * - 2: `messages.sources`, a grounded answer's sources.
 * - 3: `messages.model`, the model that answered (Gemini's `modelVersion`).
 * - 4: `messages.parts`, a model message's parts as JSON (thought summaries, thought
 *   signatures) when they say more than `text`; later part kinds (files, tool calls) go here too.
 * - 5: `chat.thinking`, the chat's thinking settings.
 * - 6: `chat.assistant`, the site assistant that answers in it (NULL: the built-in default).
 * - 7: `files`, the chat's files: references to R2 objects (the bytes never live here), each
 *   attached to the user message that sent it, or to none yet (removed after a day); and the
 *   Gemini Files API URI it was last uploaded as, with its expiry.
 * - 8: `messages.rating`, a reader's thumbs up or down on an answer (feedback).
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE chat (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     system TEXT,
     model TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_event_id INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     role TEXT NOT NULL CHECK (role IN ('user', 'model')),
     text TEXT NOT NULL,
     status TEXT NOT NULL,
     finish_reason TEXT,
     usage TEXT,
     error TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE turn_frames (
     first_id INTEGER PRIMARY KEY,
     turn INTEGER NOT NULL,
     frames TEXT NOT NULL
   );`,
  // The pages a grounded answer came from, as JSON [{title, url}].
  `ALTER TABLE messages ADD COLUMN sources TEXT;`,
  // The model that answered, as Gemini reported it: not always the chat's model (a reroute).
  `ALTER TABLE messages ADD COLUMN model TEXT;`,
  // The message's parts ([{type, text, signature?}]); NULL: the message is its text alone.
  `ALTER TABLE messages ADD COLUMN parts TEXT;`,
  // The chat's thinking, as JSON {level?, budget?, show?}; NULL leaves the deployment's default.
  `ALTER TABLE chat ADD COLUMN thinking TEXT;`,
  // The assistant's name; NULL (and every chat from before): the built-in default.
  `ALTER TABLE chat ADD COLUMN assistant TEXT;`,
  // status: 'uploading' (a slot taken, bytes on their way) or 'ready'; message_id NULL: not sent yet.
  `CREATE TABLE files (
     id TEXT PRIMARY KEY,
     status TEXT NOT NULL CHECK (status IN ('uploading', 'ready')),
     name TEXT NOT NULL DEFAULT '',
     type TEXT NOT NULL DEFAULT '',
     size INTEGER NOT NULL DEFAULT 0,
     sha256 TEXT NOT NULL DEFAULT '',
     tokens INTEGER NOT NULL DEFAULT 0,
     message_id INTEGER,
     created_at INTEGER NOT NULL,
     gemini_uri TEXT,
     gemini_expires_at INTEGER
   );
   CREATE INDEX files_unsent ON files (created_at) WHERE message_id IS NULL;`,
  // A reader's rating of an answer: 'up' or 'down'; NULL: not rated (or taken back).
  `ALTER TABLE messages ADD COLUMN rating TEXT CHECK (rating IN ('up', 'down'));`,
];

/**
 * The chat's SQLite storage inside its Durable Object. All calls are
 * synchronous; callers group writes with `transactionSync`. Every method adds
 * the rows it wrote to {@link rowsWritten}, which is what storage is billed by.
 */
export class ChatStore {
  /** Rows written since the store was opened (Durable Object storage is billed per row written). */
  rowsWritten = 0;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Whether this chat was created (and not deleted). Reads only the schema: creates nothing. */
  exists(): boolean {
    return this.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chat'").toArray().length > 0
      && this.storage.sql.exec('SELECT 1 FROM chat').toArray().length > 0;
  }

  /** Brings the schema up to date. Called only for chats that exist or are being created. */
  migrate(): void {
    const sql = this.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY)');
    const done = sql.exec<{ v: number | null }>('SELECT MAX(version) AS v FROM _migrations').one().v ?? 0;
    for (let version = done + 1; version <= MIGRATIONS.length; version++) {
      this.storage.transactionSync(() => {
        sql.exec(MIGRATIONS[version - 1]);
        sql.exec('INSERT INTO _migrations (version) VALUES (?)', version);
      });
    }
  }

  create(settings: ChatSettings, now: number): void {
    this.migrate();
    this.write(
      'INSERT INTO chat (id, system, model, thinking, assistant, created_at) VALUES (1, ?, ?, ?, ?, ?)',
      settings.system ?? null,
      settings.model,
      settings.thinking ? JSON.stringify(settings.thinking) : null,
      settings.assistant && settings.assistant !== 'default' ? settings.assistant : null,
      now,
    );
  }

  settings(): ChatSettings & { lastEventId: number } {
    const row = this.storage.sql
      .exec<{ system: string | null; model: string; thinking: string | null; assistant: string | null; last_event_id: number }>(
        'SELECT system, model, thinking, assistant, last_event_id FROM chat',
      )
      .one();
    const settings: ChatSettings & { lastEventId: number } = { system: row.system ?? undefined, model: row.model, lastEventId: row.last_event_id };
    if (row.thinking) settings.thinking = JSON.parse(row.thinking) as ThinkingSettings;
    if (row.assistant) settings.assistant = row.assistant;
    return settings;
  }

  /** Every message, oldest first. */
  messages(): StoredMessage[] {
    return this.storage.sql.exec<MessageRow>('SELECT * FROM messages ORDER BY id').toArray().map(toMessage);
  }

  /**
   * The most recent messages, newest first, read lazily: the caller stops
   * iterating when it has enough, and no older row is read.
   */
  *recentMessages(): Generator<StoredMessage> {
    for (const row of this.storage.sql.exec<MessageRow>('SELECT * FROM messages ORDER BY id DESC')) yield toMessage(row);
  }

  /** The messages still marked streaming (a turn cut short by a restart). */
  streamingMessages(): StoredMessage[] {
    return this.storage.sql.exec<MessageRow>("SELECT * FROM messages WHERE status = 'streaming'").toArray().map(toMessage);
  }

  /** Adds a message; `parts` when they say more than `text` (a user message's files). */
  addMessage(role: Role, text: string, status: MessageStatus, now: number, parts?: readonly MessagePart[]): number {
    const cursor = this.storage.sql.exec<{ id: number }>(
      'INSERT INTO messages (role, text, status, parts, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id',
      role,
      text,
      status,
      parts?.length ? JSON.stringify(parts) : null,
      now,
    );
    const { id } = cursor.one();
    this.rowsWritten += cursor.rowsWritten;
    return id;
  }

  finishMessage(
    id: number,
    outcome: Pick<StoredMessage, 'text' | 'parts' | 'status' | 'finishReason' | 'usage' | 'sources' | 'model' | 'error'>,
  ): void {
    this.write(
      'UPDATE messages SET text = ?, parts = ?, status = ?, finish_reason = ?, usage = ?, sources = ?, model = ?, error = ? WHERE id = ?',
      outcome.text,
      outcome.parts?.length ? JSON.stringify(outcome.parts) : null,
      outcome.status,
      outcome.finishReason ?? null,
      outcome.usage ? JSON.stringify(outcome.usage) : null,
      outcome.sources?.length ? JSON.stringify(outcome.sources) : null,
      outcome.model ?? null,
      outcome.error ? JSON.stringify(outcome.error) : null,
      id,
    );
  }

  /** One message, or undefined. */
  message(id: number): StoredMessage | undefined {
    return this.storage.sql.exec<MessageRow>('SELECT * FROM messages WHERE id = ?', id).toArray().map(toMessage)[0];
  }

  /** The user message an answer answers: the latest one before it. */
  questionBefore(id: number): StoredMessage | undefined {
    return this.storage.sql
      .exec<MessageRow>("SELECT * FROM messages WHERE id < ? AND role = 'user' ORDER BY id DESC LIMIT 1", id)
      .toArray()
      .map(toMessage)[0];
  }

  /** Rates a message; null takes the rating back. */
  setRating(id: number, rating: 'up' | 'down' | null): void {
    this.write('UPDATE messages SET rating = ? WHERE id = ?', rating, id);
  }

  /** Deletes messages by id (a regenerated exchange). */
  deleteMessages(ids: readonly number[]): void {
    for (const id of ids) this.write('DELETE FROM messages WHERE id = ?', id);
  }

  /** Drops the previous turn's frames: only the latest turn is resumable. */
  clearFrames(): void {
    this.write('DELETE FROM turn_frames');
  }

  /** Appends a batch of frames as one row. */
  appendFrames(turn: number, frames: readonly StoredFrame[]): void {
    if (frames.length === 0) return;
    this.write('INSERT INTO turn_frames (first_id, turn, frames) VALUES (?, ?, ?)', frames[0][0], turn, JSON.stringify(frames));
  }

  /** The latest turn's stored frames, in order, and which turn (model message) they belong to. */
  frames(): { turn: number | undefined; frames: StoredFrame[] } {
    let turn: number | undefined;
    const frames: StoredFrame[] = [];
    for (const row of this.storage.sql.exec<{ turn: number; frames: string }>('SELECT turn, frames FROM turn_frames ORDER BY first_id')) {
      turn = row.turn;
      for (const frame of JSON.parse(row.frames) as StoredFrame[]) frames.push(frame);
    }
    return { turn, frames };
  }

  /** Takes a slot for a file about to be uploaded; false when `maxUnsent` files are already waiting to be sent. */
  reserveFile(id: string, maxUnsent: number, now: number): boolean {
    const { n } = this.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM files WHERE message_id IS NULL').one();
    if (n >= maxUnsent) return false;
    this.write("INSERT INTO files (id, status, created_at) VALUES (?, 'uploading', ?)", id, now);
    return true;
  }

  /** Fills in a reserved file once its bytes are stored; false when the slot is gone (the chat was deleted, or the slot expired). */
  completeFile(file: StoredFileRow): boolean {
    const cursor = this.storage.sql.exec(
      "UPDATE files SET status = 'ready', name = ?, type = ?, size = ?, sha256 = ?, tokens = ? WHERE id = ? AND status = 'uploading'",
      file.name,
      file.type,
      file.size,
      file.sha256,
      file.tokens,
      file.id,
    );
    this.rowsWritten += cursor.rowsWritten;
    return cursor.rowsWritten > 0;
  }

  deleteFiles(ids: readonly string[]): void {
    for (const id of ids) this.write('DELETE FROM files WHERE id = ?', id);
  }

  file(id: string): StoredFileRow | undefined {
    return this.storage.sql.exec<FileRow>('SELECT * FROM files WHERE id = ?', id).toArray().map(toFile)[0];
  }

  /** Marks files as sent (with the first message that sends them): they are no longer removed after a day. */
  attachFiles(ids: readonly string[], messageId: number): void {
    for (const id of ids) this.write('UPDATE files SET message_id = ? WHERE id = ? AND message_id IS NULL', messageId, id);
  }

  /** Records the Gemini Files API URI a file was uploaded as, until it expires. */
  setGeminiUri(id: string, uri: string, expiresAt: number): void {
    this.write('UPDATE files SET gemini_uri = ?, gemini_expires_at = ? WHERE id = ?', uri, expiresAt, id);
  }

  /** Files never sent with a message (and slots never filled) created before `before`: to be removed. */
  staleFiles(before: number): string[] {
    return this.storage.sql
      .exec<{ id: string }>('SELECT id FROM files WHERE message_id IS NULL AND created_at < ?', before)
      .toArray()
      .map((r) => r.id);
  }

  /** When the oldest file not sent with a message was created, if any. */
  oldestUnsentFile(): number | undefined {
    return this.storage.sql.exec<{ at: number | null }>('SELECT MIN(created_at) AS at FROM files WHERE message_id IS NULL').one().at ?? undefined;
  }

  setLastEventId(id: number): void {
    this.write('UPDATE chat SET last_event_id = ? WHERE id = 1', id);
  }

  transaction<T>(body: () => T): T {
    return this.storage.transactionSync(body);
  }

  private write(query: string, ...bindings: SqlStorageValue[]): void {
    this.rowsWritten += this.storage.sql.exec(query, ...bindings).rowsWritten;
  }
}

function toMessage(row: MessageRow): StoredMessage {
  const message: StoredMessage = {
    id: row.id,
    role: row.role as Role,
    text: row.text,
    status: row.status as MessageStatus,
    createdAt: new Date(row.created_at).toISOString(),
  };
  if (row.parts) {
    message.parts = JSON.parse(row.parts) as MessagePart[];
    const thoughts = textOf(message.parts, 'thought');
    if (thoughts) message.thoughts = thoughts;
  }
  if (row.finish_reason) message.finishReason = row.finish_reason;
  if (row.usage) message.usage = JSON.parse(row.usage) as Usage;
  if (row.sources) message.sources = JSON.parse(row.sources) as Source[];
  if (row.model) message.model = row.model;
  if (row.error) message.error = JSON.parse(row.error) as ChatMessage['error'];
  if (row.rating === 'up' || row.rating === 'down') message.rating = row.rating;
  return message;
}
