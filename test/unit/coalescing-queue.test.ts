import { describe, expect, it } from 'vitest';
import { CoalescingQueue } from '../../src/stream/coalescing-queue';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (chunk: Uint8Array | undefined) => new TextDecoder().decode(chunk);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Which settles first: `read`, or a 0 ms timer (which runs before any timer of 1 ms or more). */
const settlesBeforeATimer = (read: Promise<unknown>) =>
  Promise.race([read.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 0))]);

describe('CoalescingQueue', () => {
  it('hands a waiting reader each chunk alone, as soon as it is pushed', async () => {
    const queue = new CoalescingQueue({ writeWindowMs: 0 });
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

  it('serves a waiting reader at once when the write window is over, alone', async () => {
    const queue = new CoalescingQueue({ writeWindowMs: 5 });
    const reader = queue.readable.getReader();
    const first = reader.read();
    queue.push(bytes('a'));
    expect(await settlesBeforeATimer(first)).toBe(true);
    await sleep(10); // a paced answer: the next frame comes after the window
    const second = reader.read();
    queue.push(bytes('b'));
    expect(await settlesBeforeATimer(second)).toBe(true);
    expect(text((await second).value)).toBe('b');
  });

  it('holds frames that come within the write window, then hands them over in one chunk', async () => {
    const queue = new CoalescingQueue({ writeWindowMs: 20 });
    const reader = queue.readable.getReader();
    const first = reader.read();
    queue.push(bytes('a'));
    expect(text((await first).value)).toBe('a');
    // A burst: the reader waits again at once, and three frames come one after another.
    const second = reader.read();
    queue.push(bytes('b'));
    expect(await settlesBeforeATimer(second)).toBe(false);
    await sleep(1);
    queue.push(bytes('c'));
    queue.push(bytes('d'));
    expect(text((await second).value)).toBe('bcd');
  });

  it('flushes frames held for the window at once when closed', async () => {
    const queue = new CoalescingQueue({ writeWindowMs: 60_000 });
    const reader = queue.readable.getReader();
    expect(text((await Promise.all([reader.read(), queue.push(bytes('a'))]))[0].value)).toBe('a');
    const second = reader.read();
    queue.push(bytes('b'));
    queue.push(bytes('c'));
    queue.close();
    expect(await settlesBeforeATimer(second)).toBe(true);
    expect(text((await second).value)).toBe('bc');
    expect((await reader.read()).done).toBe(true);
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
    const queue = new CoalescingQueue({ highWaterMark: 10 });
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
    const queue = new CoalescingQueue({ highWaterMark: 1, onCancel: (reason) => (cancelled = reason) });
    queue.push(bytes('ab'));
    const waiting = queue.ready();
    await queue.readable.cancel('gone');
    expect(cancelled).toBe('gone');
    await waiting;
    queue.push(bytes('late'));
    expect(queue.queuedBytes).toBe(0);
  });
});
