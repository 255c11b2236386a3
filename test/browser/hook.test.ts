import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCuttingProxy, type CuttingProxy } from '../e2e/cutting-proxy';
import { startDevServer, type DevServer } from '../e2e/dev-server';
import { fakeRecords, uniqueTag, waitForRecord } from '../e2e/fake-records';
import { bundleApp, consoleErrors, isNetworkLog, launchChromium, startStaticSite, type StaticSite } from './browser';

/**
 * The package as a React developer takes it: `npm pack`, the tarball
 * installed with react and react-dom into a scratch project, a tiny app
 * using `useGeminiStream` from `gemini-edge/react` type-checked and bundled
 * with esbuild, then run in Chromium on a page of another origin against
 * the Worker under `wrangler dev`.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

let scratch: string;
let dev: DevServer;
let site: StaticSite;
let browser: Browser;
let page: Page;
let errors: string[];
let proxy: CuttingProxy | undefined;

/** Packs the project and installs the tarball into a new project, as a consumer would. */
async function installPackedPackage(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gemini-edge-consumer-'));
  const { stdout } = await run(npm, ['pack', '--pack-destination', dir, '--silent'], { cwd: root });
  const tarball = join(dir, stdout.trim().split('\n').at(-1)!);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, 'react@19', 'react-dom@19', '@types/react@19', '@types/react-dom@19'], { cwd: dir });
  await mkdir(join(dir, 'src'));
  await copyFile(join(root, 'test/browser/fixtures/hook-app.tsx'), join(dir, 'src/app.tsx'));
  return dir;
}

/** Type-checks the consumer's app with the repo's TypeScript, under the given module resolution. */
async function typecheck(dir: string, moduleResolution: 'bundler' | 'nodenext'): Promise<void> {
  const config = {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      module: moduleResolution === 'bundler' ? 'ESNext' : 'NodeNext',
      moduleResolution,
      jsx: 'react-jsx',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
    },
    include: ['src'],
  };
  const file = join(dir, `tsconfig.${moduleResolution}.json`);
  await writeFile(file, JSON.stringify(config));
  await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', file], { cwd: dir });
}

