import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../e2e/dev-server';
import { fakeRecords, uniqueTag, waitForRecord } from '../e2e/fake-records';
import { consoleErrors, hostPagesContext, isNetworkLog, launchChromium } from './browser';

/**
 * The widget running an assistant's page-side tools (issue 22, docs/widget.md "Tools that run in
 * the page"): the fixture assistant `tools-site` (test/fixtures/assistants) serves
 * https://tools.example, a static page Playwright serves that embeds `<script src="<worker>/embed.js">`
 * and registers `show_section`; the Worker runs under `wrangler dev` with the fake Gemini, whose
 * `[fake:tools …]` directive makes the model call the tools.
 */

const TOOLS_SITE = 'https://tools.example';

let dev: DevServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
const pages = new Map<string, string>();

beforeAll(async () => {
  [dev, browser] = await Promise.all([
    // No TOOLS_SIGNING_SECRET: the fixture's endpoint tools fail at once, as endpoint tools that cannot be signed do.
    // A page that does not answer would hold a turn for 5 s, not the default minute.
    startDevServer(['--var', 'TOOLS_PAGE_TIMEOUT_MS:5000'], { ASSISTANTS_DIR: 'test/fixtures/assistants', ASSISTANT_TOOLS_ALLOW_LOCAL: '1' }),
    launchChromium(),
  ]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

beforeEach(async () => {
  context = await hostPagesContext(browser, /^https:\/\/tools\.example\//, pages, { viewport: { width: 1100, height: 800 } });
  page = await context.newPage();
  errors = consoleErrors(page);
});

afterEach(async () => {
  await context.close();
});

/** The page's own handler, registered the documented way: for every `<gemini-chat>`, before the floating one exists. */
const SHOW_SECTION = `<script>
customElements.whenDefined('gemini-chat').then((GeminiChat) =>
  GeminiChat.registerTool('show_section', async ({ section }) => {
    const target = document.getElementById(section);
    if (!target) throw new Error('no section ' + section);
    target.scrollIntoView();
    target.classList.add('highlighted');
    return { shown: section };
  }));
</script>`;

/** The same, except that on the first page it never settles: the reader reloads while the turn waits for it. */
const SHOW_SECTION_AFTER_RELOAD = SHOW_SECTION.replace(
  'async ({ section }) => {',
  `async ({ section }) => {
    sessionStorage.setItem('runs', String(Number(sessionStorage.getItem('runs')) + 1));
    if (sessionStorage.getItem('runs') === '1') return new Promise(() => {});`,
);

/** Opens a page of the tools site: a long page with a pricing section far down, and the widget. */
async function visit(head = ''): Promise<void> {
  const url = `${TOOLS_SITE}/${uniqueTag('p')}.html`;
  pages.set(
    url,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Leaf &amp; Cup</title>${head}</head>
<body><h1>Leaf &amp; Cup</h1><div style="height:3000px"></div><section id="pricing"><h2>Pricing</h2></section>
<script src="${dev.url}/embed.js" async></script></body></html>`,
  );
  await page.goto(url);
  await page.waitForFunction(() => customElements.get('gemini-chat') !== undefined);
}

const widget = () => page.locator('gemini-chat');
const textbox = () => page.getByRole('textbox', { name: 'Message' });
const answer = () => widget().locator('.msg.model').last();
const steps = () => answer().locator('details.tool');

async function ask(message: string): Promise<void> {
  await page.getByRole('button', { name: 'Open chat' }).click();
  await textbox().fill(message);
  await textbox().press('Enter');
  await widget().locator('[role="log"][aria-busy="false"]').waitFor();
}

/**
 * The function responses the fake got in its second request (the one after the tools ran), each
 * checked to carry the id Gemini 3 gave its call, and returned without it.
 */
async function functionResponses(tag: string): Promise<unknown[]> {
  await waitForRecord(dev.fakeUrl!, tag, () => true);
  const records = await fakeRecords(dev.fakeUrl!, tag);
  expect(records).toHaveLength(2);
  const responses = (records[1]!.body.contents.at(-1)!.parts as unknown[]).map((part) => (part as { functionResponse: { id?: string } }).functionResponse);
  expect(responses.map((r) => r.id)).toEqual(records[0]!.functionCalls!.map((call) => call.id));
  return responses.map(({ id: _id, ...response }) => response);
}

describe('the widget with page-side tools', () => {
  it("runs the page's show_section on its own origin, sends the result to the model, and shows the step on one line, again after a reload", async () => {
    await visit(SHOW_SECTION);
    const tag = uniqueTag();
    await ask(`Show me the prices [fake:tools call=show_section args={"section":"pricing"} tag=${tag}]`);

    // The page's DOM changed: its handler ran, once.
    expect(await page.locator('#pricing.highlighted').count()).toBe(1);
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(1000);
    expect(await functionResponses(tag)).toEqual([{ name: 'show_section', response: { output: { shown: 'pricing' } } }]);
    expect(await answer().locator(':scope > .md').textContent()).toContain('[fake] show_section returned {"output":{"shown":"pricing"}}');

    const check = async () => {
      expect(await steps().count()).toBe(1);
      expect(await steps().locator('summary').textContent()).toBe('⚙ show_section ✓');
      // Folded: one line until the reader opens it.
      expect(await steps().getAttribute('open')).toBeNull();
      expect(await steps().locator('pre').textContent()).toBe('{"section":"pricing"}\n→ {"shown":"pricing"}');
      expect((await steps().boundingBox())!.height).toBeLessThan(30);
    };
    await check();
    await page.reload();
    await expect.poll(() => widget().locator('.msg.model').count()).toBe(1);
    await check();
    // The stored chat was shown, not run again.
    expect(await page.locator('#pricing.highlighted').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('answers a call the page has no handler for with an error at once, shows endpoint tools too, and the turn ends', async () => {
    await visit();
    const tag = uniqueTag();
    const started = Date.now();
    await ask(`Show me the prices and order A-1 [fake:tools call=show_section,lookup_order parallel=2 args={"section":"pricing","order":"A-1"} tag=${tag}]`);
    // Well before TOOLS_PAGE_TIMEOUT_MS (5 s): nobody waited for the page.
    expect(Date.now() - started).toBeLessThan(4000);
    const responses = await functionResponses(tag);
    expect(responses[0]).toEqual({ name: 'show_section', response: { error: 'the page has no handler for "show_section"' } });
    expect(responses[1]).toMatchObject({ name: 'lookup_order', response: { error: expect.stringContaining('TOOLS_SIGNING_SECRET') } });
    expect(await steps().locator('summary').allTextContents()).toEqual(['⚙ show_section failed', '⚙ lookup_order failed']);
    expect(await steps().first().locator('pre').textContent()).toBe('{"section":"pricing","order":"A-1"}\n→ the page has no handler for "show_section"');
    expect(await answer().locator(':scope > .md').textContent()).toContain('[fake] show_section returned');
    expect(errors).toEqual([]);
  });

  it('runs a call replayed after a reload in the middle of the wait, once, and the turn ends with its result', async () => {
    await visit(SHOW_SECTION_AFTER_RELOAD);
    const tag = uniqueTag();
    await page.getByRole('button', { name: 'Open chat' }).click();
    await textbox().fill(`Show me the prices [fake:tools call=show_section args={"section":"pricing"} tag=${tag}]`);
    await textbox().press('Enter');
    await expect.poll(() => steps().locator('summary').textContent()).toBe('⚙ show_section …');
    await page.reload();
    // The widget reopens, resumes the turn from its start, and this page's handler answers the replayed call.
    await widget().locator('[role="log"][aria-busy="false"]').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('runs'))).toBe('2');
    expect(await page.locator('#pricing.highlighted').count()).toBe(1);
    expect(await functionResponses(tag)).toEqual([{ name: 'show_section', response: { output: { shown: 'pricing' } } }]);
    expect(await steps().locator('summary').allTextContents()).toEqual(['⚙ show_section ✓']);
    expect(await answer().locator(':scope > .md').textContent()).toContain('[fake] show_section returned');
    expect(errors.filter((line) => !isNetworkLog(line))).toEqual([]);
  });
});
