import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FileInfo, StreamEvent, UploadProgress } from '../../src/client/index';
import { startDevServer, type DevServer } from '../e2e/dev-server';
import { fakeRecords, uniqueTag, type FakeRecord } from '../e2e/fake-records';
import { bytesWith } from '../files';
import { consoleErrors, launchChromium, startStaticSite, type StaticSite } from './browser';

/**
 * Attachments from the browser (issue 20): the widget's attach button, a
 * pasted image and a dropped file, and the browser client's
 * `send({ text, files })`, each on a page of another origin, in Chromium,
 * against the Worker under `wrangler dev` and the fake Gemini, which records
 * the SHA-256 of every file it receives.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Small limits, so a too-large file is small too. */
const MAX_FILE_BYTES = 1024 * 1024;
const MAX_FILES = 3;

let dev: DevServer;
let site: StaticSite;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
/** Every request the page made to the Worker's API, as `METHOD /path`. */
let calls: string[];

/** What the fake recorded of each file part (test/fake-gemini.ts FakeFile). */
type FileRecord = FakeRecord & { files: { mimeType: string; bytes: number; sha256: string }[] };
const fileRecords = async (tag: string) => (await fakeRecords(dev.fakeUrl!, tag)) as FileRecord[];

beforeAll(async () => {
  site = await startStaticSite();
  [dev, browser] = await Promise.all([
    startDevServer(['--var', `MAX_FILE_BYTES:${MAX_FILE_BYTES}`, '--var', `MAX_FILES_PER_MESSAGE:${MAX_FILES}`], { ALLOWED_ORIGINS: site.url }),
    launchChromium(),
  ]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await site?.close();
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  page = await context.newPage();
  errors = consoleErrors(page);
  calls = [];
  page.on('request', (request) => {
    if (request.url().startsWith(`${dev.url}/api/`)) calls.push(`${request.method()} ${new URL(request.url()).pathname}`);
  });
});

afterEach(async () => {
  await context.close();
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A real PNG (a `size`×`size` square of one colour) that a browser decodes. */
function realPng(size = 40, rgb: [number, number, number] = [37, 99, 235]): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.from([0, ...Array.from({ length: size }, () => rgb).flat()]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: size }, () => row)));
  return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]));
}


/** A Windows executable (MZ header). */
const exe = (size: number) => bytesWith(new Uint8Array([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0, 0]), size, 3);

/** A PDF of `pages` pages. */
function pdf(pages: number): Uint8Array {
  let text = '%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n';
  text += `2 0 obj << /Type /Pages /Count ${pages} >> endobj\n`;
  for (let i = 0; i < pages; i++) text += `${3 + i} 0 obj << /Type /Page /Parent 2 0 R >> endobj\n`;
  return new TextEncoder().encode(`${text}%%EOF\n`);
}

/** A file as playwright hands it to a file chooser. */
const payload = (name: string, mimeType: string, bytes: Uint8Array) => ({ name, mimeType, buffer: Buffer.from(bytes) });

