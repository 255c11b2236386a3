import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../src/client/index';
import { startCuttingProxy, type CuttingProxy } from '../e2e/cutting-proxy';
import { startDevServer, type DevServer } from '../e2e/dev-server';
import { fakeRecords, uniqueTag } from '../e2e/fake-records';
import { consoleErrors, isNetworkLog, launchChromium, startStaticSite, type StaticSite } from './browser';

/**
 * The browser client as a static page on another origin uses it: imported
 * from the Worker's /client.js, in Chromium, against `wrangler dev` and the
 * fake Gemini. Drops are TCP connections cut by a proxy between page and Worker.
 */

let dev: DevServer;
let site: StaticSite; // in ALLOWED_ORIGINS
let otherSite: StaticSite; // not
let browser: Browser;
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
  page = await browser.newPage();
  errors = consoleErrors(page);
});

afterEach(async () => {
  await page.close();
  await proxy?.close();
  proxy = undefined;
});

type Client = typeof import('../../src/client/index');

/** Imports the Worker's /client.js into the page as a static site would, as `window.geminiEdge`. */
async function loadClient(endpoint: string): Promise<void> {
  await page.addScriptTag({ type: 'module', content: `import * as client from '${endpoint}/client.js'; window.geminiEdge = client;` });
  await page.waitForFunction(() => 'geminiEdge' in window);
}

interface PageRun {
  events: StreamEvent[];
  thrown?: { name: string; code: string; status?: number; message: string };
}

describe('/client.js', () => {
  it('is served to any origin as a revalidated ES module', async () => {
    const response = await fetch(`${dev.url}/client.js`, { headers: { origin: otherSite.url } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const etag = response.headers.get('etag');
    expect(etag).toBeTruthy();
    expect(await response.text()).toContain('export');
    const again = await fetch(`${dev.url}/client.js`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
  });

  it('streams a stored chat into a page on another origin through cut connections: every character once', async () => {
    proxy = await startCuttingProxy(dev.url);
    const cut = proxy.cut;
    await page.exposeFunction('cutConnections', () => cut());
    await page.goto(site.url);
    await loadClient(proxy.url);
    const tag = uniqueTag();
    const run: PageRun = await page.evaluate(
      async ({ endpoint, message }) => {
        const { openChat } = (window as unknown as { geminiEdge: Client }).geminiEdge;
        const chat = await openChat({ endpoint, reconnect: { delayMs: 100 } });
        const events: StreamEvent[] = [];
        for await (const event of chat.send(message)) {
          events.push(event);
          // Cut twice mid-answer, once right after another.
          if ([3, 12, 13].includes(events.length)) await (window as unknown as { cutConnections: () => Promise<void> }).cutConnections();
        }
        return { events };
      },
      { endpoint: proxy.url, message: `Tell me [fake:reply chunks=40 delay=30 tag=${tag}]` },
    );
    const records = await fakeRecords(dev.fakeUrl!, tag);
    expect(records).toHaveLength(1);
    const text = run.events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join('');
    expect(text).toBe(records[0].sentText);
    expect(run.events.at(-1)).toMatchObject({ type: 'done', finishReason: 'STOP' });
    const ids = run.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(proxy.connections).toBeGreaterThanOrEqual(4);
    // The only console lines are Chromium's own, for the requests the cuts broke.
    expect(errors.filter((line) => !isNetworkLog(line))).toEqual([]);
  });

  it('streams a stateless answer piece by piece, multibyte text intact', async () => {
    await page.goto(site.url);
    await loadClient(dev.url);
    const tag = uniqueTag();
    const run: PageRun = await page.evaluate(
      async ({ endpoint, message }) => {
        const { streamChat } = (window as unknown as { geminiEdge: Client }).geminiEdge;
        const events: StreamEvent[] = [];
        for await (const event of streamChat({ endpoint, message })) events.push(event);
        return { events };
      },
      { endpoint: dev.url, message: `Hi [fake:utf8 chunks=6 tag=${tag}]` },
    );
    const [record] = await fakeRecords(dev.fakeUrl!, tag);
    const texts = run.events.filter((e) => e.type === 'text');
    expect(texts.length).toBeGreaterThan(1);
    expect(texts.map((e) => (e as { text: string }).text).join('')).toBe(record.sentText);
    expect(run.events.at(-1)?.type).toBe('done');
    expect(errors).toEqual([]);
  });

  it('tells a page on an origin that is not allowed why, and costs no upstream call', async () => {
    await page.goto(otherSite.url);
    await loadClient(dev.url);
    const tag = uniqueTag();
    const run: PageRun = await page.evaluate(
      async ({ endpoint, message }) => {
        const { openChat, streamChat } = (window as unknown as { geminiEdge: Client }).geminiEdge;
        const events: StreamEvent[] = [];
        for await (const event of streamChat({ endpoint, message })) events.push(event);
        try {
          await openChat({ endpoint, system: message });
          return { events };
        } catch (error) {
          const { name, code, status, message: text } = error as { name: string; code: string; status: number; message: string };
          return { events, thrown: { name, code, status, message: text } };
        }
      },
      { endpoint: dev.url, message: `Hi [fake:reply tag=${tag}]` },
    );
    expect(run.events).toStrictEqual([
      { type: 'error', code: 'origin_not_allowed', message: `this endpoint does not serve pages on ${otherSite.url}`, status: 403 },
    ]);
    expect(run.thrown).toStrictEqual({ name: 'GeminiEdgeError', code: 'origin_not_allowed', status: 403, message: `this endpoint does not serve pages on ${otherSite.url}` });
    expect(await fakeRecords(dev.fakeUrl!, tag)).toStrictEqual([]);
    // Chromium logs the 403 responses themselves; nothing else.
    expect(errors.filter((line) => !/status of 403/.test(line))).toEqual([]);
  });
});
