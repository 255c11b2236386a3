import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { uniqueTag } from '../fake-gemini';
import { parseSse } from '../sse';

/**
 * A saturated isolate must not take its own slowness for a silent Gemini.
 * The test blocks the isolate (the Worker shares it with the test) for longer
 * than UPSTREAM_IDLE_TIMEOUT_MS (1500 in the test bindings) while Gemini keeps
 * sending: when the isolate runs again, its timers fire late, next to chunks
 * that have been waiting all along — and the answer must go on.
 */
/** Keeps this isolate busy: no timer, no I/O runs in it meanwhile. */
function block(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Busy.
  }
}

describe('a saturated isolate', () => {
  it.each([2000, 4000])('keeps streaming after being blocked for %i ms while Gemini kept sending', async (blockMs) => {
    const response = await exports.default.fetch('http://worker/api/chat/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: `Hi [fake:reply chunks=12 delay=100 tag=${uniqueTag()}]` }),
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value, { stream: true });
    block(blockMs);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const frames = parseSse(text);
    expect(frames.at(-1)?.event, JSON.stringify(frames.at(-1)?.data)).toBe('done');
  });
});
