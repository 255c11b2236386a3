import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../e2e/dev-server';
import { fakeRecords, uniqueTag } from '../e2e/fake-records';
import { bundleApp, consoleErrors, hostPagesContext, launchChromium } from './browser';

/**
 * `useGeminiStream({ chatId, tools })` running an assistant's page-side tool (issue 22): a React
 * app bundled from the sources (test/browser/fixtures/hook-tools-app.tsx) on the origin of the
 * fixture assistant `tools-site` (https://tools.example, served by Playwright), against the Worker
 * under `wrangler dev` with the fake Gemini.
 */

let dev: DevServer;
let browser: Browser;
let page: Page;
let errors: string[];
let app: string;

beforeAll(async () => {
  [dev, browser, app] = await Promise.all([
    startDevServer(['--var', 'TOOLS_PAGE_TIMEOUT_MS:5000'], { ASSISTANTS_DIR: 'test/fixtures/assistants', ASSISTANT_TOOLS_ALLOW_LOCAL: '1' }),
    launchChromium(),
    bundleApp(fileURLToPath(new URL('./fixtures/hook-tools-app.tsx', import.meta.url))),
  ]);
  const context = await hostPagesContext(
    browser,
    /^https:\/\/tools\.example\//,
    new Map<string, string | { type: string; body: string }>([
      ['https://tools.example/app.js', { type: 'text/javascript', body: app }],
      ['https://tools.example/', '<!doctype html><meta charset="utf-8"><title>Hook</title><div id="root"></div><script type="module" src="/app.js"></script>'],
    ]),
  );
  page = await context.newPage();
  errors = consoleErrors(page);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

describe('useGeminiStream with tools', () => {
  it("runs the app's handler for a page-side call and streams the answer made from its result", async () => {
    const tag = uniqueTag();
    const message = `Show me the prices [fake:tools call=show_section args={"section":"pricing"} tag=${tag}]`;
    await page.goto(`https://tools.example/?endpoint=${encodeURIComponent(dev.url)}&message=${encodeURIComponent(message)}`);
    await page.getByRole('button', { name: 'Ask' }).click();
    await expect.poll(() => page.locator('#finish').textContent()).toBe('STOP');
    expect(await page.locator('#shown').textContent()).toBe('pricing');
    expect(await page.locator('#answer').textContent()).toContain('[fake] show_section returned {"output":{"shown":"pricing"}}');
    expect(await fakeRecords(dev.fakeUrl!, tag)).toHaveLength(2);
    expect(errors).toEqual([]);
  });
});
