import { describe, expect, it } from 'vitest';
import { buildContents } from '../../src/chat/chat-room';
import type { StoredMessage } from '../../src/chat/chat-store';

const at = '2026-12-02T00:00:00.000Z';
const user = (id: number, text: string): StoredMessage => ({ id, role: 'user', text, status: 'complete', createdAt: at });
const model = (id: number, text: string, parts?: StoredMessage['parts']): StoredMessage => ({
  id,
  role: 'model',
  text,
  status: 'complete',
  createdAt: at,
  ...(parts ? { parts } : {}),
});

/** Newest first, as the store reads them. */
const recent = (messages: StoredMessage[]) => [...messages].reverse();

describe('buildContents', () => {
  it('sends an answer back as its parts: the thought summary, the text, and each signature on its own part', () => {
    const parts = [
      { type: 'thought' as const, text: 'Plan.' },
      { type: 'text' as const, text: 'Answer.' },
      { type: 'text' as const, text: '', signature: 'c2ln' },
    ];
    expect(buildContents(recent([user(1, 'Q'), model(2, 'Answer.', parts)]), 'Next', 1000)).toEqual([
      { role: 'user', parts: [{ text: 'Q' }] },
      { role: 'model', parts: [{ text: 'Plan.', thought: true }, { text: 'Answer.' }, { text: '', thoughtSignature: 'c2ln' }] },
      { role: 'user', parts: [{ text: 'Next' }] },
    ]);
  });

  it('counts a thought summary in the budget and drops the oldest turn whole, signature and all', () => {
    const thinking = [
      { type: 'thought' as const, text: 'x'.repeat(50) },
      { type: 'text' as const, text: 'Old.', signature: 'b2xk' },
    ];
    const contents = buildContents(recent([user(1, 'First'), model(2, 'Old.', thinking), user(3, 'Second'), model(4, 'New.')]), 'Third', 40);
    expect(contents).toEqual([
      { role: 'user', parts: [{ text: 'Second' }] },
      { role: 'model', parts: [{ text: 'New.' }] },
      { role: 'user', parts: [{ text: 'Third' }] },
    ]);
    // With room for it, the old turn comes back with its signed part intact.
    expect(buildContents(recent([user(1, 'First'), model(2, 'Old.', thinking), user(3, 'Second'), model(4, 'New.')]), 'Third', 1000)[1]).toEqual({
      role: 'model',
      parts: [{ text: 'x'.repeat(50), thought: true }, { text: 'Old.', thoughtSignature: 'b2xk' }],
    });
  });
});
