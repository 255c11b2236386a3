import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../e2e/dev-server';
import { fakeRecords, uniqueTag, waitForRecord } from '../e2e/fake-records';
import { png } from '../files';
import { bundleApp, consoleErrors, launchChromium, startStaticSite, type StaticSite } from './browser';

/**
 * The real `useChat` of `@ai-sdk/react`, bundled with `ai`, `react` and
 * `react-dom` into an app served from a page of another origin, against the
 * Worker under `wrangler dev` with the fake Gemini. The app changes nothing
 * but the transport's URL (test/browser/fixtures/use-chat-app.tsx).
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

let dev: DevServer;
let site: StaticSite;
let browser: Browser;
let page: Page;
let errors: string[];

beforeAll(async () => {
  site = await startStaticSite();
  const [server, chromium, bundle] = await Promise.all([
    // A short grace period, so that a turn nobody listens to ends within the test's wait.
    startDevServer(['--var', 'RESUME_GRACE_MS:1500'], { ALLOWED_ORIGINS: site.url }),
    launchChromium(),
    bundleApp(join(root, 'test/browser/fixtures/use-chat-app.tsx')),
  ]);
  [dev, browser] = [server, chromium];
  site.set('/app.js', bundle, 'text/javascript');
  site.set('/chat.html', '<!doctype html><meta charset="utf-8"><title>useChat</title><div id="root"></div><script type="module" src="/app.js"></script>');
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await site?.close();
});

beforeEach(async () => {
  page = await browser.newPage();
  errors = consoleErrors(page);
});

afterEach(async () => {
  await page.close();
});

let chats = 0;
const newChatId = () => `usechat${Date.now().toString(36)}${(chats++).toString(36)}`.padEnd(16, '0');

/** Opens the app; `showThoughts` puts `thinking: { show: true }` in its transport's body. */
async function open(chat: string, { showThoughts = false } = {}): Promise<void> {
  await page.goto(`${site.url}/chat.html?${new URLSearchParams({ worker: dev.url, chat, ...(showThoughts ? { thoughts: 'show' } : {}) })}`);
  await page.getByRole('button', { name: 'Send' }).waitFor();
}

async function send(message: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message' }).fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
}

const read = (id: string) => page.evaluate((testId) => document.querySelector(`[data-testid="${testId}"]`)!.textContent!, id);
// The app shows "Loading" until it has read the stored chat: until then there is nothing to match.
const shown = (testId: string, check: string) =>
  page.waitForFunction(([id, body]) => new Function('text', `return ${body}`)(document.querySelector(`[data-testid="${id}"]`)?.textContent ?? null), [testId, check] as const);
const untilText = (min = 1) => shown('text', `text !== null && text.length >= ${min}`);
const untilStatus = (status: string) => shown('status', `text === ${JSON.stringify(status)}`);
const untilRoles = (roles: string) => shown('roles', `text === ${JSON.stringify(roles)}`);
/**
 * Until the app's onFinish has run `count` times: each request ends with exactly one, however it
 * ends. (Waiting for status "ready" right after a click can pass before the click's request starts.)
 */
const untilFinished = (count: number) => shown('finishes', `text !== null && JSON.parse(text).length >= ${count}`);

