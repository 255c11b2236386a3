import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { EMBED_BUDGET_BYTES } from '../../scripts/build.mjs';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MARKDOWN } from '../../fake-gemini/scenarios.mjs';
import { startCuttingProxy, type CuttingProxy } from '../e2e/cutting-proxy';
import { startDevServer, type DevServer } from '../e2e/dev-server';
import { fakeRecords, uniqueTag, waitForRecord, type FakeRecord } from '../e2e/fake-records';
import { consoleErrors, cspViolations, isNetworkLog, launchChromium, recordCspViolations, startStaticSite, type StaticSite } from './browser';

/**
 * The one-line widget, as a visitor meets it: static pages on other origins
 * embed `<script src="<worker>/embed.js" async>`, in Chromium, against the
 * Worker under `wrangler dev` and the fake Gemini.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
let dev: DevServer;
let site: StaticSite; // in ALLOWED_ORIGINS
let otherSite: StaticSite; // not
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let proxy: CuttingProxy | undefined;

beforeAll(async () => {
  [site, otherSite] = await Promise.all([startStaticSite(), startStaticSite()]);
  [dev, browser] = await Promise.all([startDevServer([], { ALLOWED_ORIGINS: site.url }), launchChromium()]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await Promise.all([site?.close(), otherSite?.close()]);
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  page = await context.newPage();
  errors = consoleErrors(page);
  await recordCspViolations(page);
});

afterEach(async () => {
  await context.close();
  await proxy?.close();
  proxy = undefined;
});

/** A host page that embeds the widget with one script tag. */
function hostPage(options: { endpoint?: string; attributes?: string; body?: string; head?: string; lang?: string } = {}): string {
  const { endpoint = dev.url, attributes = '', body = '', head = '', lang = 'en' } = options;
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${head}<title>Host</title></head>
<body><h1>A static page</h1><p>Somebody's site.</p>${body}<script src="${endpoint}/embed.js" async ${attributes}></script></body></html>`;
}

async function visit(html: string, on: StaticSite = site): Promise<void> {
  const path = `/${uniqueTag('p')}.html`;
  on.set(path, html);
  await page.goto(`${on.url}${path}`);
  await page.waitForFunction(() => customElements.get('gemini-chat') !== undefined);
}

const launcher = () => page.getByRole('button', { name: /^(Open|Close) chat$/ });
const textbox = () => page.getByRole('textbox', { name: 'Message' });
const log = () => page.getByRole('log');
const answers = () => page.locator('gemini-chat').locator('.msg.model');
const lastAnswer = () => answers().last();
/** An answer's own Markdown, not its thoughts' (the widget asks for them, so most answers have some). */
const answerBody = (answer: Locator = lastAnswer()) => answer.locator(':scope > .md');
/** An answer's thought-summary disclosure. */
const thoughts = (answer: Locator = lastAnswer()) => answer.locator('details');

async function ask(message: string): Promise<void> {
  await textbox().fill(message);
  await textbox().press('Enter');
}

