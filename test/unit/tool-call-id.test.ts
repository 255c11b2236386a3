import { describe, expect, it } from 'vitest';
import { signatureOf, wireToolCallId } from '../../src/protocol/tool-call-id';

describe('tool call ids carrying thought signatures', () => {
  it('gives back the signature exactly, padding and all, from an id of only [A-Za-z0-9_-]', () => {
    for (const signature of ['c2ln+/8=', 'YWJjZA==', 'YWJj', btoa(String.fromCharCode(...Array.from({ length: 700 }, (_, i) => (i * 37) % 256)))]) {
      const id = wireToolCallId('call_Ab-_0123456789xy', signature);
      expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(signatureOf(id)).toBe(signature);
    }
  });

  it('leaves an unsigned call its plain id, and reads no signature from ids other APIs made', () => {
    expect(wireToolCallId('call_Ab-_0123456789xy')).toBe('call_Ab-_0123456789xy');
    for (const id of ['call_Ab-_0123456789xy', 'call_abc_s_c2ln', 'toolu_01A09q90qw90lq917835lq9', 'call_Ab-_0123456789xy_s_', 'call_Ab-_0123456789xy_s_a+b']) {
      expect(signatureOf(id)).toBeUndefined();
    }
  });

  it('reads no signature from an id cut short to one character past a whole base64 group (regression: Gemini refused the invalid base64 with 400)', () => {
    const id = wireToolCallId('call_Ab-_0123456789xy', btoa(String.fromCharCode(...Array.from({ length: 70 }, (_, i) => (i * 37) % 256))));
    for (let end = id.indexOf('_s_') + 4; end <= id.length; end++) {
      const signature = signatureOf(id.slice(0, end));
      if ((end - id.indexOf('_s_') - 3) % 4 === 1) expect(signature).toBeUndefined();
      else expect(() => atob(signature!)).not.toThrow();
    }
  });
});
