#!/usr/bin/env node
// @ts-check
/**
 * `npm run knowledge -- <assistant name> <sitemap URL | site URL | folder>`: builds an
 * assistant's knowledge (issue 19) from the owner's machine, into
 * `assistants/<name>/knowledge/`, one Markdown file per page (docs/knowledge.md).
 *
 *   1. gathers the pages: a sitemap (and the sitemaps of an index), a site (its
 *      /sitemap.xml, else links followed breadth-first from the start page), or a local
 *      folder of .md/.html files; same origin only, robots.txt respected, text/html only;
 *   2. keeps each page's main content as Markdown (scripts/knowledge/extract.mjs);
 *   3. writes one file per page, named from its address, only where the bytes change, and
 *      removes the files of pages that are gone (only those an earlier run from the same
 *      site or folder wrote, listed in assistants/<name>/.knowledge.json);
 *   4. writes a starter assistant.md if the assistant has none;
 *   5. prints the corpus's token estimate (characters / 4) against KNOWLEDGE_MAX_TOKENS.
 *
 * Exit codes: 0 done (a corpus over the limit only warns); 1 nothing usable was fetched,
 * or some pages failed (the others are written); 2 bad usage.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { crawlSite } from './knowledge/crawl.mjs';
import { stemFor } from './knowledge/file-names.mjs';
import { readFolder } from './knowledge/folder.mjs';
import { corpusSize, writeKnowledge } from './knowledge/knowledge-folder.mjs';
import { starterAssistant } from './knowledge/starter-assistant.mjs';

const USAGE = `Usage: npm run knowledge -- <assistant name> <sitemap URL | site URL | folder> [options]
  Fetches the site's pages (or reads the folder's .md/.html files) and writes their main
  content as Markdown into assistants/<name>/knowledge/, one file per page.
Options:
  --max-pages N         at most N pages (default 200)
  --base-url URL        for a folder: the address its files are served at
  --timeout SECONDS     per request (default 15)
  --max-page-bytes N    a page larger than this is skipped (default 2097152, 2 MiB)
  --root DIR            where assistants/ is (default: this repository)
  --help
Exit codes: 0 done, 1 nothing usable fetched or some pages failed, 2 bad usage.`;

const NAME = /^[a-z0-9-]+$/;
const DEFAULT_MAX_TOKENS = 250_000;
const repository = fileURLToPath(new URL('..', import.meta.url));
/** `npm run` starts scripts in the repository; a relative path means where the owner typed it. */
const here = (process.env.npm_lifecycle_event === 'knowledge' && process.env.INIT_CWD) || process.cwd();

/**
 * @param {string} message
 * @returns {never}
 */
function usage(message) {
  console.error(`knowledge: ${message}\n\n${USAGE}`);
  process.exit(2);
}

/**
 * @param {string | undefined} value
 * @param {string} what
 * @param {number} fallback
 */
function positiveNumber(value, what, fallback) {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(number > 0)) usage(`${what} must be a positive number, got ${JSON.stringify(value)}`);
  return number;
}

