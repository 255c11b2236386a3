// @ts-check
/**
 * A folder of Markdown and HTML files as knowledge pages, for `npm run knowledge`.
 * Markdown is kept as written (its front matter replaced); HTML goes through the same
 * extraction as a fetched page.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { htmlToPage, oneLine } from './extract.mjs';
import { stemFor } from './file-names.mjs';

const MARKDOWN = /\.(md|markdown)$/i;
const HTML = /\.html?$/i;

/**
 * @typedef {{ url: string, title: string, markdown: string, stem: string }} FolderPage
 */

/**
 * The pages of a folder (and its subfolders, but not hidden ones nor `node_modules`), in
 * the order of their paths, at most `maxPages`.
 * @param {string} dir
 * @param {{ baseUrl: URL | null, maxPages: number }} options
 * @returns {{ pages: FolderPage[], skipped: { url: string, reason: string }[], left: number }}
 */
export function readFolder(dir, { baseUrl, maxPages }) {
  const files = listFiles(dir).filter((path) => MARKDOWN.test(path) || HTML.test(path));
  /** @type {FolderPage[]} */
  const pages = [];
  /** @type {{ url: string, reason: string }[]} */
  const skipped = [];
  let index = 0;
  for (; index < files.length && pages.length < maxPages; index++) {
    const path = files[index];
    const text = readFileSync(join(dir, ...path.split('/')), 'utf8').replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
    const page = MARKDOWN.test(path) ? markdownPage(path, text, baseUrl) : htmlPage(path, text, baseUrl);
    if (page.markdown) pages.push(page);
    else skipped.push({ url: path, reason: 'no text' });
  }
  return { pages, skipped, left: files.length - index };
}

/**
 * @param {string} path relative, with `/`s
 * @param {string} text
 * @param {URL | null} baseUrl
 * @returns {FolderPage}
 */
function markdownPage(path, text, baseUrl) {
  const { data, body } = splitFrontMatter(text);
  const markdown = body.replace(/^\n+|\s+$/g, '');
  const title = oneLine(data.title ?? '') || oneLine(firstHeading(markdown)) || fileTitle(path);
  return { url: pageUrl(path, data.url, baseUrl), title, markdown, stem: stemFor(path) };
}

/**
 * @param {string} path relative, with `/`s
 * @param {string} html
 * @param {URL | null} baseUrl
 * @returns {FolderPage}
 */
function htmlPage(path, html, baseUrl) {
  const url = pageUrl(path, undefined, baseUrl);
  const page = htmlToPage(html, /^https?:/.test(url) ? new URL(url) : null);
  return { url, title: page.title || fileTitle(path), markdown: page.markdown, stem: stemFor(path) };
}

/**
 * A page's address: its front matter's `url`, else where `--base-url` serves the file
 * (`docs/install.md` at `docs/install`, `docs/index.md` and `docs/index.html` at `docs/`,
 * `docs/page.html` at `docs/page.html`), else `file:` and its relative path.
 * @param {string} path
 * @param {string | undefined} declared
 * @param {URL | null} baseUrl
 */
function pageUrl(path, declared, baseUrl) {
  if (declared && oneLine(declared)) return oneLine(declared);
  if (!baseUrl) return `file:${path}`;
  const served = path.replace(/(^|\/)index\.(md|markdown|html?)$/i, '$1').replace(MARKDOWN, '');
  return new URL(served, baseUrl).href;
}

/**
 * A Markdown file's front matter, read simply: `key: value` lines, values plain, single-
 * or double-quoted; and the text after it.
 * @param {string} text
 * @returns {{ data: Record<string, string>, body: string }}
 */
export function splitFrontMatter(text) {
  const match = /^---[ \t]*\n([\s\S]*?)\n(?:---|\.\.\.)[ \t]*(?:\n|$)/.exec(text);
  if (!match) return { data: {}, body: text };
  /** @type {Record<string, string>} */
  const data = {};
  for (const line of match[1].split('\n')) {
    const field = /^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*?)[ \t]*$/.exec(line);
    if (field) data[field[1]] = scalar(field[2]);
  }
  return { data, body: text.slice(match[0].length) };
}

/** @param {string} value */
function scalar(value) {
  if (value.startsWith('"')) {
    try {
      return String(JSON.parse(value));
    } catch {
      return value.slice(1, value.endsWith('"') ? -1 : undefined);
    }
  }
  if (value.startsWith("'")) return value.slice(1, value.endsWith("'") ? -1 : undefined).replace(/''/g, "'");
  return value.replace(/\s+#.*$/, '');
}

/**
 * The text of a Markdown text's first ATX heading (`# …`), outside code blocks.
 * @param {string} markdown
 */
function firstHeading(markdown) {
  let fence = '';
  for (const line of markdown.split('\n')) {
    const opener = /^\s*(```|~~~)/.exec(line)?.[1];
    if (fence) {
      if (opener === fence) fence = '';
    } else if (opener) {
      fence = opener;
    } else {
      const heading = /^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
      if (heading) return heading[1];
    }
  }
  return '';
}

/** @param {string} path */
function fileTitle(path) {
  return posix.basename(path).replace(/\.[^.]+$/, '');
}

/**
 * The files under `dir`, as relative paths with `/`s, sorted by code unit (the same on
 * every machine and locale).
 * @param {string} dir
 * @returns {string[]}
 */
function listFiles(dir) {
  /** @type {string[]} */
  const files = [];
  /** @param {string} folder */
  const walk = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(relative(dir, path).split(sep).join('/'));
    }
  };
  walk(dir);
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
