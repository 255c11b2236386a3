import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../e2e/dev-server';
import { fakeRecords, uniqueTag } from '../e2e/fake-records';
import { bundleApp, consoleErrors, hostPagesContext, launchChromium } from './browser';

/**
 * The real `useChat` runs an assistant's page-side tool (issue 22): the app
 * (test/browser/fixtures/use-chat-tools-app.tsx) on https://tools.example, the origin of the
 * fixture assistant `tools-site`, uses onToolCall, addToolOutput and
 * `sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls`, against the Worker under
 * `wrangler dev` with the fixture assistants and the fake Gemini.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const SITE = 'https://tools.example';

let dev: DevServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];

beforeAll(async () => {
  let bundle: string;
  [dev, browser, bundle] = await Promise.all([
    // The fixtures' tools-site has http://127.0.0.1 tool endpoints: allowed for local development only.
    startDevServer([], { ASSISTANTS_DIR: 'test/fixtures/assistants', ASSISTANT_TOOLS_ALLOW_LOCAL: '1' }),
    launchChromium(),
    bundleApp(join(root, 'test/browser/fixtures/use-chat-tools-app.tsx')),
  ]);
  // The site's origin exists only here.
  context = await hostPagesContext(
    browser,
    new RegExp(`^${SITE.replaceAll('.', '\\.')}/`),
    new Map<string, string | { type: string; body: string }>([
      [`${SITE}/app.js`, { type: 'text/javascript; charset=utf-8', body: bundle }],
      [`${SITE}/chat.html`, '<!doctype html><meta charset="utf-8"><title>Tools</title><div id="root"></div><script type="module" src="/app.js"></script>'],
    ]),
  );
  page = await context.newPage();
  errors = consoleErrors(page);
}, 180_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await dev?.stop();
});

const read = (id: string) => page.evaluate((testId) => document.querySelector(`[data-testid="${testId}"]`)!.textContent!, id);
const shown = (testId: string, check: string) =>
  page.waitForFunction(([id, body]) => new Function('text', `return ${body}`)(document.querySelector(`[data-testid="${id}"]`)?.textContent ?? null), [testId, check] as const);

async function open(chat: string, query: Record<string, string> = {}): Promise<void> {
  await page.goto(`${SITE}/chat.html?${new URLSearchParams({ worker: dev.url, chat, ...query })}`);
  await page.getByRole('button', { name: 'Send' }).waitFor();
}

async function send(text: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

const newChatId = () => `usechattools${Date.now().toString(36)}`.padEnd(16, '0');

describe('useChat with a tool that runs in the page', () => {
  it('runs the call in the page with onToolCall, sends its output with sendAutomaticallyWhen, and shows the answer from it, live and after a reload', async () => {
    const chat = newChatId();
    await open(chat);
    const tag = uniqueTag();
    await send(`Show me the prices [fake:tools call=show_section args={"section":"pricing"} tag=${tag}]`);
    // Two responses: the first ends at the page's call, the follow-up with the output ends the answer.
    await shown('finishes', 'text !== null && JSON.parse(text).length >= 2');
    expect(JSON.parse(await read('finishes'))).toEqual(['tool-calls', 'stop']);

    // The tool ran in the page, once, with the arguments the model chose; the page scrolled.
    expect(JSON.parse(await read('ran'))).toEqual([{ section: 'pricing' }]);
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(1000);
    // Gemini got the page's output as the call's functionResponse, in a second request of the same turn.
    const records = await fakeRecords(dev.fakeUrl!, tag);
    expect(records).toHaveLength(2);
    expect(records[1]!.body.contents.at(-1)).toEqual({ role: 'user', parts: [{ functionResponse: { id: records[0]!.functionCalls![0]!.id, name: 'show_section', response: { output: { shown: 'pricing' } } } }] });
    // One assistant message, continued: the call, then the answer's step.
    expect(await read('roles')).toBe('user assistant');
    expect(await read('parts')).toBe('dynamic-tool step-start text');
    expect(await read('text')).toContain('[fake] show_section returned {"output":{"shown":"pricing"}}');
    const live = await read('text');

    await page.reload();
    await page.getByRole('button', { name: 'Send' }).waitFor();
    await shown('roles', 'text === "user assistant"');
    expect(JSON.parse(await read('tools'))).toEqual([{ toolName: 'show_section', state: 'output-available', input: { section: 'pricing' }, output: { shown: 'pricing' } }]);
    expect(await read('text')).toBe(live);
    // The stored call is not run again, and nothing more reached Gemini.
    expect(JSON.parse(await read('ran'))).toEqual([]);
    expect(await fakeRecords(dev.fakeUrl!, tag)).toHaveLength(2);
    expect(await read('error')).toBe('');
    expect(errors).toEqual([]);
  });

  it('a page reloaded before it answered gets the call again from resume: true, runs it, and the turn goes on', async () => {
    const chat = newChatId();
    await open(chat, { answer: 'never' });
    const tag = uniqueTag();
    await send(`Show me the prices [fake:tools call=show_section args={"section":"pricing"} tag=${tag}]`);
    await shown('finishes', 'text === \'["tool-calls"]\'');
    expect(JSON.parse(await read('ran'))).toEqual([{ section: 'pricing' }]);

    // The turn waits for the page (TOOLS_PAGE_TIMEOUT_MS): the reloaded page resumes it, up to the call.
    await open(chat);
    await shown('finishes', 'text !== null && JSON.parse(text).length >= 2');
    expect(JSON.parse(await read('finishes'))).toEqual(['tool-calls', 'stop']);
    expect(JSON.parse(await read('ran'))).toEqual([{ section: 'pricing' }]);
    expect(await read('roles')).toBe('user assistant');
    expect(await read('text')).toContain('[fake] show_section returned {"output":{"shown":"pricing"}}');
    expect(await fakeRecords(dev.fakeUrl!, tag)).toHaveLength(2);
    expect(errors).toEqual([]);
  });
});
