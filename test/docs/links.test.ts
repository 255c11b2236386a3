import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anchorsIn, brokenLinks, createSlugger, linksIn } from './markdown-links';

/**
 * The README is the front door and docs/ the rooms: every relative link
 * between them, to an image or to a source file, must lead somewhere, and
 * every `#anchor` to a heading that exists.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const pages = ['README.md', ...readdirSync(`${root}docs`).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`)];

describe('the heading slugger', () => {
  it.each([
    ['`streamChat(options)` — one stateless answer', 'streamchatoptions--one-stateless-answer'],
    ['On a static site: the one-line widget', 'on-a-static-site-the-one-line-widget'],
    ['Stored chats (Durable Objects)', 'stored-chats-durable-objects'],
    ['In React: `useGeminiStream`', 'in-react-usegeministream'],
    ['CORS: which sites may call the Worker', 'cors-which-sites-may-call-the-worker'],
    ['snake_case and [a link](x.md) stay', 'snake_case-and-a-link-stay'],
  ])('slugs %j as GitHub does', (heading, slug) => {
    expect(createSlugger()(heading)).toBe(slug);
  });

  it('numbers a repeated heading -1, -2, …', () => {
    const slug = createSlugger();
    expect(['Errors', 'Errors', 'Errors-1', 'Errors'].map(slug)).toEqual(['errors', 'errors-1', 'errors-1-1', 'errors-2']);
  });

  it('takes no heading from a code block', () => {
    expect([...anchorsIn('# Title\n\n```sh\n# a shell comment\n```\n')]).toEqual(['title']);
  });
});

describe('the link checker', () => {
  const sample = [
    '# Sample',
    '',
    'See [the API](api.md#endpoints), [gone](missing.md), [here](#sample), [nowhere](#nowhere),',
    '![a picture](img/missing.png) and <img src="img/there.png" alt="">.',
    '[Far away](https://example.com/x.md#y), [mail](mailto:a@example.com), `[code](missing.md)`.',
    '',
    '```md',
    '[in a block](missing.md)',
    '```',
  ].join('\n');
  const files: Record<string, string> = { '/r/docs/api.md': '# API\n\n## Endpoints\n', '/r/docs/img/there.png': '' };
  const read = (path: string) => files[path] ?? null;

  it('finds the relative links and images, not those in code or with a scheme', () => {
    expect(linksIn(sample).map((link) => link.target)).toEqual(['api.md#endpoints', 'missing.md', '#sample', '#nowhere', 'img/missing.png', 'img/there.png']);
  });

  it('reports a missing file and a missing anchor, with their lines', () => {
    expect(brokenLinks('/r/docs/sample.md', sample, read)).toEqual([
      { file: '/r/docs/sample.md', line: 3, target: 'missing.md', problem: 'no file missing.md' },
      { file: '/r/docs/sample.md', line: 3, target: '#nowhere', problem: 'no heading #nowhere in this file' },
      { file: '/r/docs/sample.md', line: 4, target: 'img/missing.png', problem: 'no file img/missing.png' },
    ]);
  });

  it('reports an anchor missing in another file', () => {
    expect(brokenLinks('/r/docs/x.md', 'See [it](api.md#errors).', read).map((b) => b.problem)).toEqual(['no heading #errors in api.md']);
  });
});

describe('README.md and docs/', () => {
  it('has a docs page for each interface', () => {
    expect(pages.length).toBeGreaterThan(10);
  });

  it.each(pages)('%s: every relative link and image leads to a file, and every #anchor to a heading', (page) => {
    const broken = brokenLinks(`${root}${page}`, readFileSync(`${root}${page}`, 'utf8'));
    expect(broken.map(({ line, target, problem }) => `${page}:${line} ${target}: ${problem}`)).toEqual([]);
  });

  it('the README links every docs page', () => {
    const linked = new Set(linksIn(readFileSync(`${root}README.md`, 'utf8')).map((link) => link.target.replace(/#.*/, '')));
    expect(pages.filter((page) => page !== 'README.md' && !linked.has(page))).toEqual([]);
  });
});
