// @ts-check
/**
 * A web page's main content as Markdown, for `npm run knowledge`.
 *
 * linkedom parses the page (jsdom, Readability's usual partner, needs Node 22); the site's
 * chrome is removed (scripts, styles, navigation, the page's header and footer, forms);
 * the main content is the page's `<main>` (or its one `<article>`) where it marks one, and
 * else what Mozilla's Readability (Firefox's Reader View) finds; turndown, with the GFM
 * plugin for tables, writes it as Markdown. Links are made absolute; images become their
 * alt text, since the model reads text only.
 */
import { gfm } from '@joplin/turndown-plugin-gfm';
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import TurndownService from 'turndown';

/**
 * @typedef {{ title: string, markdown: string, links: URL[] }} Page
 *   `title`: the page's `<title>` (else its first `<h1>`), on one line; `links`: the
 *   http(s) addresses of its `<a href>`s (all of them, navigation included), without
 *   fragments, once each, in the page's order.
 */

/** Never content: removed from the whole page before anything else. */
const NOT_CONTENT = [
  'script', 'style', 'noscript', 'template', 'link', 'meta', 'iframe', 'object', 'embed', 'svg', 'canvas',
  'nav', 'form', 'button', 'input', 'select', 'textarea', 'dialog',
  '[hidden]', '[aria-hidden="true"]',
  '[role="navigation"]', '[role="banner"]', '[role="contentinfo"]', '[role="search"]',
].join(', ');

/** A `header`, `footer` or `aside` is the page's own unless it sits in one of these. */
const SECTIONING = 'main, article, section, [role="main"]';

/**
 * Turns one HTML page into its title, its main content as Markdown, and its links.
 * @param {string} html
 * @param {URL | null} url where the page lives, to make links absolute; `null` leaves them as written
 * @returns {Page}
 * @example
 * htmlToPage('<title>Pricing</title><nav>…</nav><main><h1>Plans</h1>…</main>', new URL('https://example.com/pricing'))
 * // { title: 'Pricing', markdown: '# Plans\n\n…', links: [...] }
 */
export function htmlToPage(html, url) {
  const document = /** @type {Document} */ (/** @type {unknown} */ (parseHTML(html).document));
  const base = baseUrl(document, url);
  const title = oneLine(document.querySelector('title')?.textContent ?? '') || oneLine(document.querySelector('h1')?.textContent ?? '');

  /** @type {Map<string, URL>} */
  const links = new Map();
  for (const anchor of Array.from(document.querySelectorAll('a[href], area[href]'))) {
    const target = resolve(anchor.getAttribute('href') ?? '', base);
    if (!target) continue;
    if (target.protocol === 'http:' || target.protocol === 'https:') {
      const page = new URL(target);
      page.hash = '';
      if (!links.has(page.href)) links.set(page.href, page);
    }
    anchor.setAttribute('href', target.href);
  }

  for (const element of Array.from(document.querySelectorAll(NOT_CONTENT))) element.remove();
  for (const element of Array.from(document.querySelectorAll('header, footer, aside'))) {
    if (!element.parentElement?.closest(SECTIONING)) element.remove();
  }

  return { title, markdown: toMarkdown(mainContent(document)), links: [...links.values()] };
}

/**
 * The HTML of the page's main content: its `<main>` (or `role="main"`), else its only
 * `<article>`, else Readability's pick, else the whole (already cleaned) body.
 * @param {Document} document
 */
function mainContent(document) {
  const landmark = document.querySelector('main, [role="main"]');
  if (landmark) return landmark.innerHTML;
  const articles = document.querySelectorAll('article');
  if (articles.length === 1) return articles[0].innerHTML;
  const body = document.body?.innerHTML ?? '';
  // keepClasses: turndown reads a code block's language from its `language-…` class.
  const article = new Readability(document, { keepClasses: true }).parse();
  return article?.content && article.textContent?.trim() ? article.content : body;
}

const turndown = new TurndownService({
  headingStyle: 'atx',
  hr: '---',
  bulletListMarker: '-',
  codeBlockStyle: 'fenced',
  fence: '```',
  emDelimiter: '_',
  strongDelimiter: '**',
  linkStyle: 'inlined',
});
turndown.use(gfm);
// turndown's own list items pad the marker to four columns (`-   item`); CommonMark needs
// only the marker and one space, and nested lines indented to where the text starts.
turndown.addRule('list item, marker and one space', {
  filter: 'li',
  replacement: (content, node) => {
    const item = /** @type {HTMLElement} */ (node);
    const list = item.parentElement;
    let prefix = '- ';
    if (list?.nodeName === 'OL') {
      const start = Number(list.getAttribute('start') ?? 1);
      prefix = `${(Number.isInteger(start) ? start : 1) + Array.prototype.indexOf.call(list.children, item)}. `;
    }
    const isParagraph = /\n$/.test(content);
    const text = content.replace(/^\n+|\n+$/g, '') + (isParagraph ? '\n' : '');
    return prefix + text.replace(/\n(?=[^\n])/g, `\n${' '.repeat(prefix.length)}`) + (item.nextSibling ? '\n' : '');
  },
});
turndown.addRule('image as its alt text', {
  filter: 'img',
  replacement: (_content, node) => oneLine(/** @type {HTMLElement} */ (node).getAttribute('alt') ?? ''),
});
turndown.addRule('link without text or target', {
  filter: (node) => node.nodeName === 'A' && (!node.textContent?.trim() || !/^(https?|mailto|tel):/i.test(node.getAttribute('href') ?? '')),
  replacement: (content) => content,
});

/**
 * HTML as Markdown: at most one blank line in a row, no blank lines at either end.
 * @param {string} html
 */
export function toMarkdown(html) {
  return turndown
    .turndown(html)
    .replace(/^[ \t]+$/gm, '')
    .replace(/(?<=\S)[ \t]+$/gm, (spaces) => (spaces === '  ' ? spaces : '')) // a hard line break's two spaces stay
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * The address relative links resolve against: the page's `<base href>`, else the page's own.
 * @param {Document} document
 * @param {URL | null} url
 */
function baseUrl(document, url) {
  const href = document.querySelector('base[href]')?.getAttribute('href');
  if (!url) return null;
  return (href && resolve(href, url)) || url;
}

/**
 * @param {string} href
 * @param {URL | null} base
 */
function resolve(href, base) {
  if (!base) return null;
  try {
    return new URL(href.trim(), base);
  } catch {
    return null;
  }
}

/**
 * Text on one line: runs of whitespace as one space, control characters dropped (they are
 * not allowed in YAML), no space at either end.
 * @param {string} text
 */
export function oneLine(text) {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufeff\ufffe\uffff]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}
