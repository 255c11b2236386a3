import { describe, expect, it } from 'vitest';
import { CoalescingQueue } from '../../src/stream/coalescing-queue';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (chunk: Uint8Array | undefined) => new TextDecoder().decode(chunk);

describe('CoalescingQueue', () => {
  it('hands a waiting reader each chunk alone, as soon as it is pushed', async () => {
    const queue = new CoalescingQueue();
    const reader = queue.readable.getReader();
    const first = reader.read();
    queue.push(bytes('a'));
    expect(text((await first).value)).toBe('a');
    const second = reader.read();
    queue.push(bytes('b'));
    expect(text((await second).value)).toBe('b');
  });

  it('joins everything pushed while nobody read into one chunk, in order', async () => {
    const queue = new CoalescingQueue();
    const reader = queue.readable.getReader();
    for (let i = 0; i < 100; i++) queue.push(bytes(`${i},`));
    const { value } = await reader.read();
    expect(text(value)).toBe(Array.from({ length: 100 }, (_, i) => `${i},`).join(''));
    expect(queue.queuedBytes).toBe(0);
  });

  it('delivers what is queued before closing', async () => {
    const queue = new CoalescingQueue();
    queue.push(bytes('x'));
    queue.push(bytes('y'));
    queue.close();
    queue.push(bytes('dropped'));
    const reader = queue.readable.getReader();
    expect(text((await reader.read()).value)).toBe('xy');
    expect((await reader.read()).done).toBe(true);
  });

  it('ends a read that is waiting when closed', async () => {
    const queue = new CoalescingQueue();
    const reader = queue.readable.getReader();
    const pending = reader.read();
    queue.close();
    expect((await pending).done).toBe(true);
  });

  it('makes producers wait above the high-water mark, and lets them go once read', async () => {
    const queue = new CoalescingQueue(10);
    queue.push(bytes('12345'));
    let released = false;
    await queue.ready(); // below the mark: at once
    queue.push(bytes('67890'));
    const waiting = queue.ready().then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(false);
    const reader = queue.readable.getReader();
    expect(text((await reader.read()).value)).toBe('1234567890');
    await waiting;
    expect(released).toBe(true);
  });

  it('errors the reader and drops the queue on error', async () => {
    const queue = new CoalescingQueue();
    queue.push(bytes('lost'));
    queue.error(new Error('upstream broke'));
    await expect(queue.readable.getReader().read()).rejects.toThrow('upstream broke');
    expect(queue.open).toBe(false);
  });

  it('tells its owner when the reader cancels, releases waiting producers, and drops later pushes', async () => {
    let cancelled: unknown;
    const queue = new CoalescingQueue(1, (reason) => (cancelled = reason));
    queue.push(bytes('ab'));
    const waiting = queue.ready();
    await queue.readable.cancel('gone');
    expect(cancelled).toBe('gone');
    await waiting;
    queue.push(bytes('late'));
    expect(queue.queuedBytes).toBe(0);
  });
});