/** @type {ReturnType<typeof parseOptions>} */
let parsed;
function parseOptions() {
  return parseArgs({
    allowPositionals: true,
    options: {
      'max-pages': { type: 'string' },
      'base-url': { type: 'string' },
      timeout: { type: 'string' },
      'max-page-bytes': { type: 'string' },
      root: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
try {
  parsed = parseOptions();
} catch (error) {
  usage(/** @type {Error} */ (error).message);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (positionals.length !== 2) usage('give an assistant name and a sitemap URL, a site URL or a folder');
const [name, input] = positionals;
if (!NAME.test(name)) {
  usage(`the assistant name must be lowercase letters, digits and "-" only (like "help-desk"), got ${JSON.stringify(name)}`);
}

const maxPages = positiveNumber(values['max-pages'], '--max-pages', 200);
if (!Number.isInteger(maxPages)) usage(`--max-pages must be a whole number, got ${values['max-pages']}`);
const limits = {
  timeoutMs: positiveNumber(values.timeout, '--timeout', 15) * 1000,
  maxBytes: Math.floor(positiveNumber(values['max-page-bytes'], '--max-page-bytes', 2 * 1024 * 1024)),
};
const maxTokensSetting = process.env.KNOWLEDGE_MAX_TOKENS?.trim();
const maxTokens = maxTokensSetting ? positiveNumber(maxTokensSetting, 'KNOWLEDGE_MAX_TOKENS', DEFAULT_MAX_TOKENS) : DEFAULT_MAX_TOKENS;

const root = values.root ? resolve(here, values.root) : repository;
const assistantDir = join(root, 'assistants', name);
const shown = (/** @type {string} */ path) => relative(root, path).split(sep).join('/') || '.';

/** @type {URL | null} */
let baseUrl = null;
if (values['base-url'] !== undefined) {
  baseUrl = httpUrl(values['base-url']) ?? usage(`--base-url must be an http or https URL, got ${JSON.stringify(values['base-url'])}`);
  if (!baseUrl.pathname.endsWith('/')) baseUrl.pathname += '/';
}

/**
 * @param {string} text
 * @returns {URL | null}
 */
function httpUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Gather the pages

/** @type {{ url: string, title: string, markdown: string, stem: string }[]} */
let pages;
/** @type {{ url: string, stem: string }[]} */
let failed = [];
/** @type {string} */
let source;
/** @type {{ site: string, origin: string | null }} */
let site;
/** Why the start page was skipped, if it was. */
let skippedStart = /** @type {string | undefined} */ (undefined);

if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
  const start = httpUrl(input) ?? usage(`only http and https addresses can be fetched, got ${JSON.stringify(input)}`);
  if (values['base-url'] !== undefined) usage('--base-url is for a folder; a site gives each page its own address');
  start.hash = '';
  // One site, one source, whether it was given by a page or by a sitemap.
  source = start.origin;
  site = { site: start.hostname.replace(/^www\./, ''), origin: start.origin };
  console.log(`Knowledge for "${name}" from ${start.href}`);

  const crawl = await crawlSite(start, { maxPages, limits });
  if (crawl.fatal) {
    console.error(`knowledge: ${crawl.fatal}; nothing was written.`);
    process.exit(1);
  }
  console.log(`  pages found through ${crawl.via}`);
  const list = (/** @type {string} */ label, /** @type {string[]} */ items) => {
    for (const item of items) console.log(`  ${label}: ${item}`);
  };
  list('skipped, robots.txt disallows it', crawl.disallowed);
  list('skipped, another host (sitemap entry)', crawl.otherHostEntries);
  list(
    'skipped, links to another host',
    [...crawl.otherHostLinks].sort(([a], [b]) => (a < b ? -1 : 1)).map(([host, count]) => `${host} (${count} ${count === 1 ? 'link' : 'links'})`),
  );
  list('skipped', crawl.skipped.map(({ url, reason }) => `${url} (${reason})`));
  list('failed', crawl.failed.map(({ url, reason }) => `${url} (${reason})`));
  if (crawl.left > 0) console.log(`  stopped at --max-pages ${maxPages}: ${crawl.left} more pages were not fetched`);

  skippedStart = crawl.skipped.find(({ url }) => url === start.href)?.reason;
  pages = crawl.pages.map((page) => ({ ...page, stem: stemFor(pathAndQuery(page.url)) }));
  failed = crawl.failed.map(({ url }) => ({ url, stem: stemFor(pathAndQuery(url)) }));
} else {
  const dir = resolve(here, input);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    usage(`${JSON.stringify(input)} is neither an http(s) URL nor a folder (a site needs its scheme: https://${input.replace(/^\/+/, '')})`);
  }
  const own = join(assistantDir, 'knowledge');
  if (dir === own || dir.startsWith(own + sep)) usage(`${input} is the assistant's own knowledge folder`);
  source = shown(dir);
  site = baseUrl ? { site: baseUrl.hostname.replace(/^www\./, ''), origin: baseUrl.origin } : { site: name, origin: null };
  console.log(`Knowledge for "${name}" from the folder ${dir}`);

  const folder = readFolder(dir, { baseUrl, maxPages });
  for (const { url, reason } of folder.skipped) console.log(`  skipped: ${url} (${reason})`);
  if (folder.left > 0) console.log(`  stopped at --max-pages ${maxPages}: ${folder.left} more files were not read`);
  pages = folder.pages;
}

if (pages.length === 0) {
  const moved = /^redirects to another host: (.*)$/.exec(skippedStart ?? '')?.[1];
  const hint = moved ? `: ${input} redirects to ${moved}; run again with that address` : failed.length ? ' (see the failures above)' : '';
  console.error(`knowledge: no usable page${hint}; nothing was written.`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Write them

const report = writeKnowledge(assistantDir, source, pages, failed);
const written = [`${report.added.length} new`, `${report.changed.length} changed`, `${report.unchanged.length} unchanged`];
console.log(`${shown(join(assistantDir, 'knowledge'))}/: ${pages.length} pages (${written.join(', ')})`);
if (report.added.length) console.log(`  new: ${report.added.join(', ')}`);
if (report.changed.length) console.log(`  changed: ${report.changed.join(', ')}`);
if (report.kept.length) console.log(`  kept from the last run (their pages failed): ${report.kept.join(', ')}`);
if (report.removed.length) console.log(`  removed (their pages are gone): ${report.removed.join(', ')}`);

const assistantFile = join(assistantDir, 'assistant.md');
if (!existsSync(assistantFile)) {
  const contact = pages.find((page) => /contact/i.test(pathAndQuery(page.url)))?.url ?? null;
  mkdirSync(assistantDir, { recursive: true });
  writeFileSync(assistantFile, starterAssistant({ ...site, contactUrl: contact }));
  console.log(`Wrote a starter ${shown(assistantFile)}: edit its greeting, starters and instructions.`);
  if (!site.origin) console.log('  Its origins list is empty: add the site(s) that will embed this assistant.');
}

const corpus = corpusSize(assistantDir);
const count = (/** @type {number} */ n) => n.toLocaleString('en-US');
console.log(
  `Corpus: ${count(corpus.files)} pages, ${count(corpus.characters)} characters, about ${count(corpus.tokens)} tokens ` +
    `(characters / 4); the build's limit is ${count(maxTokens)} (KNOWLEDGE_MAX_TOKENS).`,
);
if (corpus.tokens > maxTokens) {
  console.warn(
    `Warning: the corpus is over KNOWLEDGE_MAX_TOKENS (${count(corpus.tokens)} > ${count(maxTokens)}): the build will refuse it. ` +
      'Lower --max-pages, remove pages from the folder, or raise KNOWLEDGE_MAX_TOKENS at build time.',
  );
}
process.exit(failed.length > 0 ? 1 : 0);

/**
 * An address's path and query, what its file name is made from.
 * @param {string} href
 */
function pathAndQuery(href) {
  const url = new URL(href);
  return url.pathname + url.search;
}