/** The text of the last answer's Markdown, whitespace folded. */
async function answerText(answer: Locator = lastAnswer()): Promise<string> {
  return ((await answerBody(answer).textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

const folded = (text: string) => text.replace(/\s+/g, ' ').trim();

/** Waits until the answer in progress has ended (the transcript is no longer aria-busy). */
async function untilDone(): Promise<void> {
  await page.locator('gemini-chat').locator('[role="log"][aria-busy="false"]').waitFor();
}

function noCspViolations(): Promise<string[]> {
  return cspViolations(page);
}

describe('the demo page', () => {
  it('is served at / with security headers', async () => {
    const response = await fetch(`${dev.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
  });

  it('shows the widget working inline, and the snippet for this very Worker', async () => {
    await page.goto(`${dev.url}/`);
    expect(await page.locator('#snippet').textContent()).toBe(`<script src="${dev.url}/embed.js" async></script>`);
    await page.getByRole('region', { name: 'Try it' }).waitFor();
    await page.getByRole('button', { name: 'What is a Cloudflare Worker?' }).waitFor();
    const tag = uniqueTag();
    await ask(`Hello [fake:markdown chunks=8 tag=${tag}]`);
    await untilDone();
    expect(await lastAnswer().locator('pre code').count()).toBe(1);
    expect(await fakeRecords(dev.fakeUrl!, tag)).toHaveLength(1);
    expect(await noCspViolations()).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe('embed.js', () => {
  it('is one classic script within its 18 KB gzip budget, served with CORS and revalidation', async () => {
    const response = await fetch(`${dev.url}/embed.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const code = Buffer.from(await response.arrayBuffer());
    expect(gzipSync(code, { level: 9 }).byteLength).toBeLessThanOrEqual(EMBED_BUDGET_BYTES);
  });

  it('adds a launcher that opens a panel with the greeting and starters; the page gains no global but the element', async () => {
    site.set('/bare.html', hostPage().replace(/<script src=[^>]*><\/script>/, ''));
    await page.goto(`${site.url}/bare.html`);
    const before = await page.evaluate(() => Object.keys(window));
    await visit(hostPage({ attributes: 'data-title="Help desk" data-greeting="Hi! How can I help?" data-starters="What is SSE?|Tell me a joke"' }));
    await expect.poll(() => launcher().getAttribute('aria-expanded')).toBe('false');
    expect(await launcher().getAttribute('aria-label')).toBe('Open chat');
    await launcher().click();
    expect(await launcher().getAttribute('aria-label')).toBe('Close chat');
    await expect.poll(() => page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.getAttribute('aria-label'))).toBe('Message');
    const panel = await page.getByRole('dialog', { name: 'Help desk' }).boundingBox();
    expect(panel!.height).toBeGreaterThan(400);
    expect(panel!.width).toBeGreaterThan(300);
    // Its own font, not the page's default serif.
    expect(await textbox().evaluate((el) => getComputedStyle(el).fontFamily)).toContain('system-ui');
    expect(await log().getAttribute('aria-live')).toBe('polite');
    expect(await page.getByText('Hi! How can I help?').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'What is SSE?' }).isVisible()).toBe(true);
    expect(await page.evaluate(() => Object.keys(window))).toEqual(before);
    expect(await page.evaluate(() => document.querySelectorAll('gemini-chat').length)).toBe(1);
    expect(errors).toEqual([]);
  });

  it('streams an answer into the transcript piece by piece, with a typing indicator first', async () => {
    await visit(hostPage());
    await launcher().click();
    const tag = uniqueTag();
    await ask(`Hello [fake:reply chunks=30 delay=40 first=300 tag=${tag}]`);
    await page.getByRole('status', { name: 'Writing…' }).waitFor();
    expect(await page.getByRole('button', { name: 'Stop' }).isVisible()).toBe(true);
    await expect.poll(() => answerText()).not.toBe('');
    const partial = await answerText();
    await untilDone();
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(partial.length).toBeLessThan(folded(record.sentText).length);
    expect(folded(record.sentText).startsWith(partial)).toBe(true);
    expect(await answerText()).toBe(folded(record.sentText));
    expect(await page.locator('gemini-chat').locator('.msg.user').last().textContent()).toContain('Hello');
    expect(errors).toEqual([]);
  });

  it('renders Markdown, and model HTML and javascript: links stay text and never run', async () => {
    await visit(hostPage());
    await launcher().click();
    await ask('Explain [fake:markdown chunks=25 delay=20]');
    await untilDone();
    const answer = answerBody();
    expect(await answer.locator('h2, h3, h4').first().textContent()).toBe('Streaming, briefly');
    expect(await answer.locator('ul > li').count()).toBe(3);
    expect(await answer.locator('ol > li').count()).toBe(2);
    expect(await answer.locator('strong').first().textContent()).toBe('text');
    expect(await answer.locator('pre code').textContent()).toContain("new EventSource('/stream')");
    expect(await answer.getByRole('button', { name: 'Copy' }).count()).toBe(1);
    const link = answer.getByRole('link', { name: 'MDN' });
    expect(await link.getAttribute('href')).toBe('https://developer.mozilla.org/en-US/docs/Web/API/Server-sent_events');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await answer.getByRole('link').count()).toBe(1);
    expect(await answer.locator('img').count()).toBe(0);
    expect(await answerText()).toContain('<img src=x onerror="window.__pwned=1">');
    expect(await answerText()).toContain('[a trap](javascript:window.__pwned=2)');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(MARKDOWN).toContain('onerror');
    expect(errors).toEqual([]);
  });

  it('lists the sources of a grounded answer under it as links, and again after a reload', async () => {
    await visit(hostPage());
    await launcher().click();
    await ask('What does it cost? [fake:grounding chunks=3]');
    await untilDone();
    const check = async () => {
      const sources = lastAnswer().getByRole('list', { name: 'Sources' });
      const links = sources.getByRole('link');
      expect(await links.allTextContents()).toEqual(['example.com', 'example.org']);
      expect(await links.first().getAttribute('href')).toBe('https://example.com/fake-source-1');
      expect(await links.first().getAttribute('rel')).toBe('noopener noreferrer');
    };
    await check();
    // The panel was open, so it opens again with the stored answer and its sources.
    await page.reload();
    await expect.poll(() => answers().count()).toBe(1);
    await check();
    expect(errors).toEqual([]);
  });

  it('Stop cancels the answer: the partial text stays, marked stopped, and Gemini is aborted', async () => {
    await visit(hostPage());
    await launcher().click();
    const tag = uniqueTag();
    await ask(`Go on [fake:reply chunks=80 delay=40 tag=${tag}]`);
    await expect.poll(() => answerText()).not.toBe('');
    await page.getByRole('button', { name: 'Stop' }).click();
    await untilDone();
    const record = await waitForRecord(dev.fakeUrl!, tag, (r) => r.status !== 'streaming');
    expect(record.aborted).toBe(true);
    expect(record.chunksSent).toBeLessThan(80);
    const text = await answerText();
    expect(text.length).toBeGreaterThan(0);
    expect(folded(record.sentText).startsWith(text)).toBe(true);
    expect(await lastAnswer().locator('.note').textContent()).toBe('Stopped.');
    expect(errors).toEqual([]);
  });

  it('restores the conversation after a reload', async () => {
    await visit(hostPage());
    await launcher().click();
    const tag = uniqueTag();
    await ask(`First question [fake:reply chunks=3 tag=${tag}]`);
    await untilDone();
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    await page.reload();
    // The panel was open: it opens again, and the stored messages come back.
    await expect.poll(() => answers().count()).toBe(1);
    expect(await answerText()).toBe(folded(record.sentText));
    expect(await page.locator('gemini-chat').locator('.msg.user').textContent()).toContain('First question');
    expect(errors).toEqual([]);
  });

  it('re-attaches after a reload in the middle of an answer and completes it, with one upstream call', async () => {
    await visit(hostPage({ body: '<gemini-chat data-title="Inline chat"></gemini-chat>' }));
    const tag = uniqueTag();
    await ask(`Long one [fake:reply chunks=50 delay=40 tag=${tag}]`);
    await expect.poll(() => answerText()).not.toBe('');
    await page.reload();
    await page.getByRole('region', { name: 'Inline chat' }).waitFor();
    await expect.poll(() => answers().count()).toBe(1);
    await page.getByRole('button', { name: 'Stop' }).waitFor();
    await untilDone();
    const records = await fakeRecords(dev.fakeUrl!, tag);
    expect(records).toHaveLength(1);
    expect(records[0].aborted).toBe(false);
    expect(await answerText()).toBe(folded(records[0].sentText));
    expect(errors).toEqual([]);
  });

  it('rides through connections cut mid-answer: no text lost or repeated', async () => {
    proxy = await startCuttingProxy(dev.url);
    await visit(hostPage({ endpoint: proxy.url }));
    await launcher().click();
    const tag = uniqueTag();
    await ask(`Long one [fake:reply chunks=40 delay=40 tag=${tag}]`);
    await expect.poll(() => answerText(), { timeout: 10_000 }).not.toBe('');
    proxy.cut();
    await expect.poll(async () => (await answerText()).length, { timeout: 10_000 }).toBeGreaterThan(600);
    proxy.cut();
    await untilDone();
    const records = await fakeRecords(dev.fakeUrl!, tag);
    expect(records).toHaveLength(1);
    expect(await answerText()).toBe(folded(records[0].sentText));
    expect(proxy.connections).toBeGreaterThanOrEqual(3);
    expect(errors.filter((line) => !isNetworkLog(line))).toEqual([]);
  });

  it.each([
    ['a blocked prompt', 'blocked', 'This message was blocked by safety filters. Try rephrasing it.'],
    ['an upstream 429', 'http status=429 retry=5s', 'Too many messages right now. Try again in a moment.'],
  ])('shows %s as an error with a retry, never as an empty reply', async (_, directive, message) => {
    await visit(hostPage());
    await launcher().click();
    const tag = uniqueTag();
    await ask(`Hi [fake:${directive} tag=${tag}]`);
    const alert = lastAnswer().getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain(message);
    expect(await answerBody().count()).toBe(0);
    // Retry sends the message again: a second upstream call, and the error again.
    await alert.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(async () => (await fakeRecords(dev.fakeUrl!, tag)).length).toBe(2);
    await lastAnswer().getByRole('alert').waitFor();
    expect(await answers().count()).toBe(1);
    expect(await page.locator('gemini-chat').locator('.msg.user').count()).toBe(1);
    // Chromium logs the refused response itself; the widget logs nothing.
    expect(errors.filter((line) => !/status of (422|429)/.test(line))).toEqual([]);
  });

  it.each([
    ['MAX_TOKENS', '[fake:reply chunks=4 finish=MAX_TOKENS]', 'The answer was cut off at its length limit.'],
    ['SAFETY', '[fake:safety]', 'The answer was stopped by safety filters.'],
  ])('notes a %s stop under the partial answer', async (_, directive, note) => {
    await visit(hostPage());
    await launcher().click();
    await ask(`Hi ${directive}`);
    await untilDone();
    expect((await answerText()).length).toBeGreaterThan(0);
    expect(await lastAnswer().locator('.note').textContent()).toBe(note);
  });

  it('does not animate the typing indicator under prefers-reduced-motion', async () => {
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await visit(hostPage());
    await launcher().click();
    await ask('Hi [fake:reply chunks=2 first=1500]');
    const dot = page.getByRole('status', { name: 'Writing…' }).locator('i').first();
    expect(await dot.evaluate((el) => getComputedStyle(el).animationName)).toBe('none');
    await untilDone();
  });

  it('keeps the transcript at the newest text, unless the reader scrolled up', async () => {
    await visit(hostPage());
    await launcher().click();
    await ask('Long [fake:reply chunks=60 delay=30]');
    const transcript = page.locator('gemini-chat').locator('[role="log"]');
    const gap = () => transcript.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
    await expect.poll(async () => (await answerText()).length).toBeGreaterThan(1500);
    expect(await gap()).toBeLessThan(2);
    await transcript.evaluate((el) => el.scrollTo({ top: 0 }));
    await untilDone();
    expect(await transcript.evaluate((el) => el.scrollTop)).toBe(0);
    expect(await gap()).toBeGreaterThan(100);
  });

  it('works with the keyboard alone: Tab to the launcher, Enter, type, Enter, Escape', async () => {
    await visit(hostPage());
    await page.keyboard.press('Tab');
    await expect.poll(() => page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.getAttribute('aria-label'))).toBe('Open chat');
    // A visible focus ring.
    expect(await launcher().evaluate((el) => getComputedStyle(el).outlineStyle)).toBe('solid');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.getAttribute('aria-label'))).toBe('Message');
    const tag = uniqueTag();
    await page.keyboard.type(`Line one`);
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type(`line two [fake:reply chunks=3 tag=${tag}]`);
    expect(await textbox().inputValue()).toContain('Line one\nline two');
    await page.keyboard.press('Enter');
    await untilDone();
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(record.body.contents.at(-1)!.parts[0].text).toBe(`Line one\nline two [fake:reply chunks=3 tag=${tag}]`);
    await page.keyboard.press('Escape');
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.getAttribute('aria-label'))).toBe('Open chat');
    expect(errors).toEqual([]);
  });

  it('applies data-position, data-accent, data-system and data-model', async () => {
    await visit(hostPage({ attributes: 'data-position="bottom-left" data-accent="rgb(200, 30, 90)" data-system="Answer in French." data-model="gemini-3.1-pro-preview"' }));
    const box = await launcher().boundingBox();
    expect(box!.x).toBeLessThan(40);
    expect(await launcher().evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(200, 30, 90)');
    await launcher().click();
    const tag = uniqueTag();
    await ask(`Bonjour [fake:reply chunks=2 tag=${tag}]`);
    await untilDone();
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(record.body.systemInstruction?.parts[0].text).toBe('Answer in French.');
    expect(record.model).toBe('gemini-3.1-pro-preview');
  });

  it("neither takes the page's styles nor leaks its own", async () => {
    await visit(hostPage({ body: '<button id="host-button">Host button</button>' }));
    await launcher().click();
    const hostButton = page.locator('#host-button');
    expect(await hostButton.evaluate((el) => getComputedStyle(el).cursor)).toBe('default');
    expect(await page.locator('h1').evaluate((el) => getComputedStyle(el).fontFamily)).not.toContain('system-ui');
  });

  it("keeps working under the host page's hostile CSS", async () => {
    await visit(hostPage({ head: '<style>* { all: unset !important; } div, section, button, textarea { display: none !important; }</style>' }));
    const box = await launcher().boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x + box!.width).toBeGreaterThan(1100 - 40);
    expect(box!.y + box!.height).toBeGreaterThan(800 - 40);
    await launcher().click();
    const tag = uniqueTag();
    await ask(`Hi [fake:reply chunks=3 tag=${tag}]`);
    await untilDone();
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(await answerText()).toBe(folded(record.sentText));
    expect(await page.getByRole('dialog').isVisible()).toBe(true);
    expect(errors).toEqual([]);
  });

  it('runs on a page with a strict Content-Security-Policy, with no violation', async () => {
    const csp = `default-src 'none'; script-src ${dev.url}; connect-src ${dev.url}; style-src ${dev.url}; img-src 'none'`;
    await visit(hostPage({ head: `<meta http-equiv="Content-Security-Policy" content="${csp}">` }));
    await launcher().click();
    await ask('Explain [fake:markdown chunks=10]');
    await untilDone();
    expect(await lastAnswer().locator('pre code').count()).toBe(1);
    // Styled (the stylesheet applied): the launcher is round and the panel has its background.
    expect(await launcher().evaluate((el) => getComputedStyle(el).borderRadius)).toBe('50%');
    expect(await noCspViolations()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('tells a page on an origin that is not allowed that it is not available before anyone types, at no cost', async () => {
    const calls: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(`${dev.url}/api/`)) calls.push(`${request.method()} ${request.url().slice(dev.url.length)}`);
    });
    await visit(hostPage(), otherSite);
    await launcher().click();
    const notice = page.locator('gemini-chat').locator('.notice');
    await notice.waitFor();
    expect(await notice.textContent()).toBe('This chat is not available on this site.');
    expect(await textbox().isDisabled()).toBe(true);
    // Only the question which assistant serves the page (GET /api/assistant): no chat, no message.
    expect(calls).toEqual(['GET /api/assistant']);
    expect(errors.filter((line) => !/status of 403/.test(line))).toEqual([]);
  });

  it('New chat starts over with a new stored chat', async () => {
    await visit(hostPage({ attributes: 'data-greeting="Welcome back"' }));
    await launcher().click();
    await ask('Hi [fake:reply chunks=2]');
    await untilDone();
    const key = `gemini-chat:${dev.url}`;
    const first = await page.evaluate((k) => localStorage.getItem(k), key);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    await page.getByRole('button', { name: 'New chat' }).click();
    expect(await answers().count()).toBe(0);
    expect(await page.getByText('Welcome back').isVisible()).toBe(true);
    await ask('Hi again [fake:reply chunks=2]');
    await untilDone();
    const second = await page.evaluate((k) => localStorage.getItem(k), key);
    expect(second).toMatch(/^[0-9a-f]{64}$/);
    expect(second).not.toBe(first);
    expect((await fetch(`${dev.url}/api/chats/${first}`)).status).toBe(404);
  });

  it('starts a conversation from a starter prompt', async () => {
    await visit(hostPage({ attributes: 'data-starters="Tell me [fake:reply chunks=2]|Other"' }));
    await launcher().click();
    await page.getByRole('button', { name: 'Tell me [fake:reply chunks=2]' }).click();
    await untilDone();
    expect(await answers().count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Other' }).count()).toBe(0);
  });

  it('follows a right-to-left page, and data-lang and data-strings', async () => {
    await visit(hostPage({ lang: 'ar', body: '<gemini-chat></gemini-chat>' }).replace('<html lang="ar">', '<html lang="ar" dir="rtl">'));
    expect(await page.locator('gemini-chat').locator('.panel').getAttribute('dir')).toBe('rtl');
    await visit(hostPage({ attributes: `data-lang="de" data-strings='{"send":"Senden","message":"Nachricht"}'`, body: '<gemini-chat></gemini-chat>' }));
    expect(await page.getByRole('button', { name: 'Senden' }).isVisible()).toBe(true);
    expect(await page.getByRole('textbox', { name: 'Nachricht' }).isVisible()).toBe(true);
    expect(await page.locator('gemini-chat').locator('.panel').getAttribute('dir')).toBe('ltr');
  });

  it('fills the screen on a phone, with 16 px input text', async () => {
    await page.setViewportSize({ width: 375, height: 700 });
    await visit(hostPage());
    await launcher().click();
    const panel = await page.getByRole('dialog').boundingBox();
    expect(panel).toMatchObject({ x: 0, y: 0, width: 375, height: 700 });
    expect(await textbox().evaluate((el) => getComputedStyle(el).fontSize)).toBe('16px');
    await page.getByRole('button', { name: 'Close chat' }).click();
    expect(await page.getByRole('dialog').count()).toBe(0);
  });

  it.each(['light', 'dark'] as const)('looks right in the %s scheme (screenshot)', async (scheme) => {
    await page.emulateMedia({ colorScheme: scheme });
    await visit(hostPage({ attributes: 'data-title="Ask gemini-edge"', head: '<meta name="color-scheme" content="light dark">' }));
    await launcher().click();
    await ask('How does streaming work? [fake:markdown chunks=10]');
    await untilDone();
    expect(await page.locator('gemini-chat').getAttribute('data-scheme')).toBe(scheme);
    // `SAVE_SCREENSHOTS=1 npm run test:browser` refreshes the pictures in docs/ (README.md, docs/widget.md).
    const dir = process.env.SAVE_SCREENSHOTS ? `${root}docs` : `${root}.vitest/screenshots`;
    mkdirSync(dir, { recursive: true });
    const panel = (await page.getByRole('dialog').boundingBox())!;
    await page.screenshot({ path: `${dir}/widget-${scheme}.png`, clip: { x: panel.x - 20, y: panel.y - 20, width: panel.width + 40, height: 800 - panel.y + 20 } });
  });
});

