import type { ChatRoom } from '../chat/chat-room';
import { ApiError } from '../errors';
import type { FileInfo } from '../protocol/messages';
import { fileKey } from './file-store';
import type { InlineFile } from './inline-file';

/**
 * Stores a file a JSON request carried inline into a stored chat, as an
 * upload would (a slot in the chat's object, the bytes in R2, then the
 * reference): for protocols whose messages carry their files (the AI SDK's
 * data URLs). Returns what the chat's routes show of it.
 * @throws {ApiError} 404 (no chat), 409 `too_many_files`
 */
export async function saveInlineFile(bucket: R2Bucket, room: DurableObjectStub<ChatRoom>, chatId: string, file: InlineFile, maxUnsent: number): Promise<FileInfo> {
  const slot = await room.reserveFile(maxUnsent);
  if ('refused' in slot) {
    if (slot.refused === 'not_found') throw new ApiError(404, 'not_found', 'no such chat');
    throw new ApiError(409, 'too_many_files', `this chat already holds ${maxUnsent} files not yet sent`);
  }
  const key = fileKey(chatId, slot.id);
  const { part, bytes } = file;
  try {
    await bucket.put(key, bytes, { httpMetadata: { contentType: part.mediaType }, customMetadata: { name: encodeURIComponent(part.name) } });
    const info = await room.completeFile({ id: slot.id, name: part.name, type: part.mediaType, size: part.size, sha256: part.sha256, tokens: part.tokens });
    if (!info) throw new ApiError(404, 'not_found', 'no such chat');
    return info;
  } catch (error) {
    await bucket.delete(key).catch(() => {});
    await room.abandonFile(slot.id);
    throw error;
  }
}
