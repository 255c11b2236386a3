import { describe, expect, it } from 'vitest';
import { errorText, finishNote, STRINGS } from '../../src/widget/strings';

describe('the widget\'s note under an answer', () => {
  it.each([
    ['STOP', ''],
    ['MAX_TOKENS', STRINGS.maxTokens],
    ['SAFETY', STRINGS.safety],
    ['RECITATION', STRINGS.safety],
    ['PROHIBITED_CONTENT', STRINGS.safety],
    ['IMAGE_SAFETY', STRINGS.safety],
    ['TOO_MANY_TOOL_CALLS', STRINGS.finished.replace('{reason}', 'TOO_MANY_TOOL_CALLS')],
    ['OTHER', STRINGS.finished.replace('{reason}', 'OTHER')],
  ])('after %s is %j', (reason, note) => {
    expect(finishNote(STRINGS, reason)).toBe(note);
  });
});

describe('the widget\'s sentence for a failed answer', () => {
  it.each([
    ['rate_limited', STRINGS.rateLimited],
    // Gemini's quota: to a visitor, the same wait as ours.
    ['upstream_quota', STRINGS.rateLimited],
    ['model_unavailable', STRINGS.unavailable],
    ['upstream_auth', STRINGS.unavailable],
  ])('for %s is %j, never the Worker\'s message meant for the operator', (code, sentence) => {
    expect(errorText(STRINGS, code, 'Gemini does not serve the model "x" to this key (404 Not Found)')).toBe(sentence);
  });
});

describe('the widget\'s sentence for the deployment\'s spent cap', () => {
  it('is the Worker\'s own message, written for visitors: the chat is resting until tomorrow', () => {
    // No string of its own (the widget's gzip budget is nearly full): the Worker words it for visitors.
    const message = 'The chat is resting until tomorrow: this site\'s daily budget of 200000 tokens is spent. It reopens in 3600 s (midnight UTC).';
    expect(errorText(STRINGS, 'deployment_budget_exhausted', message)).toBe(message);
  });
});
