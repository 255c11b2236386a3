// @ts-check
/**
 * Writes `assistants/<name>/knowledge/`, for `npm run knowledge`: one Markdown file per
 * page, named from its address, written only when its bytes change; and the files an
 * earlier run of the same input wrote for pages that are gone, removed.
 *
 * Which files the command owns is kept in `assistants/<name>/.knowledge.json`, by source
 * (a site's origin, or a folder's path relative to `--root`):
 * `{ "sources": { "https://example.com": ["index.md", …] } }`. A `.md` file it does not
 * list (written by hand, or from another source) is never changed or removed, and its
 * name is never reused.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueFileNames } from './file-names.mjs';

/** The record of owned files, beside `knowledge/`. */
export const MANIFEST = '.knowledge.json';

/**
 * What a write did, by file name; `kept`: the files of pages that could not be fetched
 * this time, left as they were.
 * @typedef {{ added: string[], changed: string[], unchanged: string[], kept: string[], removed: string[] }} WriteReport
 * @typedef {{ url: string, title: string, markdown: string, stem: string }} KnowledgePage
 */

/**
 * Writes the pages of one source into an assistant's knowledge folder.
 * @param {string} assistantDir `assistants/<name>`
 * @param {string} source the site's origin or the folder's path, as the manifest names it
 * @param {KnowledgePage[]} pages
 * @param {{ url: string, stem: string }[]} failed pages that could not be fetched: their files stay
 * @returns {WriteReport}
 */
export function writeKnowledge(assistantDir, source, pages, failed = []) {
  const dir = join(assistantDir, 'knowledge');
  mkdirSync(dir, { recursive: true });
  const manifestPath = join(assistantDir, MANIFEST);
  const manifest = readManifest(manifestPath);
  const owned = new Set(manifest.sources[source] ?? []);
  const existing = markdownFiles(dir);
  const taken = new Set(existing.filter((name) => !owned.has(name)));

  // Names depend only on the set of addresses: the same site gives the same names.
  const entries = [...pages.map((page) => ({ page, url: page.url, stem: page.stem })), ...failed.map((f) => ({ page: null, ...f }))];
  entries.sort((a, b) => compare(a.url, b.url));
  const names = uniqueFileNames(entries.map((entry) => entry.stem), taken);

  /** @type {WriteReport} */
  const report = { added: [], changed: [], unchanged: [], kept: [], removed: [] };
  /** @type {string[]} */
  const nowOwned = [];
  entries.forEach(({ page }, i) => {
    const name = names[i];
    const path = join(dir, name);
    const before = existsSync(path) ? readFileSync(path, 'utf8') : null;
    if (!page) {
      if (before !== null && owned.has(name)) {
        report.kept.push(name);
        nowOwned.push(name);
      }
      return;
    }
    const text = renderPage(page);
    if (before === text) report.unchanged.push(name);
    else {
      writeFileSync(path, text);
      (before === null ? report.added : report.changed).push(name);
    }
    nowOwned.push(name);
  });

  const keep = new Set(nowOwned);
  for (const name of [...owned].sort(compare)) {
    if (keep.has(name) || !existing.includes(name)) continue;
    unlinkSync(join(dir, name));
    report.removed.push(name);
  }

  if (nowOwned.length > 0) manifest.sources[source] = nowOwned.sort(compare);
  else delete manifest.sources[source];
  writeIfChanged(manifestPath, renderManifest(manifest));
  for (const names of Object.values(report)) names.sort(compare);
  return report;
}

/**
 * A knowledge file: front matter with `url` and `title` as JSON strings (valid YAML), a
 * blank line, the page's Markdown, one final newline.
 * @param {{ url: string, title: string, markdown: string }} page
 */
export function renderPage({ url, title, markdown }) {
  return `---\nurl: ${JSON.stringify(url)}\ntitle: ${JSON.stringify(title || url)}\n---\n\n${markdown}\n`;
}

/**
 * The size of an assistant's whole knowledge folder (every `.md` file in it, front matter
 * included): its characters (UTF-16 code units, JavaScript's `length`) and the estimate
 * the build checks, characters / 4 rounded up.
 * @param {string} assistantDir
 */
export function corpusSize(assistantDir) {
  const dir = join(assistantDir, 'knowledge');
  const files = existsSync(dir) ? markdownFiles(dir) : [];
  const characters = files.reduce((sum, name) => sum + readFileSync(join(dir, name), 'utf8').length, 0);
  return { files: files.length, characters, tokens: Math.ceil(characters / 4) };
}

/** @param {string} dir */
function markdownFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => entry.name)
    .sort(compare);
}

/**
 * @param {string} path
 * @returns {{ sources: Record<string, string[]> }}
 */
function readManifest(path) {
  if (!existsSync(path)) return { sources: {} };
  const data = JSON.parse(readFileSync(path, 'utf8'));
  /** @type {Record<string, string[]>} */
  const sources = {};
  for (const [source, files] of Object.entries(data?.sources ?? {})) {
    if (Array.isArray(files)) sources[source] = files.filter((name) => typeof name === 'string' && /^[^/\\]+\.md$/.test(name));
  }
  return { sources };
}

/** @param {{ sources: Record<string, string[]> }} manifest */
function renderManifest(manifest) {
  const sources = Object.fromEntries(Object.keys(manifest.sources).sort(compare).map((key) => [key, manifest.sources[key]]));
  return `${JSON.stringify({ sources }, null, 2)}\n`;
}

/**
 * @param {string} path
 * @param {string} text
 */
function writeIfChanged(path, text) {
  if (!existsSync(path) || readFileSync(path, 'utf8') !== text) writeFileSync(path, text);
}

/**
 * Code-unit order: the same on every machine, whatever its locale.
 * @param {string} a
 * @param {string} b
 */
function compare(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