async function visit(): Promise<void> {
  const path = `/${uniqueTag('p')}.html`;
  site.set(path, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title></head><body><h1>A static page</h1><script src="${dev.url}/embed.js" async></script></body></html>`);
  await page.goto(`${site.url}${path}`);
  await page.getByRole('button', { name: 'Open chat' }).click();
  // The attach button appears once the Worker said which files it takes.
  await attachButton().waitFor();
}

const widget = () => page.locator('gemini-chat');
const attachButton = () => page.getByRole('button', { name: 'Attach files' });
const textbox = () => page.getByRole('textbox', { name: 'Message' });
const tray = () => page.getByRole('list', { name: 'Files to send' });
const status = () => widget().locator('p[role="status"]');
const userMessages = () => widget().locator('.msg.user');
const lastAnswer = () => widget().locator('.msg.model').last();
const untilDone = () => widget().locator('[role="log"][aria-busy="false"]').waitFor();
const uploads = () => calls.filter((call) => /^POST \/api\/chats\/\w+\/files$/.test(call));

/** Attaches files through the button and the file chooser it opens, as a reader does. */
async function attach(...files: ReturnType<typeof payload>[]): Promise<void> {
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), attachButton().click()]);
  expect(chooser.isMultiple()).toBe(true);
  await chooser.setFiles(files);
}

async function ask(text: string): Promise<void> {
  await textbox().fill(text);
  await textbox().press('Enter');
}

/** Whether an image in the page has loaded and decoded to the given width. */
const decodedWidth = (image: ReturnType<Page['locator']>) => image.evaluate((img: HTMLImageElement) => img.decode().then(() => img.naturalWidth, () => 0));

/** Runs in the page: a DataTransfer holding one File made of `bytes`. */
const DATA_TRANSFER = `(name, type, bytes) => { const data = new DataTransfer(); data.items.add(new File([new Uint8Array(bytes)], name, { type })); return data; }`;

describe('the widget', () => {
  it('attaches an image with the button: a thumbnail, then the image reaches Gemini intact and shows in the transcript, also after a reload', async () => {
    await visit();
    const image = realPng(40);
    await attach(payload('square.png', 'image/png', image));
    const thumbnail = tray().getByRole('img', { name: 'square.png' });
    expect(await thumbnail.getAttribute('src')).toMatch(/^blob:/);
    expect(await decodedWidth(thumbnail)).toBe(40);
    expect(await tray().getByRole('button', { name: 'Remove square.png' }).isVisible()).toBe(true);

    const tag = uniqueTag();
    await ask(`What colour is it? [fake:reply chunks=2 tag=${tag}]`);
    await untilDone();
    expect(await tray().isVisible()).toBe(false);
    const [record] = await fileRecords(tag);
    expect(record.files).toHaveLength(1);
    expect(record.files[0]).toMatchObject({ mimeType: 'image/png', bytes: image.byteLength, sha256: sha256(image) });
    expect(await lastAnswer().textContent()).toContain(`[fake] received image/png, ${image.byteLength} bytes, sha256 ${sha256(image).slice(0, 16)}`);
    const sent = userMessages().last().getByRole('img', { name: 'square.png' });
    expect(await decodedWidth(sent)).toBe(40);
    expect(await userMessages().last().textContent()).toContain('What colour is it?');
    // One upload, then the message.
    expect(calls.filter((call) => call.startsWith('POST'))).toEqual([
      'POST /api/chats',
      expect.stringMatching(/^POST \/api\/chats\/[0-9a-f]{64}\/files$/),
      expect.stringMatching(/^POST \/api\/chats\/[0-9a-f]{64}\/messages$/),
    ]);

    // After a reload the image comes from the Worker.
    await page.reload();
    const restored = userMessages().first().getByRole('img', { name: 'square.png' });
    await restored.waitFor();
    expect(await restored.getAttribute('src')).toMatch(new RegExp(`^${dev.url}/api/chats/[0-9a-f]{64}/files/`));
    expect(await decodedWidth(restored)).toBe(40);
    expect(errors).toEqual([]);
  });

  it('takes a pasted image (a ClipboardEvent holding a File)', async () => {
    await visit();
    const image = realPng(24, [200, 30, 90]);
    await textbox().evaluate(
      (input, [script, bytes]) => {
        const data = (0, eval)(script as string)('pasted.png', 'image/png', bytes) as DataTransfer;
        input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, composed: true, cancelable: true }));
      },
      [DATA_TRANSFER, [...image]] as const,
    );
    await tray().getByRole('img', { name: 'pasted.png' }).waitFor();
    // The paste added a file, not text.
    expect(await textbox().inputValue()).toBe('');
    const tag = uniqueTag();
    await ask(`And this? [fake:reply chunks=2 tag=${tag}]`);
    await untilDone();
    const [record] = await fileRecords(tag);
    expect(record.files.map((f) => f.sha256)).toEqual([sha256(image)]);
    expect(await decodedWidth(userMessages().last().getByRole('img', { name: 'pasted.png' }))).toBe(24);
    expect(errors).toEqual([]);
  });

  it('takes a file dropped on it (a drop event with a DataTransfer), and shows a PDF as a chip that links to it after a reload', async () => {
    await visit();
    const document = pdf(3);
    const dropped = await widget().evaluate(
      (host, [script, bytes]) => {
        const data = (0, eval)(script as string)('notes.pdf', 'application/pdf', bytes) as DataTransfer;
        const panel = host.shadowRoot!.querySelector('.panel')!;
        const over = new DragEvent('dragover', { dataTransfer: data, bubbles: true, composed: true, cancelable: true });
        panel.dispatchEvent(over);
        const drop = new DragEvent('drop', { dataTransfer: data, bubbles: true, composed: true, cancelable: true });
        panel.dispatchEvent(drop);
        // Both handled: the browser neither refuses the drop nor opens the file.
        return [over.defaultPrevented, drop.defaultPrevented];
      },
      [DATA_TRANSFER, [...document]] as const,
    );
    expect(dropped).toEqual([true, true]);
    const chip = tray().getByText('notes.pdf');
    await chip.waitFor();
    expect(await tray().locator('li').textContent()).toMatch(/notes\.pdf\s*\d+(\.\d)?\s*byte/);
    const tag = uniqueTag();
    await ask(`Summarise [fake:reply chunks=2 tag=${tag}]`);
    await untilDone();
    const [record] = await fileRecords(tag);
    expect(record.files).toMatchObject([{ mimeType: 'application/pdf', sha256: sha256(document) }]);

    await page.reload();
    const link = userMessages().first().getByRole('link', { name: /notes\.pdf/ });
    await link.waitFor();
    const href = (await link.getAttribute('href'))!;
    expect(href).toMatch(new RegExp(`^${dev.url}/api/chats/[0-9a-f]{64}/files/`));
    const served = new Uint8Array(await (await fetch(href)).arrayBuffer());
    expect(sha256(served)).toBe(sha256(document));
    expect(errors).toEqual([]);
  });

  it('refuses a too-large file, a type it does not take and one file too many, saying why, with no upload', async () => {
    await visit();
    await attach(payload('huge.png', 'image/png', bytesWith(realPng(8), MAX_FILE_BYTES + 1)), payload('anim.gif', 'image/gif', bytesWith('GIF89a', 2048)));
    await expect.poll(() => status().textContent()).toBe('huge.png is too large (at most 1 MB). anim.gif cannot be sent: this type of file is not accepted.');
    expect(await tray().isVisible()).toBe(false);

    await attach(...[1, 2, 3, 4].map((n) => payload(`p${n}.png`, 'image/png', realPng(8 + n))));
    await expect.poll(() => status().textContent()).toBe('At most 3 files per message.');
    expect(await tray().getByRole('img').count()).toBe(3);
    // Removing one makes room; its button names it, and focus returns to the message box.
    await tray().getByRole('button', { name: 'Remove p2.png' }).click();
    expect(await tray().getByRole('img').count()).toBe(2);
    expect(await page.evaluate(() => document.querySelector('gemini-chat')!.shadowRoot!.activeElement?.getAttribute('aria-label'))).toBe('Message');
    expect(uploads()).toEqual([]);

    const tag = uniqueTag();
    await ask(`Two of them [fake:reply chunks=2 tag=${tag}]`);
    await untilDone();
    const [record] = await fileRecords(tag);
    expect(record.files.map((f) => f.sha256)).toEqual([sha256(realPng(9)), sha256(realPng(11))]);
    expect(uploads()).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it('sends files with no text, and announces the upload as it goes', async () => {
    await visit();
    await widget().evaluate((host) => {
      const seen: string[] = [];
      (window as unknown as { said: string[] }).said = seen;
      const line = host.shadowRoot!.querySelector('[role="status"]')!;
      new MutationObserver(() => seen.push(line.textContent ?? '')).observe(line, { childList: true, characterData: true, subtree: true });
    });
    // Upload throttled to ~256 KB/s: a 900 KB file takes a few seconds.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 256 * 1024 });
    const image = bytesWith(realPng(8), 900 * 1024, 7);
    await attach(payload('big.png', 'image/png', image));
    await page.getByRole('button', { name: 'Send' }).click();
    await untilDone();
    const said = await page.evaluate(() => (window as unknown as { said: string[] }).said);
    expect(said.filter((s) => s.startsWith('Uploading…')).length).toBeGreaterThanOrEqual(2);
    expect(said.at(-1)).toBe('');
    expect(await userMessages().last().getByRole('img', { name: 'big.png' }).count()).toBe(1);
    expect(calls.at(-1)).toMatch(/\/messages$/);
    expect(errors).toEqual([]);
  });

  it('looks right with an image sent and a PDF waiting in the tray (screenshot)', async () => {
    await visit();
    await attach(payload('square.png', 'image/png', realPng(160, [234, 88, 12])));
    await ask('What colour is this square? [fake:reply chunks=2]');
    await untilDone();
    await attach(payload('report.pdf', 'application/pdf', pdf(2)));
    // `SAVE_SCREENSHOTS=1 npm run test:browser` refreshes the picture in docs/ (docs/widget.md).
    const dir = process.env.SAVE_SCREENSHOTS ? `${root}docs` : `${root}.vitest/screenshots`;
    mkdirSync(dir, { recursive: true });
    const panel = (await page.getByRole('dialog').boundingBox())!;
    await page.screenshot({ path: `${dir}/widget-files.png`, clip: { x: panel.x - 20, y: panel.y - 20, width: panel.width + 40, height: 800 - panel.y + 20 } });
  });

  it('shows an upload the Worker refuses (bytes that are not what they claim) as an error with a retry', async () => {
    await visit();
    // Named and typed a PNG, but its bytes are a Windows executable: only the Worker can tell.
    await attach(payload('fake.png', 'image/png', exe(4096)));
    await ask('Look [fake:reply chunks=2]');
    const alert = lastAnswer().getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/PNG, JPEG/);
    expect(uploads()).toHaveLength(1);
    // Retry tries the upload again (nothing was stored): refused again, still no message.
    await alert.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => uploads().length).toBe(2);
    await lastAnswer().getByRole('alert').waitFor();
    expect(calls.some((call) => call.endsWith('/messages'))).toBe(false);
    expect(errors.filter((line) => !/status of 415/.test(line))).toEqual([]);
  });
});

type Client = typeof import('../../src/client/index');

describe('the browser client', () => {
  async function loadClient(): Promise<void> {
    await page.goto(`${site.url}/`);
    await page.addScriptTag({ type: 'module', content: `import * as client from '${dev.url}/client.js'; window.geminiEdge = client;` });
    await page.waitForFunction(() => 'geminiEdge' in window);
  }

  it('send({ text, files }) uploads each file with progress, then sends the message; the stored message lists the files', async () => {
    await loadClient();
    const image = realPng(32);
    const notes = 'Plain notes.\n'.repeat(50);
    const tag = uniqueTag();
    const result = await page.evaluate(
      async ({ endpoint, image, notes, tag }) => {
        const { openChat } = (window as unknown as { geminiEdge: Client }).geminiEdge;
        const chat = await openChat({ endpoint });
        const progress: UploadProgress[] = [];
        const events: StreamEvent[] = [];
        const files = [new File([new Uint8Array(image)], 'dot.png', { type: 'image/png' }), new Blob([notes], { type: 'text/plain' })];
        for await (const event of chat.send({ text: `Read these [fake:reply chunks=2 tag=${tag}]`, files }, { onProgress: (p) => progress.push(p) })) events.push(event);
        const [, stored] = [await chat.refresh(), chat.messages[0].files ?? []];
        const fetched = await Promise.all(stored.map(async (f: FileInfo) => [...new Uint8Array(await (await fetch(chat.fileUrl(f))).arrayBuffer())].length));
        return { progress, events, stored, fetched };
      },
      { endpoint: dev.url, image: [...image], notes, tag },
    );
    const [record] = await fileRecords(tag);
    expect(record.files.map((f) => [f.mimeType, f.sha256])).toEqual([
      ['image/png', sha256(image)],
      ['text/plain', sha256(new TextEncoder().encode(notes))],
    ]);
    expect(result.events.at(-1)).toMatchObject({ type: 'done', finishReason: 'STOP' });
    // Per file and overall, each file ending at its size, the last report at the whole.
    const total = image.byteLength + notes.length;
    expect(result.progress.every((p) => p.overallTotal === total && p.loaded <= p.total)).toBe(true);
    expect(result.progress.find((p) => p.index === 0 && p.loaded === image.byteLength)).toBeDefined();
    expect(result.progress.at(-1)).toMatchObject({ index: 1, loaded: notes.length, total: notes.length, overallLoaded: total });
    const overall = result.progress.map((p) => p.overallLoaded);
    expect(overall).toEqual([...overall].sort((a, b) => a - b));
    expect(result.stored).toMatchObject([
      { name: 'dot.png', type: 'image/png', size: image.byteLength },
      { name: 'file', type: 'text/plain', size: notes.length },
    ]);
    expect(result.fetched).toEqual([image.byteLength, notes.length]);
    expect(errors).toEqual([]);
  });

  it('sending the same File again after the message was refused does not upload it twice', async () => {
    await loadClient();
    const tag = uniqueTag();
    const result = await page.evaluate(
      async ({ endpoint, tag }) => {
        const { openChat } = (window as unknown as { geminiEdge: Client }).geminiEdge;
        const chat = await openChat({ endpoint });
        const file = new File(['Some notes.'], 'notes.txt', { type: 'text/plain' });
        const first: StreamEvent[] = [];
        // Longer than MAX_MESSAGE_CHARS: the message is refused after the upload.
        for await (const event of chat.send({ text: 'x'.repeat(40_000), files: [file] })) first.push(event);
        const second: StreamEvent[] = [];
        for await (const event of chat.send({ text: `Now [fake:reply chunks=1 tag=${tag}]`, files: [file] })) second.push(event);
        return { first: first.map((e) => e.type === 'error' && e.status), second: second.at(-1)?.type };
      },
      { endpoint: dev.url, tag },
    );
    expect(result).toEqual({ first: [413], second: 'done' });
    expect(uploads()).toHaveLength(1);
    expect((await fileRecords(tag))[0].files).toHaveLength(1);
    expect(errors.filter((line) => !/status of 413/.test(line))).toEqual([]);
  });

  it("a file the Worker refuses ends the stream with its typed error, and upload() rejects with a GeminiEdgeError; with fileLimits, before any upload", async () => {
    await loadClient();
    const tag = uniqueTag();
    const result = await page.evaluate(
      async ({ endpoint, exe, tag }) => {
        const { openChat, GeminiEdgeError } = (window as unknown as { geminiEdge: Client }).geminiEdge;
        const chat = await openChat({ endpoint });
        const program = new File([new Uint8Array(exe)], 'setup.exe', { type: 'application/x-msdownload' });
        const events: StreamEvent[] = [];
        for await (const event of chat.send({ text: `Run it [fake:reply tag=${tag}]`, files: [program] })) events.push(event);
        const thrown = await chat.upload(program).catch((error: InstanceType<typeof GeminiEdgeError>) => ({ isClass: error instanceof GeminiEdgeError, code: error.code, status: error.status }));
        // Knowing the limits, the client refuses before uploading.
        const limited = await openChat({ endpoint, id: chat.id, fileLimits: { maxBytes: 5000, maxPerMessage: 1, types: ['image/png'] } });
        const big = new File([new Uint8Array(6000)], 'big.png', { type: 'image/png' });
        const refusals: StreamEvent[] = [];
        for await (const event of limited.send({ text: 'x', files: [big] })) refusals.push(event);
        for await (const event of limited.send({ text: 'x', files: [program] })) refusals.push(event);
        for await (const event of limited.send({ text: 'x', files: [new Blob(['a'], { type: 'text/plain' }), new Blob(['b'], { type: 'text/plain' })] })) refusals.push(event);
        const early = await limited.upload(big).catch((error: InstanceType<typeof GeminiEdgeError>) => ({ code: error.code, status: error.status }));
        // Limits known only after the chat opened apply from then on.
        chat.fileLimits = { maxBytes: 5000, maxPerMessage: 1, types: ['image/png'] };
        const later = await chat.upload(big).catch((error: InstanceType<typeof GeminiEdgeError>) => ({ code: error.code, status: error.status }));
        return { events, thrown, refusals, early, later };
      },
      { endpoint: dev.url, exe: [...exe(4096)], tag },
    );
    expect(result.events).toEqual([{ type: 'error', code: 'unsupported_media_type', message: expect.stringContaining('PNG'), status: 415 }]);
    expect(result.thrown).toEqual({ isClass: true, code: 'unsupported_media_type', status: 415 });
    expect(result.refusals.map((e) => e.type === 'error' && [e.code, e.status])).toEqual([
      ['too_large', undefined],
      ['unsupported_media_type', undefined],
      ['too_many_files', undefined],
    ]);
    expect(result.early).toEqual({ code: 'too_large', status: undefined });
    expect(result.later).toEqual({ code: 'too_large', status: undefined });
    // Two uploads reached the Worker (both refused); no message was sent.
    expect(uploads()).toHaveLength(2);
    expect(calls.some((call) => call.endsWith('/messages'))).toBe(false);
    expect(await fileRecords(tag)).toEqual([]);
    expect(errors.filter((line) => !/status of 415/.test(line))).toEqual([]);
  });
});
