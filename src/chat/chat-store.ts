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

  addMessage(role: Role, text: string, status: MessageStatus, now: number): number {
    const cursor = this.storage.sql.exec<{ id: number }>(
      'INSERT INTO messages (role, text, status, created_at) VALUES (?, ?, ?, ?) RETURNING id',
      role,
      text,
      status,
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
  return message;
}
