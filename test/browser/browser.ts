import { createServer, type Server } from 'node:http';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium), never a downloaded browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A static site on its own origin (127.0.0.1 and a port of its own): the host page of an embedding. */
/**
 * A context whose host pages live on public origins that exist only here (`origins`): each request
 * there is answered from `pages` by URL, or by URL without its query (204 when it has none). Chromium's Local Network Access
 * is granted, as a public origin's page may reach the Worker on 127.0.0.1 only with it.
 */
export async function hostPagesContext(browser: Browser, origins: RegExp, pages: ReadonlyMap<string, { type?: string; body: string } | string>, options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  await context.grantPermissions(['local-network-access']);
  await context.route(origins, (route) => {
    const url = route.request().url();
    const page = pages.get(url) ?? pages.get(url.split('?')[0]!);
    if (page === undefined) return route.fulfill({ status: 204 });
    const { type = 'text/html; charset=utf-8', body } = typeof page === 'string' ? { body: page } : page;
    return route.fulfill({ contentType: type, body });
  });
  return context;
}

export interface StaticSite {
  url: string;
  /** Serves `body` at `path`. */
  set(path: string, body: string, type?: string): void;
  close(): Promise<void>;
}

export async function startStaticSite(): Promise<StaticSite> {
  const files = new Map<string, { body: string; type: string }>([['/', { body: '<!doctype html><title>Host page</title><p>Host page</p>', type: 'text/html' }]]);
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://site').pathname;
    // Chromium asks every new origin for its icon: an empty answer keeps 404s out of the console checks.
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const file = files.get(path);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': `${file.type}; charset=utf-8`, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    set: (path, body, type = 'text/html') => files.set(path, { body, type }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Console errors and uncaught exceptions of a page, for the "no console errors" checks. */
export function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

/**
 * Records every Content-Security-Policy violation of the page's documents (shadow roots
 * included) from before their first script; {@link cspViolations} reads them.
 */
export async function recordCspViolations(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
}

/** The violations {@link recordCspViolations} saw on the page's current document. */
export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
}

/** Chromium's own line for a request the network broke (what a cut connection logs), not the page's. */
export const isNetworkLog = (line: string) => /^Failed to load resource: net::ERR_/.test(line);

/** A React app bundled as a browser ES module, as a developer's bundler would ship it. */
export async function bundleApp(entry: string): Promise<string> {
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    jsx: 'automatic',
    // React's development build: its warnings reach the console checks.
    define: { 'process.env.NODE_ENV': '"development"' },
    write: false,
    logLevel: 'silent',
  });
  return bundle.outputFiles[0].text;
}
