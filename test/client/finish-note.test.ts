import { describe, expect, it } from 'vitest';
import { finishNote, STRINGS } from '../../src/widget/strings';

describe('the widget\'s note under an answer', () => {
  it.each([
    ['STOP', ''],
    ['MAX_TOKENS', STRINGS.maxTokens],
    ['SAFETY', STRINGS.safety],
    ['RECITATION', STRINGS.safety],
    ['PROHIBITED_CONTENT', STRINGS.safety],
    ['IMAGE_SAFETY', STRINGS.safety],
    ['OTHER', STRINGS.finished.replace('{reason}', 'OTHER')],
  ])('after %s is %j', (reason, note) => {
    expect(finishNote(STRINGS, reason)).toBe(note);
  });
});
