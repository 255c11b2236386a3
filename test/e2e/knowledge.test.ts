import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAssistants } from '../../scripts/assistants.mjs';
import { parseRobots } from '../../scripts/knowledge/robots.mjs';
import { stemFor } from '../../scripts/knowledge/file-names.mjs';
import { CHROME_MARKS, startStaticSite, type StaticSite } from './static-site';

/**
 * `npm run knowledge` (scripts/knowledge.mjs) as an owner runs it, as a child process,
 * against a small static site this file serves on 127.0.0.1, writing into a scratch
 * `--root` (never into the repository).
 *
 * "Another host" is a second server on another port: an origin is scheme, host and port,
 * and robots.txt rules one origin only (RFC 9309 §2.3), so another port is another site.
 * The site also links to itself as `localhost`, another host name for the same server:
 * the recorded Host headers show that the crawler never followed it.
 */

const repository = fileURLToPath(new URL('../..', import.meta.url));

let other: StaticSite;
let site: StaticSite;
let scratch: string;

beforeAll(async () => {
  other = await startStaticSite('http://127.0.0.1:9');
  site = await startStaticSite(other.url);
  scratch = mkdtempSync(join(tmpdir(), 'knowledge-test-'));
});

afterAll(async () => {
  await site?.close();
  await other?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the command with these arguments, writing under `root`. */
function knowledge(root: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/knowledge.mjs', ...args, '--root', root], {
      cwd: repository,
      env: { ...process.env, KNOWLEDGE_MAX_TOKENS: '', INIT_CWD: repository, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), 50_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every file under `dir`, by relative path, with its bytes. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return files;
}

/** A knowledge file's front matter fields and body. */
function parseKnowledgeFile(text: string): { url: string; title: string; body: string } {
  const match = /^---\nurl: (".*")\ntitle: (".*")\n---\n\n([\s\S]*)$/.exec(text);
  if (!match) throw new Error(`not a knowledge file:\n${text}`);
  return { url: JSON.parse(match[1]), title: JSON.parse(match[2]), body: match[3] };
}

/** An empty folder of its own for one run's `--root`. */
function freshRoot(label: string): string {
  return mkdtempSync(join(scratch, `${label}-`));
}

describe('npm run knowledge <name> <site URL>', () => {
  let root: string;
  let first: Run;
  let files: Record<string, string>;

  beforeAll(async () => {
    root = freshRoot('site');
    site.requests.length = 0;
    other.requests.length = 0;
    first = await knowledge(root, ['acme', `${site.url}/`]);
    files = snapshot(join(root, 'assistants', 'acme'));
  });

  it('writes one file per allowed page of the site, named from its path', () => {
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(Object.keys(files).filter((path) => path.startsWith('knowledge/'))).toEqual([
      'knowledge/contact.md',
      'knowledge/docs--install.md',
      'knowledge/index.md',
      'knowledge/pricing.md',
      'knowledge/private--open.md',
    ]);
  });

  it('reads the sitemap index, and skips the disallowed page, the other hosts, redirects to them, duplicates and what is not HTML, saying so', () => {
    expect(first.stdout).toContain(`pages found through the site's sitemap ${site.url}/sitemap.xml`);
    expect(first.stdout).toContain(`skipped, robots.txt disallows it: ${site.url}/private/secret`);
    expect(first.stdout).toContain(`skipped, another host (sitemap entry): ${other.url}/sitemap.xml`);
    expect(first.stdout).toContain(`skipped, another host (sitemap entry): ${other.url}/elsewhere`);
    expect(first.stdout).toContain(`skipped: ${site.url}/notes.txt (not HTML: text/plain)`);
    expect(first.stdout).toContain(`skipped: ${site.url}/old-home (the same page as ${site.url}/)`);
    expect(first.stdout).toContain(`skipped: ${site.url}/partner (redirects to another host: ${other.url}/partner)`);
    expect(site.requests.map((r) => r.path)).not.toContain('/private/secret');
    expect(site.requests.filter((r) => !r.host.startsWith('127.0.0.1:'))).toEqual([]);
    expect(other.requests).toEqual([]);
    expect(Object.values(files).join('\n')).not.toContain('SECRET-MARK');
  });

  it('puts each page’s URL and <title> in its front matter', () => {
    const pages = Object.entries(files)
      .filter(([path]) => path.startsWith('knowledge/'))
      .map(([path, text]) => [path, parseKnowledgeFile(text)] as const);
    expect(pages.map(([path, { url, title }]) => [path, url, title])).toEqual([
      ['knowledge/contact.md', `${site.url}/contact`, 'Contact us'],
      ['knowledge/docs--install.md', `${site.url}/docs/install`, 'Install the widget'],
      ['knowledge/index.md', `${site.url}/`, 'Acme — Widgets for everyone'],
      ['knowledge/pricing.md', `${site.url}/pricing`, 'Pricing | Acme'],
      ['knowledge/private--open.md', `${site.url}/private/open`, 'Open'],
    ]);
  });

  it('keeps the main content as clean Markdown: no navigation, header, footer, form, script or style', () => {
    for (const [path, text] of Object.entries(files).filter(([p]) => p.startsWith('knowledge/'))) {
      for (const mark of CHROME_MARKS) expect(text, `${path} holds ${mark}`).not.toContain(mark);
      expect(text, path).not.toMatch(/<\/?[a-z][^>]*>/i);
    }
    expect(parseKnowledgeFile(files['knowledge/pricing.md']).body).toBe(
      ['# Pricing', '', 'Every plan includes support.', '', '| Plan | Price |', '| --- | --- |', '| Free | $0  |', '| Pro | $10 a month |', ''].join('\n'),
    );
  });

  it('keeps headings, lists, code blocks and links, with absolute URLs', () => {
    const home = parseKnowledgeFile(files['knowledge/index.md']).body;
    expect(home).toContain('# Widgets for everyone');
    expect(home).toContain('- Fast delivery\n- Two-year warranty');
    expect(home).toContain(`[install guide](${site.url}/docs/install)`);
    expect(home).toContain(`[our partner](${other.url}/partner)`);
    const install = parseKnowledgeFile(files['knowledge/docs--install.md']).body;
    expect(install).toContain('```sh\nnpm install acme-widget\nacme init --yes\n```');
    expect(install).toContain(`[the plans](${site.url}/pricing)`);
  });

  it('finds the content of a page without <main> (Readability)', () => {
    const contact = parseKnowledgeFile(files['knowledge/contact.md']).body;
    expect(contact).toContain('Write to hello@acme.example');
    expect(contact).not.toContain('Related reading');
  });

  it('writes a starter assistant.md with the site’s origin, a greeting, starters and the rules on citations', () => {
    const assistant = files['assistant.md'];
    expect(assistant).toMatch(new RegExp(`^---\\norigins:\\n  - "${site.url}"\\ngreeting: "[^"]+"\\nstarters:\\n(  - "[^"]+"\\n)+---\\n\\n`));
    expect(assistant).toContain('Cite the pages you use by their numbers, as [1], [2], right after the sentence each one supports.');
    expect(assistant).toContain(`If the pages do not answer the question, say you don't know and point to the site's contact page (${site.url}/contact).`);
    expect(first.stdout).toContain('Wrote a starter assistants/acme/assistant.md');
  });

  it('writes an assistant the build takes as it is: the starter and every page pass scripts/assistants.mjs', () => {
    const [assistant] = loadAssistants(join(root, 'assistants'));
    expect(assistant!.name).toBe('acme');
    expect(assistant!.origins).toEqual([new URL(site.url).origin]);
    expect(assistant!.knowledge.length).toBe(Object.keys(files).filter((f) => f.startsWith('knowledge/')).length);
    expect(assistant!.knowledge.length).toBeGreaterThan(1);
    expect(assistant!.knowledge.every((page) => page.url.startsWith(site.url))).toBe(true);
  });

  it('prints the corpus’s token estimate: characters / 4, rounded up, with the page count and the limit', () => {
    const characters = Object.entries(files)
      .filter(([path]) => path.startsWith('knowledge/'))
      .reduce((sum, [, text]) => sum + text.length, 0);
    const tokens = Math.ceil(characters / 4);
    expect(first.stdout).toContain(
      `Corpus: 5 pages, ${characters.toLocaleString('en-US')} characters, about ${tokens.toLocaleString('en-US')} tokens (characters / 4); ` +
        "the build's limit is 250,000 (KNOWLEDGE_MAX_TOKENS).",
    );
  });

  it('writes byte-identical files on a second run of the unchanged site', async () => {
    const second = await knowledge(root, ['acme', `${site.url}/`]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('assistants/acme/knowledge/: 5 pages (0 new, 0 changed, 5 unchanged)');
    expect(second.stdout).not.toContain('starter');
    expect(snapshot(join(root, 'assistants', 'acme'))).toEqual(files);
  });

  it('on a re-run, removes the files of pages that are gone and rewrites changed ones, leaving other files and assistant.md alone', async () => {
    const dir = join(root, 'assistants', 'acme');
    writeFileSync(join(dir, 'knowledge', 'faq.md'), '---\nurl: "https://acme.example/faq"\ntitle: "FAQ"\n---\n\nWritten by hand.\n');
    writeFileSync(join(dir, 'assistant.md'), 'edited by the owner\n');
    const saved = new Map(site.pages);
    const pricing = site.pages.get('/pricing');
    site.pages.set('/private/open', null);
    site.pages.set('/pricing', pricing!.replace('Every plan includes support.', 'Every plan includes email support.'));
    try {
      const run = await knowledge(root, ['acme', `${site.url}/`]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('changed: pricing.md');
      expect(run.stdout).toContain('removed (their pages are gone): private--open.md');
      const after = snapshot(dir);
      expect(Object.keys(after)).toEqual([
        '.knowledge.json',
        'assistant.md',
        'knowledge/contact.md',
        'knowledge/docs--install.md',
        'knowledge/faq.md',
        'knowledge/index.md',
        'knowledge/pricing.md',
      ]);
      expect(after['assistant.md']).toBe('edited by the owner\n');
      expect(after['knowledge/faq.md']).toContain('Written by hand.');
      expect(after['knowledge/pricing.md']).toContain('Every plan includes email support.');
      expect(JSON.parse(after['.knowledge.json'])).toEqual({
        sources: { [site.url]: ['contact.md', 'docs--install.md', 'index.md', 'pricing.md'] },
      });
    } finally {
      site.pages = saved;
    }
  });

  it('keeps the file of a page that fails this time (a 500), and exits with code 1 after writing the others', async () => {
    const dir = join(root, 'assistants', 'acme');
    const before = snapshot(dir);
    const saved = new Map(site.pages);
    site.pages.set('/docs/install', '500');
    try {
      const run = await knowledge(root, ['acme', `${site.url}/`]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`failed: ${site.url}/docs/install (500 Internal Server Error)`);
      expect(run.stdout).toContain('kept from the last run (their pages failed): docs--install.md');
      const after = snapshot(dir);
      expect(after['knowledge/docs--install.md']).toBe(before['knowledge/docs--install.md']);
      expect(JSON.parse(after['.knowledge.json']).sources[site.url]).toContain('docs--install.md');
    } finally {
      site.pages = saved;
    }
  });
});

describe('npm run knowledge <name> <site URL> on a site without a sitemap', () => {
  let root: string;
  let run: Run;

  beforeAll(async () => {
    root = freshRoot('crawl');
    site.sitemap = false;
    site.requests.length = 0;
    other.requests.length = 0;
    try {
      run = await knowledge(root, ['acme', `${site.url}/`]);
    } finally {
      site.sitemap = true;
    }
  });

  it('follows links breadth-first from the start page, on the same host only, as robots.txt allows', () => {
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`pages found through links from ${site.url}/`);
    expect(readdirSync(join(root, 'assistants', 'acme', 'knowledge'))).toEqual([
      'contact.md',
      'docs--install.md',
      'index.md',
      'legal.md',
      'pricing.md',
      'private--open.md',
    ]);
    expect(run.stdout).toContain(`skipped, robots.txt disallows it: ${site.url}/private/secret`);
    expect(run.stdout).toContain(`skipped, links to another host: 127.0.0.1:${other.port} (1 link)`);
    expect(run.stdout).toContain(`skipped, links to another host: localhost:${site.port} (1 link)`);
    expect(site.requests.filter((r) => !r.host.startsWith('127.0.0.1:'))).toEqual([]);
    expect(site.requests.map((r) => r.path)).not.toContain('/private/secret');
    expect(site.requests.map((r) => r.path)).not.toContain('/brochure.pdf');
    expect(other.requests).toEqual([]);
  });

  it('fetches a link with a #fragment once, as its page', () => {
    expect(site.requests.filter((r) => r.path === '/contact')).toHaveLength(1);
  });

  it('tells the owner to use the new address when the start page redirects to another host', async () => {
    const root = freshRoot('crawl-moved');
    site.sitemap = false;
    try {
      const run = await knowledge(root, ['acme', `${site.url}/partner`]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`knowledge: no usable page: ${site.url}/partner redirects to ${other.url}/partner; run again with that address`);
      expect(existsSync(join(root, 'assistants'))).toBe(false);
    } finally {
      site.sitemap = true;
    }
  });

  it('stops at --max-pages, in breadth-first order, and says how many it left', async () => {
    const limited = freshRoot('crawl-limited');
    site.sitemap = false;
    const run = await knowledge(limited, ['acme', `${site.url}/`, '--max-pages', '3']).finally(() => (site.sitemap = true));
    expect(run.code).toBe(0);
    // The start page, then the first links of its navigation in order.
    expect(readdirSync(join(limited, 'assistants', 'acme', 'knowledge'))).toEqual(['docs--install.md', 'index.md', 'pricing.md']);
    expect(run.stdout).toMatch(/stopped at --max-pages 3: \d+ more pages were not fetched/);
  });
});

describe('npm run knowledge <name> <sitemap URL>', () => {
  it('takes the pages the sitemap lists, not those it does not', async () => {
    const root = freshRoot('sitemap');
    const run = await knowledge(root, ['acme', `${site.url}/sitemap-pages.xml`]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`pages found through the sitemap ${site.url}/sitemap-pages.xml`);
    // /legal is linked from every page but not listed.
    expect(readdirSync(join(root, 'assistants', 'acme', 'knowledge'))).toEqual(['contact.md', 'docs--install.md', 'index.md', 'pricing.md', 'private--open.md']);
  });

  it('owns the same files whether the site is given by its sitemap or by its address', async () => {
    const root = freshRoot('sitemap-then-site');
    await knowledge(root, ['acme', `${site.url}/sitemap-pages.xml`]);
    const before = snapshot(join(root, 'assistants', 'acme'));
    const run = await knowledge(root, ['acme', `${site.url}/`]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('5 pages (0 new, 0 changed, 5 unchanged)');
    expect(snapshot(join(root, 'assistants', 'acme'))).toEqual(before);
  });

  it('fails with exit code 1, writing nothing, when the sitemap cannot be read', async () => {
    const root = freshRoot('sitemap-missing');
    const run = await knowledge(root, ['acme', `${site.url}/missing-sitemap.xml`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`could not read the sitemap ${site.url}/missing-sitemap.xml (404 Not Found)`);
    expect(existsSync(join(root, 'assistants'))).toBe(false);
  });
});

describe('npm run knowledge <name> <folder>', () => {
  let input: string;

  beforeAll(() => {
    input = join(scratch, 'folder-input');
    mkdirSync(join(input, 'guide'), { recursive: true });
    mkdirSync(join(input, '.git'));
    writeFileSync(join(input, 'index.md'), '---\ntitle: "Welcome to Acme"\nlayout: home\n---\n\n# Acme\n\nWidgets for everyone.\n');
    writeFileSync(join(input, 'guide', 'setup.md'), 'Intro line.\n\n## Setting up\r\n\r\nRun `acme init`.\r\n');
    writeFileSync(join(input, 'guide', 'moved.md'), '---\nurl: https://elsewhere.example/moved\n---\nMoved here.\n');
    writeFileSync(
      join(input, 'about.html'),
      '<html><head><title>About Acme</title></head><body><nav>NAV-MARK <a href="/">Home</a></nav><main><h1>About</h1><p>See <a href="guide/setup">setup</a>.</p></main><footer>FOOTER-MARK</footer></body></html>',
    );
    writeFileSync(join(input, 'notes.txt'), 'not a page');
    writeFileSync(join(input, '.git', 'HEAD.md'), 'hidden');
  });

  it('reads .md and .html files: title from front matter, first heading or <title>; URL from --base-url', async () => {
    const root = freshRoot('folder');
    const run = await knowledge(root, ['docs-bot', input, '--base-url', 'https://acme.example/docs']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const files = snapshot(join(root, 'assistants', 'docs-bot'));
    expect(Object.keys(files)).toEqual(['.knowledge.json', 'assistant.md', 'knowledge/about.md', 'knowledge/guide--moved.md', 'knowledge/guide--setup.md', 'knowledge/index.md']);
    expect(files['knowledge/index.md']).toBe('---\nurl: "https://acme.example/docs/"\ntitle: "Welcome to Acme"\n---\n\n# Acme\n\nWidgets for everyone.\n');
    expect(files['knowledge/guide--setup.md']).toBe(
      '---\nurl: "https://acme.example/docs/guide/setup"\ntitle: "Setting up"\n---\n\nIntro line.\n\n## Setting up\n\nRun `acme init`.\n',
    );
    expect(parseKnowledgeFile(files['knowledge/guide--moved.md']).url).toBe('https://elsewhere.example/moved');
    expect(files['knowledge/about.md']).toBe(
      '---\nurl: "https://acme.example/docs/about.html"\ntitle: "About Acme"\n---\n\n# About\n\nSee [setup](https://acme.example/docs/guide/setup).\n',
    );
    expect(files['assistant.md']).toContain('origins:\n  - "https://acme.example"\n');
    expect(JSON.parse(files['.knowledge.json'])).toEqual({
      // The input as a path relative to --root.
      sources: { '../folder-input': ['about.md', 'guide--moved.md', 'guide--setup.md', 'index.md'] },
    });

    const again = await knowledge(root, ['docs-bot', input, '--base-url', 'https://acme.example/docs']);
    expect(again.code).toBe(0);
    expect(snapshot(join(root, 'assistants', 'docs-bot'))).toEqual(files);
  });

  it('without --base-url, gives each page a file: URL of its relative path', async () => {
    const root = freshRoot('folder-no-base');
    const run = await knowledge(root, ['docs-bot', input]);
    expect(run.code).toBe(0);
    const dir = join(root, 'assistants', 'docs-bot');
    expect(parseKnowledgeFile(readFileSync(join(dir, 'knowledge', 'guide--setup.md'), 'utf8')).url).toBe('file:guide/setup.md');
    expect(readFileSync(join(dir, 'knowledge', 'about.md'), 'utf8')).toContain('See setup.');
    expect(readFileSync(join(dir, 'assistant.md'), 'utf8')).toContain('origins: []\n');
    expect(run.stdout).toContain('Its origins list is empty');
  });
});

describe('npm run knowledge: usage and limits', () => {
  it.each([
    ['an upper-case name', ['Acme', 'https://acme.example/']],
    ['a name with a space', ['acme docs', 'https://acme.example/']],
    ['a name with a dot', ['acme.docs', 'https://acme.example/']],
    ['a name with an underscore', ['acme_docs', 'https://acme.example/']],
  ])('refuses %s with exit code 2 and a clear message, writing nothing', async (_, args) => {
    const root = freshRoot('bad-name');
    const run = await knowledge(root, args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`the assistant name must be lowercase letters, digits and "-" only (like "help-desk"), got ${JSON.stringify(args[0])}`);
    expect(readdirSync(root)).toEqual([]);
  });

  it.each([
    ['no input', ['acme']],
    ['an unknown option', ['acme', 'https://acme.example/', '--depth', '2']],
    ['a scheme other than http(s)', ['acme', 'ftp://acme.example/']],
    ['a path that is not a folder', ['acme', 'acme.example']],
    ['a --max-pages that is not a whole number', ['acme', 'https://acme.example/', '--max-pages', '2.5']],
  ])('exits with code 2 on %s', async (_, args) => {
    const run = await knowledge(freshRoot('usage'), args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: npm run knowledge');
  });

  it('suggests the scheme for a site given without one', async () => {
    const run = await knowledge(freshRoot('no-scheme'), ['acme', 'acme.example']);
    expect(run.stderr).toContain('https://acme.example');
  });

  it('warns, and still succeeds, when the corpus is over KNOWLEDGE_MAX_TOKENS', async () => {
    const root = freshRoot('over-limit');
    const run = await knowledge(root, ['acme', `${site.url}/pricing`, '--max-pages', '1'], { KNOWLEDGE_MAX_TOKENS: '20' });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("the build's limit is 20 (KNOWLEDGE_MAX_TOKENS)");
    expect(run.stderr).toMatch(/^Warning: the corpus is over KNOWLEDGE_MAX_TOKENS \(\d+ > 20\): the build will refuse it\./);
  });

  it('exits with code 1, writing nothing, when the site cannot be reached', async () => {
    const root = freshRoot('unreachable');
    const run = await knowledge(root, ['acme', 'http://127.0.0.1:9/', '--timeout', '5']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('could not read http://127.0.0.1:9/robots.txt');
    expect(existsSync(join(root, 'assistants'))).toBe(false);
  });
});

describe('robots.txt rules', () => {
  const robots = parseRobots(
    [
      'User-agent: OtherBot',
      'Disallow: /',
      '',
      'User-agent: *',
      'Disallow: /private/',
      'Allow: /private/open',
      'Disallow: /*.pdf$',
      'Disallow: /search?',
      'Allow: /same',
      'Disallow: /same',
      'Sitemap: https://acme.example/sitemap.xml',
    ].join('\n'),
  );
  const allowed = (path: string) => robots.isAllowed(new URL(path, 'https://acme.example'));

  it.each([
    ['/', true],
    ['/private/', false],
    ['/private/secret', false],
    ['/private/open', true],
    ['/private/opening-hours', true],
    ['/files/report.pdf', false],
    ['/files/report.pdf?x=1', true],
    ['/search', true],
    ['/search?q=widgets', false],
    ['/same', true],
  ])('%s is allowed: %s (the longest match wins, Allow on a tie)', (path, expected) => {
    expect(allowed(path)).toBe(expected);
  });

  it('uses the group of our product token over the * group, matched case-insensitively', () => {
    const own = parseRobots('User-agent: *\nDisallow: /\n\nUser-agent: Gemini-Edge-Knowledge\nDisallow: /drafts\n');
    expect(own.isAllowed(new URL('https://acme.example/pricing'))).toBe(true);
    expect(own.isAllowed(new URL('https://acme.example/drafts/1'))).toBe(false);
  });

  it('matches percent-encoded and plain characters alike', () => {
    const encoded = parseRobots('User-agent: *\nDisallow: /caf%C3%A9\nDisallow: /%7Euser\n');
    expect(encoded.isAllowed(new URL('https://acme.example/café'))).toBe(false);
    expect(encoded.isAllowed(new URL('https://acme.example/~user/page'))).toBe(false);
  });

  it('lists its Sitemap lines', () => {
    expect(robots.sitemaps).toEqual(['https://acme.example/sitemap.xml']);
  });
});

describe('knowledge file names', () => {
  it.each([
    ['/', 'index'],
    ['/index.html', 'index'],
    ['/pricing', 'pricing'],
    ['/pricing/', 'pricing'],
    ['/docs/install.html', 'docs--install'],
    ['/docs/index.html', 'docs'],
    ['/Docs/Getting_Started', 'docs--getting-started'],
    ['/blog/caf%C3%A9/?page=2', 'blog--cafe--page-2'],
    ['guide/setup.md', 'guide--setup'],
  ])('%s → %s', (path, stem) => {
    expect(stemFor(path)).toBe(stem);
  });

  it('names a path with no Latin letters by a hash of it, the same on every run', () => {
    expect(stemFor('/%E6%97%A5%E6%9C%AC')).toMatch(/^x[0-9a-f]{8}$/);
    expect(stemFor('/%E6%97%A5%E6%9C%AC')).toBe(stemFor('/%E6%97%A5%E6%9C%AC'));
    expect(stemFor('/%E6%97%A5%E6%9C%AC')).not.toBe(stemFor('/%E4%B8%AD%E6%96%87'));
  });
});
