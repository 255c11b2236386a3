/**
 * What each chat-store migration after the first adds (src/chat/chat-store.ts), newest last: a
 * column, or a table (column null): what a test drops to put a chat back as an older release stored it.
 */
const ADDED: Record<number, [table: string, column: string | null]> = {
  2: ['messages', 'sources'],
  3: ['messages', 'model'],
  4: ['messages', 'parts'],
  5: ['chat', 'thinking'],
  6: ['chat', 'assistant'],
  7: ['files', null],
  8: ['messages', 'rating'],
};

/**
 * Puts a chat's schema back to migration `version`, as a chat written by the release that had
 * only that one: the later migrations' columns dropped (newest first) and their records deleted,
 * so the object applies them again when it next starts.
 */
export function rollBackTo(storage: DurableObjectStorage, version: number): void {
  const versions = Object.keys(ADDED).map(Number).filter((v) => v > version).sort((a, b) => b - a);
  for (const v of versions) {
    const [table, column] = ADDED[v]!;
    storage.sql.exec(column === null ? `DROP TABLE ${table}` : `ALTER TABLE ${table} DROP COLUMN ${column}`);
  }
  storage.sql.exec('DELETE FROM _migrations WHERE version > ?', version);
}
