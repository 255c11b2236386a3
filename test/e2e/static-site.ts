import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small static site for `npm run knowledge` to crawl, on 127.0.0.1: pages with the usual
 * chrome (navigation, header, footer, scripts, styles, a form), a sitemap index, a
 * robots.txt, and links and sitemap entries to other hosts. Every request is recorded.
 */

/** Text only in the site's chrome: none of it may reach the knowledge files. */
export const CHROME_MARKS = ['NAV-MARK', 'HEADER-MARK', 'FOOTER-MARK', 'SCRIPT-MARK', 'STYLE-MARK', 'FORM-MARK', 'ASIDE-MARK', 'HIDDEN-MARK'];

export interface StaticSite {
  url: string;
  port: number;
  /** Host header and path of every request, in order. */
  requests: { host: string; path: string }[];
  /** Path → body of the pages served (change it between runs); `null` answers 404, `'500'` a 500. */
  pages: Map<string, string | null>;
  /** Served at /sitemap.xml when true. */
  sitemap: boolean;
  close(): Promise<void>;
}

/** A page with all the chrome around `main`. */
function page(title: string, main: string, { wrapInMain = true } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>${title}</title>
  <style>.STYLE-MARK { color: red }</style>
  <script>window.analytics = "SCRIPT-MARK";</script>
  <link rel="stylesheet" href="/site.css">
</head>
<body>
  <header class="site-header">
    <a href="/"><img src="/logo.png" alt="">HEADER-MARK Acme</a>
    <nav aria-label="Main">
      <ul>
        <li><a href="/">Home</a></li>
        <li><a href="/pricing">Plans NAV-MARK</a></li>
        <li><a href="/docs/install">Install</a></li>
        <li><a href="/private/secret">Secret</a></li>
        <li><a href="/private/open">Open</a></li>
        <li><a href="/contact#form">Contact</a></li>
        <li><a href="/brochure.pdf">Brochure</a></li>
      </ul>
    </nav>
    <form action="/search"><input name="q"><button>FORM-MARK Search</button></form>
  </header>
  <aside class="sidebar"><p>ASIDE-MARK Related reading</p></aside>
  ${wrapInMain ? `<main>${main}</main>` : main}
  <div hidden>HIDDEN-MARK</div>
  <footer><p>© 2026 Acme FOOTER-MARK</p><a href="/legal">Legal</a></footer>
  <script>document.write("SCRIPT-MARK")</script>
</body>
</html>`;
}

/**
 * The site's pages at their paths. `{other}` becomes the other host's origin, `{alias}` this
 * same server by another host name (`localhost`): both are other hosts to the crawler.
 */
function sitePages(): Map<string, string | null> {
  return new Map<string, string | null>([
    [
      '/',
      page(
        'Acme — Widgets for everyone',
        `<h1>Widgets for everyone</h1>
<p>Acme makes <strong>widgets</strong> that fit any shelf. Read the <a href="/docs/install">install guide</a> or
see <a href="{other}/partner">our partner</a> (also at <a href="{alias}/pricing">localhost</a>).</p>
<ul><li>Fast delivery</li><li>Two-year warranty</li></ul>`,
      ),
    ],
    [
      '/pricing',
      page(
        'Pricing | Acme',
        `<h1>Pricing</h1>
<p>Every plan includes support.</p>
<table>
  <thead><tr><th>Plan</th><th>Price</th></tr></thead>
  <tbody><tr><td>Free</td><td>$0</td></tr><tr><td>Pro</td><td>$10 a month</td></tr></tbody>
</table>`,
      ),
    ],
    [
      '/docs/install',
      page(
        'Install the widget',
        `<article>
<h1>Install</h1>
<p>Run this in your project:</p>
<pre><code class="language-sh">npm install acme-widget
acme init --yes</code></pre>
<p>Then see <a href="../pricing">the plans</a>.</p>
</article>`,
      ),
    ],
    ['/private/secret', page('Secret', '<h1>Secret</h1><p>SECRET-MARK: robots.txt disallows this page.</p>')],
    ['/private/open', page('Open', '<h1>Open</h1><p>Allowed by a longer Allow rule.</p>')],
    [
      '/contact',
      // No <main>: Readability finds the content among the page's divs.
      page(
        'Contact us',
        `<div class="content"><h1>Contact</h1>
<p>Write to hello@acme.example, or call us on weekdays between nine and five. We answer every message within
two working days, and usually the same day. Our office is at 1 Widget Street, Lisbon.</p></div>`,
        { wrapInMain: false },
      ),
    ],
    ['/legal', page('Legal', '<h1>Legal</h1><p>Acme Ltd., registered in Portugal.</p>')],
  ]);
}

/** robots.txt: another bot is shut out, we are kept out of /private/ but for /private/open. */
const ROBOTS = `# Acme
User-agent: SomeOtherBot
Disallow: /

User-agent: *
Disallow: /private/
Allow: /private/open
`;

/**
 * Starts the site on 127.0.0.1. `otherOrigin` is where its links and sitemap entries to
 * another host point.
 */
export async function startStaticSite(otherOrigin: string): Promise<StaticSite> {
  const requests: StaticSite['requests'] = [];
  const site: StaticSite = {
    url: '',
    port: 0,
    requests,
    pages: sitePages(),
    sitemap: true,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ host: req.headers.host ?? '', path });
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (path === '/robots.txt') return send(200, 'text/plain', ROBOTS);
    if (path === '/sitemap.xml' && site.sitemap) {
      return send(
        200,
        'application/xml',
        `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>${site.url}/sitemap-pages.xml</loc></sitemap>
  <sitemap><loc>${otherOrigin}/sitemap.xml</loc></sitemap>
</sitemapindex>`,
      );
    }
    if (path === '/sitemap-pages.xml') {
      const listed = [...site.pages].filter(([, body]) => body !== null && !body.includes('<title>Legal')).map(([p]) => p);
      const entries = [...listed, '/old-home', '/partner', '/notes.txt', `${otherOrigin}/elsewhere`].map((p) => `  <url><loc>${p.startsWith('/') ? site.url + p : p}</loc></url>`);
      return send(200, 'application/xml', `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${entries.join('\n')}\n</urlset>`);
    }
    if (path === '/notes.txt') return send(200, 'text/plain', 'Not a page.');
    if (path === '/old-home' || path === '/partner') {
      res.writeHead(301, { location: path === '/partner' ? `${otherOrigin}/partner` : '/' });
      return res.end();
    }
    const body = site.pages.get(path);
    if (body === '500') return send(500, 'text/html', '<h1>Something broke</h1>');
    if (body) return send(200, 'text/html; charset=utf-8', body.replaceAll('{other}', otherOrigin).replaceAll('{alias}', `http://localhost:${site.port}`));
    send(404, 'text/html', '<title>Not found</title><h1>Not found</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  site.port = (server.address() as AddressInfo).port;
  site.url = `http://127.0.0.1:${site.port}`;
  return site;
}