beforeAll(async () => {
  site = await startStaticSite();
  const [installed, server, chromium] = await Promise.all([
    installPackedPackage(),
    startDevServer([], { ALLOWED_ORIGINS: site.url }),
    launchChromium(),
  ]);
  [scratch, dev, browser] = [installed, server, chromium];
  site.set('/app.js', await bundleApp(join(scratch, 'src/app.tsx')), 'text/javascript');
  site.set('/hook.html', '<!doctype html><meta charset="utf-8"><title>Hook</title><div id="root"></div><script type="module" src="/app.js"></script>');
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await site?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

beforeEach(async () => {
  page = await browser.newPage();
  errors = consoleErrors(page);
});

afterEach(async () => {
  await page.close();
  await proxy?.close();
  proxy = undefined;
});

interface View {
  streaming: string;
  thoughts: string;
  thinking: string;
  thinkingSeen: string;
  text: string;
  last: string;
  finish: string;
  usage: string;
  model: string;
  error: string;
  chat: string;
  progress: string;
  files: string;
}

/** Everything the app shows, read at one instant. */
function view(): Promise<View> {
  return page.evaluate(() => {
    const read = (id: string) => document.querySelector(`[data-testid="${id}"]`)!.textContent!;
    return {
      streaming: read('streaming'),
      thoughts: read('thoughts'),
      thinking: read('thinking'),
      thinkingSeen: read('thinking-seen'),
      text: read('text'),
      last: read('last'),
      finish: read('finish'),
      usage: read('usage'),
      model: read('model'),
      error: read('error'),
      chat: read('chat'),
      progress: read('progress'),
      files: read('files'),
    };
  });
}

/** Opens the app; `showThoughts` makes it call the hook with `thinking: { show: true }`. */
async function open(endpoint: string, chat?: string, { showThoughts = false } = {}): Promise<void> {
  const query = new URLSearchParams({ endpoint, ...(chat ? { chat } : {}), ...(showThoughts ? { thoughts: 'show' } : {}) });
  await page.goto(`${site.url}/hook.html?${query}`);
}

async function send(message: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message' }).fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
}

const untilText = (min = 1) => page.waitForFunction((n) => document.querySelector('[data-testid="text"]')!.textContent!.length >= n, min);
const untilThoughts = (containing: string) => page.waitForFunction((s) => document.querySelector('[data-testid="thoughts"]')!.textContent!.includes(s), containing);
const untilIdle = () => page.waitForFunction(() => document.querySelector('[data-testid="streaming"]')!.textContent === 'false');

describe('the packed package', () => {
  it('installs with only the browser side: the client, its parser, and React as a peer', async () => {
    const installed = await readdir(join(scratch, 'node_modules/gemini-edge'));
    expect(installed.sort()).toEqual(['README.md', 'dist', 'package.json']);
    expect(existsSync(join(scratch, 'node_modules/eventsource-parser'))).toBe(true);
    // The Worker's own dependencies are bundled by wrangler, never installed by a consumer.
    expect(existsSync(join(scratch, 'node_modules/hono'))).toBe(false);
    expect(existsSync(join(scratch, 'node_modules/@google/generative-ai'))).toBe(false);
  });

  it.each(['bundler', 'nodenext'] as const)('type-checks a consumer app under moduleResolution %s', async (resolution) => {
    await expect(typecheck(scratch, resolution)).resolves.toBeUndefined();
  });
});

describe('useGeminiStream in Chromium', () => {
  it('streams into streamedText piece by piece, isStreaming until done, then the finish reason, usage and answering model', async () => {
    await open(dev.url);
    const tag = uniqueTag();
    await send(`Tell me [fake:reply chunks=30 delay=40 tag=${tag}]`);
    await untilText();
    const partial = await view();
    await untilIdle();
    const final = await view();
    const [record] = await fakeRecords(dev.fakeUrl!, tag);

    expect(partial).toMatchObject({ streaming: 'true', finish: '', last: '', model: '' });
    expect(partial.text.length).toBeLessThan(record.sentText.length);
    expect(record.sentText.startsWith(partial.text)).toBe(true);
    expect(final).toMatchObject({ streaming: 'false', text: record.sentText, finish: 'STOP', last: 'done', error: '', model: 'gemini-3.8-flash' });
    expect(Number(final.usage)).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('with thinking.show, shows the thought summary live before the answer: isThinking true until the first text, then false', async () => {
    await open(dev.url, undefined, { showThoughts: true });
    const tag = uniqueTag();
    // 300 ms between the fake's events: the first thought is on screen well before the second, and before any text.
    await send(`Think [fake:reply chunks=4 delay=300 tag=${tag}]`);
    await untilThoughts('step 1 of 2');
    const thinking = await view();
    await untilIdle();
    const final = await view();
    const [record] = await fakeRecords(dev.fakeUrl!, tag);

    expect(record.body.generationConfig).toMatchObject({ thinkingConfig: { includeThoughts: true } });
    expect(record.thoughtChunksSent).toBe(2);
    expect(thinking).toMatchObject({ streaming: 'true', thinking: 'true', text: '' });
    expect(thinking.thoughts).not.toContain('step 2 of 2');
    expect(final.thoughts).toMatch(/step 1 of 2[^]*step 2 of 2/);
    expect(final).toMatchObject({ streaming: 'false', thinking: 'false', text: record.sentText, finish: 'STOP', error: '' });
    expect(final.text).not.toContain('step 1 of 2');
    expect(final.thinkingSeen).toBe('false true false');

    // The next message starts from nothing: an answer without a summary leaves thoughts empty.
    const next = uniqueTag();
    await send(`Again [fake:reply chunks=2 thoughts=none tag=${next}]`);
    const again = await waitForRecord(dev.fakeUrl!, next, (r) => r.status === 'completed');
    await page.waitForFunction((text) => document.querySelector('[data-testid="text"]')!.textContent === text, again.sentText);
    await untilIdle();
    expect(await view()).toMatchObject({ thoughts: '', thinking: 'false', thinkingSeen: 'false true false', text: again.sentText });
    expect(errors).toEqual([]);
  });

  it('with chatId and thinking.show, asks for the thoughts on each message, and the stored message keeps what was shown', async () => {
    await open(dev.url, 'new', { showThoughts: true });
    const tag = uniqueTag();
    await send(`Think [fake:reply chunks=3 delay=100 tag=${tag}]`);
    await untilThoughts('step 2 of 2');
    await untilIdle();
    const final = await view();
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(record.body.generationConfig).toMatchObject({ thinkingConfig: { includeThoughts: true } });
    expect(final).toMatchObject({ thinking: 'false', thinkingSeen: 'false true false', text: record.sentText, finish: 'STOP' });
    const stored = (await (await fetch(`${dev.url}/api/chats/${final.chat}`)).json()) as { messages: { role: string; text: string; thoughts?: string }[] };
    expect(stored.messages[1]).toMatchObject({ role: 'model', text: record.sentText, thoughts: final.thoughts });
    expect(errors).toEqual([]);
  });

  it('stop() ends the answer, keeps the partial text, and Gemini is aborted', async () => {
    await open(dev.url);
    const tag = uniqueTag();
    await send(`Tell me [fake:reply chunks=60 delay=40 tag=${tag}]`);
    await untilText();
    await page.getByRole('button', { name: 'Stop' }).click();
    await untilIdle();
    const stopped = await view();
    const record = await waitForRecord(dev.fakeUrl!, tag, (r) => r.status !== 'streaming');
    expect(record.aborted).toBe(true);
    await page.waitForTimeout(300); // nothing more arrives after a stop
    expect(await view()).toStrictEqual(stopped);
    expect(stopped.text.length).toBeGreaterThan(0);
    expect(record.sentText.startsWith(stopped.text)).toBe(true);
    expect(stopped.last).toBe('');
    expect(errors).toEqual([]);
  });

  it('unmounting mid-answer closes the connection: Gemini is aborted, and no errors', async () => {
    await open(dev.url);
    const tag = uniqueTag();
    await send(`Tell me [fake:reply chunks=60 delay=40 tag=${tag}]`);
    await untilText();
    await page.getByRole('button', { name: 'Unmount' }).click();
    const record = await waitForRecord(dev.fakeUrl!, tag, (r) => r.status !== 'streaming');
    expect(record.aborted).toBe(true);
    expect(record.chunksSent).toBeLessThan(60);
    await page.waitForTimeout(300);
    expect(errors).toEqual([]);
  });

  it('a second message while one streams stops the first', async () => {
    await open(dev.url);
    const [first, second] = [uniqueTag(), uniqueTag()];
    await send(`One [fake:reply chunks=60 delay=40 tag=${first}]`);
    await untilText();
    await send(`Two [fake:reply chunks=5 tag=${second}]`);
    await page.waitForFunction(() => document.querySelector('[data-testid="last"]')!.textContent === 'done');
    const [record] = await fakeRecords(dev.fakeUrl!, second);
    expect((await view()).text).toBe(record.sentText);
    expect((await waitForRecord(dev.fakeUrl!, first, (r) => r.status !== 'streaming')).aborted).toBe(true);
    expect(errors).toEqual([]);
  });

  it('shows a refusal as error, with no text', async () => {
    await open(dev.url);
    await send('[fake:http status=429 retry=3s]');
    await untilIdle();
    expect(await view()).toMatchObject({ streaming: 'false', text: '', error: 'upstream_quota 429', last: 'error', model: '' });
    // Chromium's own line for the 429 response; the app logs nothing.
    expect(errors.filter((line) => !/status of 429/.test(line))).toEqual([]);
  });

  it('with chatId, stop() cancels the turn: Gemini is aborted at once, not after the grace period', async () => {
    await open(dev.url, 'new');
    const tag = uniqueTag();
    await send(`Tell me [fake:reply chunks=200 delay=40 tag=${tag}]`);
    await untilText();
    await page.getByRole('button', { name: 'Stop' }).click();
    // RESUME_GRACE_MS is 10 s under npm run dev; waitForRecord gives up after 5.
    expect((await waitForRecord(dev.fakeUrl!, tag, (r) => r.status !== 'streaming')).aborted).toBe(true);
    expect(errors).toEqual([]);
  });

  it('with chatId, talks in a stored chat and rides through cut connections', async () => {
    proxy = await startCuttingProxy(dev.url);
    await open(proxy.url, 'new');
    const tag = uniqueTag();
    await send(`Tell me [fake:reply chunks=40 delay=30 tag=${tag}]`);
    await untilText(40);
    proxy.cut();
    await untilText(400);
    proxy.cut();
    await untilIdle();
    const final = await view();
    const records = await fakeRecords(dev.fakeUrl!, tag);
    expect(records).toHaveLength(1);
    expect(final).toMatchObject({ text: records[0].sentText, finish: 'STOP', error: '' });
    expect(final.chat).toMatch(/^[0-9a-f]{64}$/);
    expect(proxy.connections).toBeGreaterThanOrEqual(3);
    expect(errors.filter((line) => !isNetworkLog(line))).toEqual([]);
  });

  it('with chatId, send({ text, files }) uploads the file with progress, the image reaches Gemini intact, and files lists it with its URL', async () => {
    await open(dev.url, 'new');
    const image = readFileSync(join(root, 'docs/widget-light.png'));
    await page.getByLabel('Files').setInputFiles({ name: 'shot.png', mimeType: 'image/png', buffer: image });
    const tag = uniqueTag();
    await send(`What is this? [fake:reply chunks=2 tag=${tag}]`);
    await untilIdle();
    const final = await view();
    const [record] = (await fakeRecords(dev.fakeUrl!, tag)) as (Awaited<ReturnType<typeof fakeRecords>>[number] & { files: { mimeType: string; sha256: string }[] })[];
    expect(record.files).toMatchObject([{ mimeType: 'image/png', sha256: createHash('sha256').update(image).digest('hex') }]);
    expect(final).toMatchObject({ finish: 'STOP', error: '' });
    expect(final.text).toContain(`[fake] received image/png, ${image.byteLength} bytes`);
    // Progress reports, the last at the whole file.
    expect(final.progress.split(' ').at(-1)).toBe(`${image.byteLength}/${image.byteLength}`);
    expect(final.files).toMatch(new RegExp(`^shot\\.png image/png ${image.byteLength} ${dev.url}/api/chats/${final.chat}/files/\\w+$`));
    // The URL is the Worker's: the page shows the image from it.
    const shown = page.getByRole('img', { name: 'shot.png' });
    expect(await shown.evaluate((img: HTMLImageElement) => img.decode().then(() => img.naturalWidth))).toBeGreaterThan(100);
    expect(errors).toEqual([]);
  });

  it('a file the Worker refuses is the typed error, and no message is sent', async () => {
    await open(dev.url, 'new');
    await page.getByLabel('Files').setInputFiles({ name: 'setup.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0, ...new Array(500).fill(7)]) });
    const tag = uniqueTag();
    await send(`Run it [fake:reply tag=${tag}]`);
    await untilIdle();
    expect(await view()).toMatchObject({ error: 'unsupported_media_type 415', text: '', files: '' });
    expect(await fakeRecords(dev.fakeUrl!, tag)).toEqual([]);
    expect(errors.filter((line) => !/status of 415/.test(line))).toEqual([]);
  });
});
