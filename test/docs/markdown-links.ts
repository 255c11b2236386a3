import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** One relative link or image in a Markdown file, by line. */
export interface MarkdownLink {
  line: number;
  target: string;
}

/** A link whose file or anchor does not exist. */
export interface BrokenLink extends MarkdownLink {
  file: string;
  problem: string;
}

const FENCE = /^\s*(```|~~~)/;

/**
 * The lines of a Markdown text outside fenced code blocks, each with its
 * 1-based number; inside them nothing is a heading or a link.
 */
function proseLines(markdown: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | null = null;
  markdown.split('\n').forEach((text, index) => {
    const opener = FENCE.exec(text)?.[1];
    if (fence) {
      if (opener === fence) fence = null;
    } else if (opener) {
      fence = opener;
    } else {
      out.push({ line: index + 1, text });
    }
  });
  return out;
}

/**
 * A slugger as GitHub's (github-slugger): the heading's text lowercased,
 * every character but letters, digits, marks, `_`, `-` and spaces dropped,
 * each space a `-`; a repeated slug gets `-1`, `-2`, … in order.
 */
export function createSlugger(): (heading: string) => string {
  const seen = new Map<string, number>();
  return (heading) => {
    const text = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link or image heading reads as its text
      .replace(/<[^>]+>/g, '')
      .trim()
      .toLowerCase();
    const base = text.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
    let slug = base;
    let count = seen.get(base) ?? 0;
    while (seen.has(slug)) slug = `${base}-${++count}`;
    seen.set(base, count);
    seen.set(slug, 0);
    return slug;
  };
}

/** The anchors a Markdown text defines: its headings' slugs, and HTML `id`/`name` attributes. */
export function anchorsIn(markdown: string): Set<string> {
  const slug = createSlugger();
  const anchors = new Set<string>();
  for (const { text } of proseLines(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(text);
    if (heading) anchors.add(slug(heading[1]));
    for (const m of text.matchAll(/<[a-z][^>]*\s(?:id|name)="([^"]+)"/gi)) anchors.add(m[1]);
  }
  return anchors;
}

/**
 * Every relative target of a link or image in a Markdown text: inline
 * `[text](target)` and `![alt](target)`, reference definitions
 * `[label]: target`, and HTML `href`/`src`. Code blocks and code spans are
 * skipped; so are targets with a scheme (`https:`, `mailto:`) or `//`.
 */
export function linksIn(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  for (const { line, text } of proseLines(markdown)) {
    const prose = text.replace(/(`+)[\s\S]*?\1/g, 'code');
    const targets = [
      ...[...prose.matchAll(/\]\(\s*<?([^\s)>]*)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)].map((m) => m[1]),
      ...[...prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/g)].map((m) => m[1]),
      ...[...prose.matchAll(/<[a-z][^>]*\s(?:href|src)="([^"]*)"/gi)].map((m) => m[1]),
    ];
    for (const target of targets) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
      links.push({ line, target });
    }
  }
  return links;
}

/**
 * The links of one Markdown file (its text given, its path used to resolve
 * them) whose target file is missing, or whose `#anchor` is not a heading or
 * an HTML id in the target Markdown file. `read` reads a Markdown target.
 */
export function brokenLinks(
  file: string,
  markdown: string,
  read: (path: string) => string | null = readExisting,
): BrokenLink[] {
  const broken: BrokenLink[] = [];
  for (const link of linksIn(markdown)) {
    const hash = link.target.indexOf('#');
    const path = decodeURIComponent(hash < 0 ? link.target : link.target.slice(0, hash));
    const anchor = hash < 0 ? '' : decodeURIComponent(link.target.slice(hash + 1));
    const targetFile = path === '' ? file : join(dirname(file), path);
    const target = path === '' ? markdown : read(targetFile);
    if (target === null) {
      broken.push({ ...link, file, problem: `no file ${relative(dirname(file), targetFile) || targetFile}` });
    } else if (anchor && /\.md$/i.test(targetFile) && !anchorsIn(target).has(anchor)) {
      broken.push({ ...link, file, problem: `no heading #${anchor} in ${path || 'this file'}` });
    }
  }
  return broken;
}

/** A file's text; `''` for a directory or a non-Markdown file that exists; `null` when missing. */
function readExisting(path: string): string | null {
  if (!existsSync(path)) return null;
  return /\.md$/i.test(path) ? readFileSync(path, 'utf8') : '';
}