describe('thought summaries', () => {
  const thinkingConfig = (record: FakeRecord) => (record.body.generationConfig?.thinkingConfig ?? {}) as { includeThoughts?: boolean };
  const label = (answer?: Locator) => thoughts(answer).locator('summary').textContent();
  const isOpen = (answer?: Locator) => thoughts(answer).evaluate((el) => (el as HTMLDetailsElement).open);

  it('shows the summary live under "Thinking…" before the answer, then folds it to "Thought for N s", which reopens', async () => {
    // What each message asks of the model's thinking (the widget asks per message, not per chat).
    const asked: unknown[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/messages')) asked.push((request.postDataJSON() as { thinking?: unknown }).thinking);
    });
    await visit(hostPage());
    await launcher().click();
    const tag = uniqueTag();
    // Thoughts a second apart, and the text a second after the last: two seconds of thinking.
    await ask(`Think [fake:reply thoughts=2 delay=1000 chunks=3 tag=${tag}]`);
    await thoughts().getByText('step 1 of 2').waitFor();
    expect(await label()).toBe('Thinking…');
    expect(await isOpen()).toBe(true);
    expect(await answerText()).toBe('');
    // Rendered as Markdown, like the answer.
    expect(await thoughts().locator('strong').first().textContent()).toBe('Reading the request');
    await thoughts().getByText('step 2 of 2').waitFor();
    expect(await answerText()).toBe('');
    await expect.poll(() => answerText()).not.toBe('');
    expect(await label()).toBe('Thought for 2 s');
    expect(await isOpen()).toBe(false);
    expect(await thoughts().getByText('step 2 of 2').isVisible()).toBe(false);
    await untilDone();
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(asked).toEqual([{ show: true }]);
    expect(thinkingConfig(record).includeThoughts).toBe(true);
    // The thoughts stay out of the answer, and out of the transcript's live announcements.
    expect(await answerText()).toBe(folded(record.sentText));
    expect(await thoughts().locator('.md').getAttribute('aria-live')).toBe('off');
    await thoughts().locator('summary').click();
    expect(await isOpen()).toBe(true);
    expect(await thoughts().getByText('step 1 of 2').isVisible()).toBe(true);
    expect(await label()).toBe('Thought for 2 s');
    expect(await noCspViolations()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('restores the stored thoughts after a reload, folded', async () => {
    await visit(hostPage());
    await launcher().click();
    const tag = uniqueTag();
    await ask(`Think [fake:reply thoughts=2 chunks=3 tag=${tag}]`);
    await untilDone();
    await page.reload();
    await expect.poll(() => answers().count()).toBe(1);
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(await answerText()).toBe(folded(record.sentText));
    // How long the model thought is not stored: the plain label.
    expect(await label()).toBe('Thoughts');
    expect(await isOpen()).toBe(false);
    expect(await thoughts().locator('strong').allTextContents()).toEqual(['Reading the request', 'Planning the answer']);
    await thoughts().locator('summary').click();
    expect(await thoughts().getByText('step 2 of 2').isVisible()).toBe(true);
    expect(errors).toEqual([]);
  });

  it('shows the thoughts of an answer it re-attaches to after a reload, each once', async () => {
    await visit(hostPage({ body: '<gemini-chat data-title="Inline chat"></gemini-chat>' }));
    const tag = uniqueTag();
    await ask(`Think [fake:reply thoughts=4 delay=1000 chunks=3 tag=${tag}]`);
    await thoughts().getByText('step 1 of 4').waitFor();
    await page.reload();
    await page.getByRole('region', { name: 'Inline chat' }).waitFor();
    // Replayed from the start, then followed live: open while the model still thinks.
    await thoughts().getByText('step 1 of 4').waitFor();
    expect(await label()).toBe('Thinking…');
    await untilDone();
    const records = await fakeRecords(dev.fakeUrl!, tag);
    expect(records).toHaveLength(1);
    expect(await answerText()).toBe(folded(records[0].sentText));
    expect(await label()).toBe('Thoughts');
    expect(await isOpen()).toBe(false);
    expect(await thoughts().locator('strong').count()).toBe(4);
    expect(errors).toEqual([]);
  });

  it('shows none with data-thoughts="hide", not even stored ones, and asks for none', async () => {
    // What each message asks of the model's thinking (the widget asks per message, not per chat).
    const asked: unknown[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/messages')) asked.push((request.postDataJSON() as { thinking?: unknown }).thinking);
    });
    // A chat with stored thoughts, from a page that shows them.
    await visit(hostPage());
    await launcher().click();
    await ask('Think [fake:reply thoughts=2 chunks=2]');
    await untilDone();
    expect(await thoughts().count()).toBe(1);
    // The same site, now hiding them: the restored answer has none.
    await visit(hostPage({ attributes: 'data-thoughts="hide"' }));
    await expect.poll(() => answers().count()).toBe(1);
    expect(await thoughts().count()).toBe(0);
    // A new chat asks for none.
    await page.getByRole('button', { name: 'New chat' }).click();
    const tag = uniqueTag();
    await ask(`Think [fake:reply thoughts=2 delay=100 chunks=3 tag=${tag}]`);
    await untilDone();
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(asked).toEqual([{ show: true }, { show: false }]);
    expect(thinkingConfig(record).includeThoughts).toBeUndefined();
    expect(await answerText()).toBe(folded(record.sentText));
    expect(await thoughts().count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