describe('useChat against /api/ai-sdk/chat, from a page of another origin', () => {
  it('streams a message piece by piece, status streaming → ready, with the finish and usage', async () => {
    const chat = newChatId();
    await open(chat);
    const tag = uniqueTag();
    await send(`Tell me [fake:reply chunks=30 delay=40 tag=${tag}]`);
    await untilText();
    const partial = await read('text');
    expect(await read('status')).toBe('streaming');
    await untilStatus('ready');
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(partial.length).toBeLessThan(record.sentText.length);
    expect(record.sentText.startsWith(partial)).toBe(true);
    expect(await read('text')).toBe(record.sentText);
    expect((await read('seen')).split(' ')).toEqual(['ready', 'submitted', 'streaming', 'ready']);
    expect(JSON.parse(await read('metadata'))).toMatchObject({ finishReason: 'STOP', usage: { totalTokenCount: expect.any(Number) } });
    expect(JSON.parse(await read('finishes'))).toEqual([{ isAbort: false, isError: false, finishReason: 'stop' }]);
    expect(errors).toEqual([]);
  });

  it('a second message carries the history upstream', async () => {
    const chat = newChatId();
    await open(chat);
    const [first, second] = [uniqueTag(), uniqueTag()];
    await send(`One [fake:reply chunks=3 tag=${first}]`);
    await untilFinished(1);
    await send(`Two [fake:reply chunks=3 tag=${second}]`);
    await untilFinished(2);
    await untilRoles('user assistant user assistant');
    const [one] = await fakeRecords(dev.fakeUrl!, first);
    const [two] = await fakeRecords(dev.fakeUrl!, second);
    expect(two.body.contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    expect(two.body.contents[1].parts[0].text).toBe(one.sentText);
    expect(await read('text')).toBe(two.sentText);
    expect(errors).toEqual([]);
  });

  it('a reload in the middle of an answer resumes it with resume: true: the whole answer, once, from one upstream call', async () => {
    const chat = newChatId();
    await open(chat);
    const tag = uniqueTag();
    await send(`Tell me [fake:reply chunks=60 delay=40 tag=${tag}]`);
    await untilText(100);
    await page.reload();
    // The stored chat shows the answer so far at once; the resumed stream then replaces it.
    await untilStatus('streaming');
    await untilStatus('ready');
    const records = await fakeRecords(dev.fakeUrl!, tag);
    expect(records).toHaveLength(1);
    expect(records[0].status).toBe('completed');
    expect(await read('text')).toBe(records[0].sentText);
    expect(await read('roles')).toBe('user assistant');
    expect(JSON.parse(await read('finishes'))).toEqual([{ isAbort: false, isError: false, finishReason: 'stop' }]);
    // The reload itself cuts the first stream; Chromium may log that, the app does not.
    expect(errors.filter((line) => !/ERR_|aborted|Failed to fetch/i.test(line))).toEqual([]);
  });

  it('stop() stops the answer where it is, calls onFinish with isAbort, and the turn ends after the grace period', async () => {
    const chat = newChatId();
    await open(chat);
    const tag = uniqueTag();
    // 40 s of answer: long enough that only an abort ends it within the wait below.
    await send(`Tell me [fake:reply chunks=1000 delay=40 tag=${tag}]`);
    await untilText();
    await page.getByRole('button', { name: 'Stop' }).click();
    const stoppedAt = Date.now();
    await untilStatus('ready');
    const stopped = await read('text');
    await page.waitForTimeout(300);
    expect(await read('text')).toBe(stopped);
    expect(JSON.parse(await read('finishes'))).toEqual([expect.objectContaining({ isAbort: true })]);
    // Nothing reached the server but a closed connection: RESUME_GRACE_MS (1.5 s here) after the
    // object notices it, Gemini is aborted. Noticing can take seconds under wrangler dev: Chromium
    // keeps an aborted HTTP/1.1 response's socket to drain it for reuse (up to 16 KB or 5 s,
    // net/http/http_response_body_drainer.h) before it closes; deployed, the edge sees the abort.
    let record = await waitForRecord(dev.fakeUrl!, tag, () => true);
    while (record.status === 'streaming' && Date.now() - stoppedAt < 30_000) {
      await page.waitForTimeout(100);
      [record] = await fakeRecords(dev.fakeUrl!, tag);
    }
    // On failure, what wrangler dev saw of the chat's requests says where the disconnect got lost.
    const seenByWrangler = dev.output().split('\n').filter((line) => line.includes('/api/ai-sdk/chat')).slice(-6).join('\n');
    expect({ aborted: record.aborted, status: record.status, afterMs: Date.now() - stoppedAt }, seenByWrangler).toMatchObject({ aborted: true, status: 'aborted' });
    expect(record.chunksSent).toBeLessThan(1000);
    expect(errors).toEqual([]);
  });

  it('stop() on a resumed stream stops it too, and the cancel endpoint aborts Gemini at once', async () => {
    const chat = newChatId();
    await open(chat);
    const tag = uniqueTag();
    await send(`Tell me [fake:reply chunks=400 delay=40 tag=${tag}]`);
    await untilText(100);
    await page.reload();
    await untilStatus('streaming');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await untilStatus('ready');
    const stopped = await read('text');
    const record = await waitForRecord(dev.fakeUrl!, tag, (r) => r.status !== 'streaming');
    expect(record.aborted).toBe(true);
    expect(record.chunksSent).toBeLessThan(400);
    await page.waitForTimeout(300);
    expect(await read('text')).toBe(stopped);
    expect(JSON.parse(await read('finishes'))).toEqual([expect.objectContaining({ isAbort: true })]);
    // After a reload the stored chat shows the answer as it was stopped.
    await page.reload();
    await untilRoles('user assistant');
    expect(JSON.parse(await read('metadata'))).toMatchObject({ status: 'cancelled' });
    expect(errors.filter((line) => !/ERR_|aborted|Failed to fetch/i.test(line))).toEqual([]);
  });

  it('sendMessage({ text, files }) sends an image that reaches Gemini intact; after a reload it is a file part on the Worker', async () => {
    const chat = newChatId();
    await open(chat);
    const image = png(30_000, 4);
    const sha = createHash('sha256').update(image).digest('hex');
    await page.getByLabel('Attach').setInputFiles({ name: 'error.png', mimeType: 'image/png', buffer: Buffer.from(image) });
    const tag = uniqueTag();
    await send(`What is this? [fake:reply tag=${tag}]`);
    await untilFinished(1);
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(record.files).toEqual([expect.objectContaining({ kind: 'inline', mimeType: 'image/png', bytes: 30_000, sha256: sha })]);
    expect(await read('text')).toContain(`[fake] received image/png, 30000 bytes, sha256 ${sha.slice(0, 16)}`);

    await page.reload();
    await untilRoles('user assistant');
    const [file] = JSON.parse(await read('user-files')) as Array<{ mediaType: string; url: string; filename?: string }>;
    expect(file).toMatchObject({ mediaType: 'image/png', filename: 'error.png', url: expect.stringMatching(new RegExp(`^${dev.url}/api/chats/[0-9a-f]{64}/files/f[0-9a-f]{32}$`)) });
    const stored = await fetch(file.url);
    expect(stored.headers.get('content-type')).toBe('image/png');
    expect(createHash('sha256').update(new Uint8Array(await stored.arrayBuffer())).digest('hex')).toBe(sha);
    expect(errors).toEqual([]);
  });

  it('an upstream 429 sets error, with the Worker\'s JSON error (upstream_quota) as its message', async () => {
    const chat = newChatId();
    await open(chat);
    await send('[fake:http status=429 retry=3s]');
    await untilStatus('error');
    const error = JSON.parse(await read('error')) as { error: { code: string } };
    expect(error.error.code).toBe('upstream_quota');
    expect(await read('text')).toBe('');
    expect(errors.filter((line) => !/status of 429/.test(line))).toEqual([]);
  });

  it('shows a grounded answer\'s sources as source-url parts', async () => {
    const chat = newChatId();
    await open(chat);
    await send('Search [fake:grounding]');
    await untilFinished(1);
    const sources = (await read('sources')).split(' ');
    expect(sources).toHaveLength(2);
    expect(sources.every((url) => url.startsWith('https://'))).toBe(true);
    expect(errors).toEqual([]);
  });

  it('with thinking.show in the transport\'s body, shows the thought summary as a reasoning part before the answer, live and after a reload', async () => {
    const chat = newChatId();
    await open(chat, { showThoughts: true });
    const tag = uniqueTag();
    // 300 ms between the fake's events: the first thought is on screen well before the second, and before any text.
    await send(`Think [fake:reply chunks=4 delay=300 tag=${tag}]`);
    await shown('reasoning', `text !== null && text.includes('step 1 of 2')`);
    const live = await page.evaluate(() => ['reasoning', 'text'].map((id) => document.querySelector(`[data-testid="${id}"]`)!.textContent!));
    await untilFinished(1);
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(record.body.generationConfig).toMatchObject({ thinkingConfig: { includeThoughts: true } });
    expect(record.thoughtChunksSent).toBe(2);
    expect(live[0]).not.toContain('step 2 of 2');
    expect(live[1]).toBe('');

    const answerParts = async () => (await read('parts')).split(' ').filter((type) => type === 'reasoning' || type === 'text');
    const reasoning = await read('reasoning');
    expect(reasoning).toMatch(/^\*\*.+\*\*\n\n.*step 1 of 2[^]*step 2 of 2 before I answer\.\n\n\n$/);
    expect(await read('text')).toBe(record.sentText);
    expect(await answerParts()).toEqual(['reasoning', 'text']);

    // The stored chat (GET /api/ai-sdk/chat/:id) gives the same reasoning part back, first.
    await page.reload();
    await untilRoles('user assistant');
    expect(await read('reasoning')).toBe(reasoning);
    expect(await read('text')).toBe(record.sentText);
    expect(await answerParts()).toEqual(['reasoning', 'text']);
    expect(errors).toEqual([]);
  });

  it('regenerate() replaces the last answer', async () => {
    const chat = newChatId();
    await open(chat);
    const tag = uniqueTag();
    await send(`Tell me [fake:reply chunks=3 tag=${tag}]`);
    await untilFinished(1);
    const [question, answer] = (await read('ids')).split(' ');
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await untilFinished(2);
    expect(JSON.parse(await read('finishes'))[1]).toEqual({ isAbort: false, isError: false, finishReason: 'stop' });
    const ids = (await read('ids')).split(' ');
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(question);
    expect(ids[1]).not.toBe(answer);
    const records = await fakeRecords(dev.fakeUrl!, tag);
    expect(records).toHaveLength(2);
    expect(await read('text')).toBe(records[1].sentText);
    // The stored chat agrees: one exchange, with the new answer.
    await page.reload();
    await untilRoles('user assistant');
    expect((await read('ids')).split(' ')[1]).toBe(ids[1]);
    expect(errors).toEqual([]);
  });
});
