import { describe, expect, it } from 'vitest';
import type { PartEvent } from '../../src/protocol/events';
import { PartsBuilder } from '../../src/protocol/parts';

function build(events: PartEvent[]): PartsBuilder {
  const builder = new PartsBuilder();
  for (const event of events) builder.add(event);
  return builder;
}

describe('PartsBuilder', () => {
  it('joins neighbouring pieces of one kind and keeps the kinds apart, in order', () => {
    const parts = build([
      { type: 'thought', text: 'a' },
      { type: 'thought', text: 'b' },
      { type: 'text', text: 'A' },
      { type: 'text', text: 'B' },
      { type: 'thought', text: 'c' },
    ]);
    expect(parts.parts).toEqual([
      { type: 'thought', text: 'ab' },
      { type: 'text', text: 'AB' },
      { type: 'thought', text: 'c' },
    ]);
    expect(parts.text).toBe('AB');
    expect(parts.thoughts).toBe('abc');
    expect(parts.meaningful).toBe(true);
  });

  it('keeps a signed piece as a part of its own: nothing joins it before or after', () => {
    const parts = build([
      { type: 'text', text: 'One' },
      { type: 'text', text: ' two', signature: 'c2lnMQ==' },
      { type: 'text', text: ' three' },
      { type: 'text', text: '', signature: 'c2lnMg==' },
    ]);
    expect(parts.parts).toEqual([
      { type: 'text', text: 'One' },
      { type: 'text', text: ' two', signature: 'c2lnMQ==' },
      { type: 'text', text: ' three' },
      { type: 'text', text: '', signature: 'c2lnMg==' },
    ]);
    expect(parts.text).toBe('One two three');
  });

  it('is not worth storing when it is plain text with no signature', () => {
    expect(build([{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }]).meaningful).toBe(false);
    expect(build([{ type: 'text', text: '', signature: 's' }]).meaningful).toBe(true);
  });
});
