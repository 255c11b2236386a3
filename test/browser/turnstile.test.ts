import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../e2e/dev-server';
import { fakeRecords, uniqueTag } from '../e2e/fake-records';
import { startFakeTurnstile, type FakeTurnstile } from '../fake/fake-turnstile';
import { FAKE_SECRET_KEY, FAKE_SITE_KEY } from '../turnstile-tokens';
import { consoleErrors, cspViolations, launchChromium, recordCspViolations, startStaticSite, type StaticSite } from './browser';

/**
 * The widget on a page of another origin, with Turnstile on: the Worker under
 * `wrangler dev` names the (fake) challenge's script, the widget loads it,
 * gets a token before its first request and the Worker verifies it with the
 * fake siteverify. Then the same page under the strict CSP docs/turnstile.md
 * lists, with the fake's origin in place of https://challenges.cloudflare.com.
 */

let dev: DevServer;
let site: StaticSite;
let turnstile: FakeTurnstile;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];

beforeAll(async () => {
  [site, turnstile] = await Promise.all([startStaticSite(), startFakeTurnstile()]);
  const vars = {
    TURNSTILE_SITE_KEY: FAKE_SITE_KEY,
    TURNSTILE_SECRET_KEY: FAKE_SECRET_KEY,
    TURNSTILE_VERIFY_URL: turnstile.verifyUrl,
    TURNSTILE_SCRIPT_URL: `${turnstile.scriptUrl}?render=explicit`,
  };
  const args = Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]);
  [dev, browser] = await Promise.all([startDevServer(args, { ALLOWED_ORIGINS: site.url }), launchChromium()]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await Promise.all([site?.close(), turnstile?.close()]);
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  page = await context.newPage();
  errors = consoleErrors(page);
  await recordCspViolations(page);
});

afterEach(async () => {
  await context.close();
});

function hostPage(head = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">${head}<title>Host</title></head>
<body><h1>A static page</h1><gemini-chat data-thoughts="hide"></gemini-chat><script src="${dev.url}/embed.js" async></script></body></html>`;
}

async function visit(html: string): Promise<string> {
  const path = `/${uniqueTag('p')}.html`;
  site.set(path, html);
  await page.goto(`${site.url}${path}`);
  return path;
}

const textbox = () => page.getByRole('textbox', { name: 'Message' });
const lastAnswer = () => page.locator('gemini-chat').locator('.msg.model').last();
const renders = () => page.evaluate(() => (window as unknown as { fakeTurnstileRenders?: number }).fakeTurnstileRenders ?? 0);
const violations = () => cspViolations(page);

async function ask(message: string): Promise<void> {
  await textbox().fill(message);
  await textbox().press('Enter');
  await page.locator('gemini-chat').locator('[role="log"][aria-busy="false"]').waitFor();
}

/** The Worker's own check, without the browser: a request with no token is refused. */
async function refusedWithoutToken(): Promise<void> {
  const response = await fetch(`${dev.url}/api/chats`, { method: 'POST', headers: { origin: site.url } });
  expect(response.status).toBe(403);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe('challenge_failed');
}

describe('the widget with Turnstile on', () => {
  it('passes the challenge before its first request and answers; later turns and a reload need no new challenge', async () => {
    await refusedWithoutToken();
    const assistant = (await (await fetch(`${dev.url}/api/assistant`, { headers: { origin: site.url } })).json()) as { turnstile?: unknown };
    expect(assistant.turnstile).toEqual({ siteKey: FAKE_SITE_KEY, scriptUrl: `${turnstile.scriptUrl}?render=explicit` });

    const path = await visit(hostPage());
    await textbox().waitFor();
    // Nothing is loaded before the reader sends something.
    expect(await renders()).toBe(0);
    const tag = uniqueTag();
    await ask(`Hello [fake:reply chunks=3 tag=${tag}]`);
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    expect(record?.status).toBe('completed');
    expect(((await lastAnswer().textContent()) ?? '').replace(/\s+/g, ' ')).toContain(record.sentText.replace(/\s+/g, ' ').trim().slice(0, 20));
    expect(await renders()).toBe(1);
    // The challenge's frame sits in the page's DOM (a box the widget shows through its panel).
    expect(await page.locator('gemini-chat > div[slot="challenge"] iframe').count()).toBe(1);

    // The chat's own turns: no new challenge.
    const second = uniqueTag();
    await ask(`Again [fake:reply tag=${second}]`);
    expect(await fakeRecords(dev.fakeUrl!, second)).toHaveLength(1);
    expect(await renders()).toBe(1);

    // A reload restores the chat and talks in it, with no challenge at all.
    await page.goto(`${site.url}${path}`);
    await textbox().waitFor();
    await page.locator('gemini-chat').locator('.msg.model').nth(1).waitFor();
    const third = uniqueTag();
    await ask(`Once more [fake:reply tag=${third}]`);
    expect(await fakeRecords(dev.fakeUrl!, third)).toHaveLength(1);
    expect(await renders()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('runs on a page with the strict CSP docs/turnstile.md gives, with no violation', async () => {
    const csp = `default-src 'none'; script-src ${dev.url} ${turnstile.url}; frame-src ${turnstile.url}; connect-src ${dev.url}; style-src ${dev.url}; img-src 'none'`;
    await visit(hostPage(`<meta http-equiv="Content-Security-Policy" content="${csp}">`));
    const tag = uniqueTag();
    await ask(`Hello [fake:reply tag=${tag}]`);
    expect(await fakeRecords(dev.fakeUrl!, tag)).toHaveLength(1);
    expect(await renders()).toBe(1);
    expect(await violations()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('cannot pass the challenge under a CSP without its frame-src (why the docs list it)', async () => {
    const csp = `default-src 'none'; script-src ${dev.url} ${turnstile.url}; connect-src ${dev.url}; style-src ${dev.url}; img-src 'none'`;
    await visit(hostPage(`<meta http-equiv="Content-Security-Policy" content="${csp}">`));
    const tag = uniqueTag();
    await textbox().fill(`Hello [fake:reply tag=${tag}]`);
    await textbox().press('Enter');
    await expect.poll(violations).toContainEqual(expect.stringMatching(/^frame-src /));
    expect(await fakeRecords(dev.fakeUrl!, tag)).toHaveLength(0);
  });
});
