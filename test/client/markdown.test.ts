import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMarkdown, type Block, type Inline } from '../../src/widget/markdown.js';

/**
 * The widget's Markdown parser, in Node (no DOM): the tree renderMarkdown
 * builds nodes from. Chat answers are rendered as they stream in, so every
 * prefix of an answer has to parse too.
 */

const text = (text: string): Inline => ({ type: 'text', text });
const p = (...children: Inline[]): Block => ({ type: 'paragraph', children });
const item = (...children: Inline[]): Block[] => [p(...children)];
const link = (href: string, label: string): Inline => ({ type: 'link', href, children: [text(label)] });
const br: Inline = { type: 'break' };
/** The inline content of a one-paragraph text. */
const inline = (source: string) => {
  const blocks = parseMarkdown(source);
  expect(blocks).toHaveLength(1);
  expect(blocks[0].type).toBe('paragraph');
  return (blocks[0] as Extract<Block, { type: 'paragraph' }>).children;
};

describe('parseMarkdown', () => {
  describe('paragraphs and headings', () => {
    it('splits paragraphs on blank lines', () => {
      expect(parseMarkdown('One.\n\n\nTwo.\n \nThree.')).toStrictEqual([p(text('One.')), p(text('Two.')), p(text('Three.'))]);
    });

    it('turns a single newline inside a paragraph into a line break', () => {
      expect(parseMarkdown('line one\n  line two  \r\nline three')).toStrictEqual([
        p(text('line one'), br, text('line two'), br, text('line three')),
      ]);
    });

    it('parses ATX headings of levels 1 to 6, with optional closing hashes', () => {
      expect(parseMarkdown('# One\n## Two **bold** ##\n###### Six\n####### seven\n#hashtag')).toStrictEqual([
        { type: 'heading', level: 1, children: [text('One')] },
        { type: 'heading', level: 2, children: [text('Two '), { type: 'strong', children: [text('bold')] }] },
        { type: 'heading', level: 6, children: [text('Six')] },
        p(text('####### seven'), br, text('#hashtag')),
      ]);
    });

    it('ends a paragraph at a heading, list, quote, fence or rule without a blank line', () => {
      expect(parseMarkdown('Intro:\n- a\n\nText\n# H\nMore\n> q\nEnd\n```\nx\n```\nLast\n***')).toStrictEqual([
        p(text('Intro:')),
        { type: 'list', ordered: false, start: 1, items: [item(text('a'))] },
        p(text('Text')),
        { type: 'heading', level: 1, children: [text('H')] },
        p(text('More')),
        { type: 'quote', children: [p(text('q'), br, text('End'))] },
        { type: 'code', lang: '', text: 'x', open: false },
        p(text('Last')),
        { type: 'rule' },
      ]);
    });

    it('parses an empty text as no blocks', () => {
      expect(parseMarkdown('')).toStrictEqual([]);
      expect(parseMarkdown('\n  \n')).toStrictEqual([]);
    });
  });

  describe('inline formatting', () => {
    it('parses bold, italic, strikethrough and inline code', () => {
      expect(inline('**b** __b__ *i* _i_ ~~d~~ `c`')).toStrictEqual([
        { type: 'strong', children: [text('b')] },
        text(' '),
        { type: 'strong', children: [text('b')] },
        text(' '),
        { type: 'em', children: [text('i')] },
        text(' '),
        { type: 'em', children: [text('i')] },
        text(' '),
        { type: 'del', children: [text('d')] },
        text(' '),
        { type: 'code', text: 'c' },
      ]);
    });

    it('nests emphasis inside strong and strong inside emphasis', () => {
      expect(inline('**bold _and italic_** *it **and bold** too* ***both***')).toStrictEqual([
        { type: 'strong', children: [text('bold '), { type: 'em', children: [text('and italic')] }] },
        text(' '),
        { type: 'em', children: [text('it '), { type: 'strong', children: [text('and bold')] }, text(' too')] },
        text(' '),
        { type: 'strong', children: [{ type: 'em', children: [text('both')] }] },
      ]);
    });

    it('does not italicise underscores inside words', () => {
      expect(inline('call snake_case_name or my_var_ here')).toStrictEqual([text('call snake_case_name or my_var_ here')]);
    });

    it('keeps markers that do not open or close anything as text', () => {
      expect(inline('2 * 3 * 4, a ~ b, ** x **, ****')).toStrictEqual([text('2 * 3 * 4, a ~ b, ** x **, ****')]);
    });

    it('keeps inline code verbatim: no formatting, no escapes, no HTML', () => {
      expect(inline('`**not bold** \\* <b>` ``a ` b`` ` x `')).toStrictEqual([
        { type: 'code', text: '**not bold** \\* <b>' },
        text(' '),
        { type: 'code', text: 'a ` b' },
        text(' '),
        { type: 'code', text: 'x' },
      ]);
    });

    it('does not close emphasis inside inline code', () => {
      expect(inline('*a `b*` c*')).toStrictEqual([{ type: 'em', children: [text('a '), { type: 'code', text: 'b*' }, text(' c')] }]);
    });

    it('turns backslash-escaped punctuation into the literal character', () => {
      expect(inline('\\*not italic\\* \\_no\\_ \\`tick\\` \\[no](link) \\\\ \\a')).toStrictEqual([
        text('*not italic* _no_ `tick` [no](link) \\ \\a'),
      ]);
    });

    it('keeps raw HTML as text', () => {
      expect(inline('<img src=x onerror=alert(1)> <script>alert(1)</script> &amp;')).toStrictEqual([
        text('<img src=x onerror=alert(1)> <script>alert(1)</script> &amp;'),
      ]);
    });
  });

  describe('code blocks', () => {
    it('parses a fenced code block with its language, keeping the content verbatim', () => {
      expect(parseMarkdown('```ts title\nconst a = **b**;\n\n  <script>alert(1)</script>\n# not a heading\n```\nafter')).toStrictEqual([
        { type: 'code', lang: 'ts', text: 'const a = **b**;\n\n  <script>alert(1)</script>\n# not a heading', open: false },
        p(text('after')),
      ]);
    });

    it('parses a ~~~ fence, closed only by a fence of the same kind at least as long', () => {
      expect(parseMarkdown('~~~~python\n```\n~~~\nx\n~~~~~\n')).toStrictEqual([
        { type: 'code', lang: 'python', text: '```\n~~~\nx', open: false },
      ]);
    });

    it('marks a fence whose closing line has not arrived yet as open', () => {
      expect(parseMarkdown('Look:\n```js\nlet a = 1;\n``')).toStrictEqual([
        p(text('Look:')),
        { type: 'code', lang: 'js', text: 'let a = 1;\n``', open: true },
      ]);
      expect(parseMarkdown('```')).toStrictEqual([{ type: 'code', lang: '', text: '', open: true }]);
    });
  });

  describe('lists', () => {
    it('parses an unordered list with -, * and + markers', () => {
      expect(parseMarkdown('- one\n* two\n+ three')).toStrictEqual([
        { type: 'list', ordered: false, start: 1, items: [item(text('one')), item(text('two')), item(text('three'))] },
      ]);
    });

    it('parses an ordered list with its start number', () => {
      expect(parseMarkdown('3. three\n4. **four**\n5) five')).toStrictEqual([
        {
          type: 'list',
          ordered: true,
          start: 3,
          items: [item(text('three')), item({ type: 'strong', children: [text('four')] }), item(text('five'))],
        },
      ]);
    });

    it('nests a list indented by two or more spaces', () => {
      expect(parseMarkdown('- a\n  - a1\n  - a2\n    1. deep\n- b\n\n1. c\n   - c1')).toStrictEqual([
        {
          type: 'list',
          ordered: false,
          start: 1,
          items: [
            [
              p(text('a')),
              {
                type: 'list',
                ordered: false,
                start: 1,
                items: [
                  item(text('a1')),
                  [p(text('a2')), { type: 'list', ordered: true, start: 1, items: [item(text('deep'))] }],
                ],
              },
            ],
            item(text('b')),
          ],
        },
        { type: 'list', ordered: true, start: 1, items: [[p(text('c')), { type: 'list', ordered: false, start: 1, items: [item(text('c1'))] }]] },
      ]);
    });

    it('keeps continuation lines, blank-separated items and code blocks in their item', () => {
      expect(parseMarkdown('1. first\ncontinued\n\n2. second\n   ```sh\n   npm test\n   ```\n\nAfter.')).toStrictEqual([
        {
          type: 'list',
          ordered: true,
          start: 1,
          items: [item(text('first'), br, text('continued')), [p(text('second')), { type: 'code', lang: 'sh', text: 'npm test', open: false }]],
        },
        p(text('After.')),
      ]);
    });

    it('starts a new list when the kind of marker changes', () => {
      expect(parseMarkdown('- a\n1. b')).toStrictEqual([
        { type: 'list', ordered: false, start: 1, items: [item(text('a'))] },
        { type: 'list', ordered: true, start: 1, items: [item(text('b'))] },
      ]);
    });
  });

  describe('quotes and rules', () => {
    it('parses a blockquote, with nested blocks and lazy continuation lines', () => {
      expect(parseMarkdown('> quoted **text**\nlazy\n>\n> - item\n> > inner\n\nout')).toStrictEqual([
        {
          type: 'quote',
          children: [
            p(text('quoted '), { type: 'strong', children: [text('text')] }, br, text('lazy')),
            { type: 'list', ordered: false, start: 1, items: [item(text('item'))] },
            { type: 'quote', children: [p(text('inner'))] },
          ],
        },
        p(text('out')),
      ]);
    });

    it('parses ---, *** and spaced variants as horizontal rules', () => {
      expect(parseMarkdown('---\n\n***\n\n- - -\n___')).toStrictEqual([{ type: 'rule' }, { type: 'rule' }, { type: 'rule' }, { type: 'rule' }]);
    });
  });

  describe('links', () => {
    it('links http, https and mailto URLs, normalised', () => {
      expect(inline('[site](https://Example.com/a?b=1#c) [plain](HTTP://example.com) [mail](mailto:me@example.com) [t](https://x.dev "Title")')).toStrictEqual([
        link('https://example.com/a?b=1#c', 'site'),
        text(' '),
        link('http://example.com/', 'plain'),
        text(' '),
        link('mailto:me@example.com', 'mail'),
        text(' '),
        link('https://x.dev/', 't'),
      ]);
    });

    it('parses formatting in a link label but no link inside a link', () => {
      expect(inline('[**see** https://a.dev](https://b.dev/p_(q))')).toStrictEqual([
        { type: 'link', href: 'https://b.dev/p_(q)', children: [{ type: 'strong', children: [text('see')] }, text(' https://a.dev')] },
      ]);
    });

    it.each([
      '[x](javascript:alert(1))',
      '[x](JAVASCRIPT:alert(1))',
      '[x]( javascript:alert(1))',
      '[x](JavaScript&#58;alert(1))',
      '[x](data:text/html,<script>alert(1)</script>)',
      '[x](vbscript:msgbox)',
      '[x](/relative/path)',
      '[x](relative.html)',
      '[x](//evil.example)',
      '[x](file:///etc/passwd)',
      '[x](https://)',
      '[x]()',
    ])('shows %s as its own source text', (source) => {
      expect(inline(source)).toStrictEqual([text(source)]);
    });

    it('autolinks bare URLs, leaving trailing punctuation and unbalanced parentheses outside', () => {
      expect(inline('See https://example.com/docs. Or (https://en.wikipedia.org/wiki/Foo_(bar)), "https://x.dev/a_b"!')).toStrictEqual([
        text('See '),
        link('https://example.com/docs', 'https://example.com/docs'),
        text('. Or ('),
        link('https://en.wikipedia.org/wiki/Foo_(bar)', 'https://en.wikipedia.org/wiki/Foo_(bar)'),
        text('), "'),
        link('https://x.dev/a_b', 'https://x.dev/a_b'),
        text('"!'),
      ]);
    });

    it('autolinks only at the start of a word and only with a host', () => {
      expect(inline('xhttps://a.dev https:// javascript://x')).toStrictEqual([text('xhttps://a.dev https:// javascript://x')]);
    });
  });

  describe('streaming', () => {
    it('keeps an unclosed marker or half a link as literal text', () => {
      expect(inline('**bold _it')).toStrictEqual([text('**bold _it')]);
      expect(inline('some `code')).toStrictEqual([text('some `code')]);
      expect(inline('~~gone')).toStrictEqual([text('~~gone')]);
      expect(inline('read [the docs](htt')).toStrictEqual([text('read [the docs](htt')]);
      expect(inline('**done** and *half')).toStrictEqual([{ type: 'strong', children: [text('done')] }, text(' and *half')]);
    });

    const sample = [
      '# Setting up **gemini-edge**',
      '',
      'You need *Node 20* and a key from [AI Studio](https://aistudio.google.com/app/apikey).',
      'Then run:',
      '',
      '```sh',
      'npm install && npm run dev # <script>alert(1)</script>',
      '```',
      '',
      '1. Copy `.dev.vars.example`',
      '2. Set __GEMINI_API_KEY__',
      '   - locally ~~not~~ in `.dev.vars`',
      '   - in production via `wrangler secret put`',
      '',
      '> **Note:** never send the key to the browser \\*ever\\*.',
      '',
      '---',
      '',
      'Docs: https://developers.cloudflare.com/workers/ (see [here](javascript:alert(1))) <img src=x onerror=alert(1)>',
    ].join('\n');

    it('parses every prefix of a rich answer without throwing', () => {
      for (let n = 0; n <= sample.length; n++) {
        const blocks = parseMarkdown(sample.slice(0, n));
        expect(Array.isArray(blocks)).toBe(true);
      }
      expect(parseMarkdown(sample).map((b) => b.type)).toStrictEqual(['heading', 'paragraph', 'code', 'list', 'quote', 'rule', 'paragraph']);
    });

    it('never links anything but http, https or mailto in any prefix', () => {
      const hrefs = (nodes: (Block | Inline)[]): string[] =>
        nodes.flatMap((node) => [
          ...(node.type == 'link' ? [node.href] : []),
          ...('children' in node ? hrefs(node.children) : []),
          ...('items' in node ? hrefs(node.items.flat()) : []),
        ]);
      for (let n = 0; n <= sample.length; n++) {
        for (const href of hrefs(parseMarkdown(sample.slice(0, n)))) expect(href).toMatch(/^(https?:\/\/|mailto:)/);
      }
    });

    it('stays fast on text full of unclosed markers and deep nesting', () => {
      const started = performance.now();
      for (const source of ['*a '.repeat(5000), '_a '.repeat(5000), '[' + 'a'.repeat(50_000), `https://x${')'.repeat(20_000)}`, '> '.repeat(5000) + 'x']) {
        expect(parseMarkdown(source).length).toBeGreaterThan(0);
      }
      expect(performance.now() - started).toBeLessThan(2000);
    });
  });

  it('its source never builds HTML from strings or sets inline styles', () => {
    const source = readFileSync(new URL('../../src/widget/markdown.ts', import.meta.url), 'utf8');
    for (const banned of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'DOMParser', 'document.write', "'style'", '"style"']) {
      expect(source).not.toContain(banned);
    }
  });
});
