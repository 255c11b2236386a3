import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../e2e/dev-server';
import { consoleErrors, cspViolations, launchChromium, recordCspViolations, startStaticSite, type StaticSite } from './browser';

/**
 * The owner's dashboard in Chromium, against `npm run dev` with ADMIN_KEY set: readers rate
 * answers with the widget's thumbs on a page of another origin; the owner signs in and sees
 * the numbers (the same as the JSON's), the charts and the rated answers.
 */

/** What the test reads of `GET /admin/api/stats` (src/stats/stats-report.ts; not imported: that is the Worker's side). */
interface Summary {
  requests: number;
  answers: number;
  errors: Record<string, number>;
  refusals: Record<string, number | undefined>;
}
interface StatsReport {
  total: Summary;
  byDay: { total: Summary }[];
  ratings: { rating: string; question?: string }[];
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const KEY = 'browser-test-admin-key-0123456789';

let dev: DevServer;
let site: StaticSite;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Storage of its own: the day's counts must be this test's alone, not those of earlier runs of wrangler dev. */
let persistDir: string;

beforeAll(async () => {
  site = await startStaticSite();
  persistDir = await mkdtemp(join(tmpdir(), 'gemini-edge-dashboard-'));
  [dev, browser] = await Promise.all([
    startDevServer(['--persist-to', persistDir, '--var', `ADMIN_KEY:${KEY}`, '--var', 'ADMIN_SHOW_TRANSCRIPTS:true'], { ALLOWED_ORIGINS: site.url }),
    launchChromium(),
  ]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await site?.close();
  if (persistDir) await rm(persistDir, { recursive: true, force: true });
});

afterEach(async () => {
  await context?.close();
});

async function newPage(width = 1200, height = 900): Promise<{ page: Page; errors: string[] }> {
  context = await browser.newContext({ viewport: { width, height } });
  page = await context.newPage();
  const errors = consoleErrors(page);
  await recordCspViolations(page);
  return { page, errors };
}

async function stats(): Promise<StatsReport> {
  const response = await fetch(`${dev.url}/admin/api/stats`, { headers: { authorization: `Bearer ${KEY}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as StatsReport;
}

async function statsWhen(ready: (report: StatsReport) => boolean): Promise<StatsReport> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const report = await stats();
    if (ready(report) || Date.now() > deadline) return report;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${dev.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then(async (r) => ({ status: r.status, text: await r.text() }));

describe('the widget’s thumbs', () => {
  it('rate an answer on a page of another origin, and keep the rating across a reload', async () => {
    // (wrangler dev keeps its storage between runs: the numbers are compared as differences.)
    const before = await stats();
    const { page, errors } = await newPage(1100, 800);
    site.set('/rate.html', `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title></head><body><h1>Tea shop</h1><script src="${dev.url}/embed.js" async></script></body></html>`);
    await page.goto(`${site.url}/rate.html`);
    await page.getByRole('button', { name: 'Open chat' }).click();
    const textbox = page.getByRole('textbox', { name: 'Message' });
    await textbox.fill('Which green teas do you have? [fake:reply chunks=3]');
    await textbox.press('Enter');
    const answer = page.locator('gemini-chat').locator('.msg.model').first();
    const good = answer.getByRole('button', { name: 'Good answer' });
    const bad = answer.getByRole('button', { name: 'Bad answer' });
    await expect.poll(() => good.count(), { timeout: 10_000 }).toBe(1);
    expect(await good.getAttribute('aria-pressed')).toBe('false');
    await good.click();
    await expect.poll(() => good.getAttribute('aria-pressed')).toBe('true');
    // A second answer, rated down, then changed to up and back to down; pressed again, the pressed
    // thumb takes the rating back, and a last press rates it down again. After each press, the
    // chat's stored ratings (GET /api/chats/:id) are the buttons'.
    await textbox.fill('And how do I brew them? [fake:reply chunks=2]');
    await textbox.press('Enter');
    const second = page.locator('gemini-chat').locator('.msg.model').nth(1);
    const secondGood = second.getByRole('button', { name: 'Good answer' });
    const secondBad = second.getByRole('button', { name: 'Bad answer' });
    await expect.poll(() => secondBad.count(), { timeout: 10_000 }).toBe(1);
    const chatId = await page.evaluate((k) => localStorage.getItem(k), `gemini-chat:${dev.url}`);
    expect(chatId).toMatch(/^[0-9a-f]{64}$/);
    const storedRatings = async () => {
      const response = await fetch(`${dev.url}/api/chats/${chatId}`);
      expect(response.status).toBe(200);
      const chat = (await response.json()) as { messages: { role: string; rating?: string }[] };
      return chat.messages.filter((m) => m.role === 'model').map((m) => m.rating ?? null);
    };
    expect(await storedRatings()).toEqual(['up', null]);
    for (const [button, pressed, stored] of [
      [secondBad, ['false', 'true'], 'down'],
      [secondGood, ['true', 'false'], 'up'],
      [secondBad, ['false', 'true'], 'down'],
      [secondBad, ['false', 'false'], null],
      [secondBad, ['false', 'true'], 'down'],
    ] as const) {
      await button.click();
      await expect.poll(async () => [await secondGood.getAttribute('aria-pressed'), await secondBad.getAttribute('aria-pressed')]).toEqual(pressed);
      expect(await storedRatings()).toEqual(['up', stored]);
    }
    // The first answer's thumbs are as they were.
    expect([await good.getAttribute('aria-pressed'), await bad.getAttribute('aria-pressed')]).toEqual(['true', 'false']);

    // Reloaded, the widget opens again by itself (it was open), with the stored answers and their ratings.
    await page.reload();
    const restored = page.locator('gemini-chat').locator('.msg.model');
    await expect.poll(() => restored.count(), { timeout: 10_000 }).toBe(2);
    expect(await restored.nth(0).getByRole('button', { name: 'Good answer' }).getAttribute('aria-pressed')).toBe('true');
    expect(await restored.nth(1).getByRole('button', { name: 'Bad answer' }).getAttribute('aria-pressed')).toBe('true');
    expect(await cspViolations(page)).toEqual([]);
    expect(errors).toEqual([]);

    // (The answers' counts come a batch later than the ratings: waited for here, so the next test starts from them.)
    const report = await statsWhen((r) => r.total.answers >= before.total.answers + 2);
    expect([report.total.requests - before.total.requests, report.total.answers - before.total.answers]).toEqual([2, 2]);
    expect(report.ratings.slice(0, 2).map((r) => [r.rating, r.question])).toEqual([
      ['down', 'And how do I brew them? [fake:reply chunks=2]'],
      ['up', 'Which green teas do you have? [fake:reply chunks=3]'],
    ]);
  }, 60_000);
});

describe('GET /admin', () => {
  it('signs the owner in, and shows the numbers, the charts and the rated answers, under its own strict CSP', async () => {
    // Besides the widget's answers: two more answers, an origin refusal, a bad body and Gemini's 503.
    const before = await stats();
    for (const message of ['Hello [fake:reply chunks=2]', 'What is oolong? [fake:reply chunks=4]']) {
      expect((await post('/api/chat', JSON.stringify({ message }))).status).toBe(200);
    }
    expect((await post('/api/chat', JSON.stringify({ message: 'Hi' }), { origin: 'https://elsewhere.example' })).status).toBe(403);
    expect((await post('/api/chat', '{"message": ')).status).toBe(400);
    expect((await post('/api/chat', JSON.stringify({ message: 'Down? [fake:http status=503]' }))).status).toBe(503);
    const report = await statsWhen((r) => r.total.requests >= before.total.requests + 5 && r.total.answers >= before.total.answers + 2);
    expect(report.total.requests - before.total.requests).toBe(5);
    expect(report.total.refusals.origin! - (before.total.refusals.origin ?? 0)).toBe(1);
    expect(report.total.refusals.input! - (before.total.refusals.input ?? 0)).toBe(1);

    const { page, errors } = await newPage();
    const answer = await page.goto(`${dev.url}/admin`);
    expect(answer!.status()).toBe(401);
    expect(answer!.headers()['cache-control']).toBe('no-store');
    await page.getByLabel('Admin key').fill('not the key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not the admin key');
    await page.getByLabel('Admin key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Requests per day' }).waitFor();
    const cookies = await context.cookies();
    expect(cookies).toEqual([expect.objectContaining({ name: '__Host-gemini-edge-admin', httpOnly: true, secure: true, sameSite: 'Strict', path: '/' })]);
    expect(cookies[0]!.value).not.toContain(KEY);

    // The numbers on the page are the JSON's.
    const shown = await stats();
    const tile = (label: string) => page.locator('.tile', { has: page.locator('.label', { hasText: new RegExp(`^${label}$`) }) }).locator('.value').textContent();
    expect(await tile('Requests')).toBe(shown.total.requests.toLocaleString('en-US'));
    expect(await tile('Answers')).toBe(shown.total.answers.toLocaleString('en-US'));
    expect(await tile('Refused')).toBe(String(Object.values(shown.total.refusals).reduce((a: number, b) => a + (b ?? 0), 0)));
    expect(await tile('Failed')).toBe(String(Object.values(shown.total.errors).reduce((a, b) => a + b, 0)));
    expect(await page.locator('svg.chart').count()).toBe(4);
    // Today's bar of the requests chart is drawn, and says its numbers.
    const today = page.locator('svg.chart').first().locator('g').last();
    expect(await today.locator('title').textContent()).toContain(`Answered: ${shown.byDay.at(-1)!.total.answers}`);
    expect(await today.locator('rect:not(.hit)').count()).toBeGreaterThan(0);
    expect(await page.getByRole('cell', { name: 'upstream_unavailable' }).count()).toBe(1);
    expect(await page.locator('.ratings li').count()).toBe(shown.ratings.length);
    expect(await page.locator('.ratings').textContent()).toContain('Which green teas do you have?');
    expect(await cspViolations(page)).toEqual([]);
    // Chromium logs the login form's 401s (the page before and after the wrong key), and the Worker has no favicon.
    expect(errors.filter((e) => !/status of (401|404)/.test(e))).toEqual([]);
    expect(errors.filter((e) => /status of 404/.test(e))).toHaveLength(1);

    // `SAVE_SCREENSHOTS=1 npm run test:browser` refreshes docs/dashboard.png (README.md, docs/dashboard.md).
    const dir = process.env.SAVE_SCREENSHOTS ? `${root}docs` : `${root}.vitest/screenshots`;
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: `${dir}/dashboard.png` });

    // On a phone: nothing wider than the screen, the charts scaled to it.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const chart = await page.locator('svg.chart').first().boundingBox();
    expect(chart!.width).toBeGreaterThan(300);
    expect(chart!.width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${dir}/dashboard-phone.png` });

    // Signing out ends the session.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin key').waitFor();
    expect(await context.cookies()).toEqual([]);
  }, 60_000);
});
