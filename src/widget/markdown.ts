/**
 * A tiny Markdown renderer for the chat widget, written by hand on purpose: no
 * library fits the widget's 16 KB gzip budget with sanitising (marked plus
 * DOMPurify alone are ~20 KB gzip). This one never produces an HTML string at
 * all: `parseMarkdown` turns the text into a small tree, and `renderMarkdown`
 * builds DOM nodes from it with createElement and text nodes, so there is
 * nothing to sanitise. Raw HTML in the model's text is shown as text, links
 * are kept only for http:, https: and mailto: URLs, and no inline styles are
 * set (the widget runs under a strict CSP).
 *
 * The text may be cut anywhere (answers are rendered as they stream in): an
 * unclosed inline marker shows as literal text, an unclosed fence is a code
 * block with `open: true`, and nothing throws.
 */

/** Inline content: text runs and the spans that can hold them. */
export type Inline =
  | { type: 'text'; text: string }
  | { type: 'strong'; children: Inline[] }
  | { type: 'em'; children: Inline[] }
  | { type: 'del'; children: Inline[] }
  | { type: 'code'; text: string }
  | { type: 'link'; href: string; children: Inline[] }
  | { type: 'break' };

/** Block content. A list item holds blocks, so lists nest. */
export type Block =
  | { type: 'paragraph'; children: Inline[] }
  | { type: 'heading'; level: 1 | 2 | 3 | 4 | 5 | 6; children: Inline[] }
  | { type: 'code'; lang: string; text: string; open: boolean }
  | { type: 'list'; ordered: boolean; start: number; items: Block[][] }
  | { type: 'quote'; children: Block[] }
  | { type: 'rule' };

const FENCE = /^ {0,3}(`{3,}|~{3,})([^`]*)$/;
const HEAD = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)/;
const LIST = /^( {0,3})([-*+]|\d{1,9}[.)])(?: +|$)(.*)/;
const LINK = /\[((?:\\.|[^\\[\]])*)\]\(\s*([^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+"[^"]*")?\s*\)/y;
const AUTO = /https?:\/\/[^\s<>]+/iy;
/** Deeper nesting than this is shown as plain text, so no input can exhaust the stack. */
const MAX_DEPTH = 16;

const starts = (l: string) => [FENCE, HEAD, RULE, QUOTE, LIST].some((r) => r.test(l));
/** A line that continues the paragraph above it inside a quote or list item. */
const lazy = (l: string, prev?: string) => !!prev?.trim() && !starts(l);
const text = (text: string): Inline => ({ type: 'text', text });
const isWord = (c?: string) => /\w/.test(c || '');

/** The URL, normalised, if it is an absolute http:, https: or mailto: URL; else ''. */
export function safeHref(url: string): string {
  try {
    const u = new URL(url.trim());
    return /^(https?|mailto):$/.test(u.protocol) ? u.href : '';
  } catch {
    return '';
  }
}

/** How many `c` in a row start at `i`. */
function run(s: string, i: number, c: string): number {
  let j = i;
  while (s[j] == c) j++;
  return j - i;
}

/** Where the backtick run of length `n` closing a code span starts, searching from `i`; -1 if none. */
function codeEnd(s: string, i: number, n: number): number {
  for (const m of s.slice(i).matchAll(/`+/g)) if (m[0].length == n) return i + m.index!;
  return -1;
}

/**
 * Where the `d`-long closing delimiter of `c` starts, searching from `from`; -1 if none.
 * `misses` remembers failed searches, so text full of unclosed markers stays linear.
 */
function closer(s: string, from: number, c: string, d: number, misses: Record<string, number>): number {
  if (from >= misses[c + d]) return -1;
  for (let j = from; j < s.length; ) {
    const k = s[j];
    const n = run(s, j, k);
    if (k == '\\') j += 2;
    else if (k == '`') {
      const e = codeEnd(s, j + n, n);
      j = e < 0 ? j + n : e + n;
    } else if (
      k == c &&
      n >= d &&
      j > from &&
      !/\s/.test(s[j - 1]) &&
      !(d == 1 && n == 2) &&
      (c != '_' || !isWord(s[j + n]))
    )
      return j + n - d;
    else j += n;
  }
  return (misses[c + d] = from), -1;
}

function inlines(s: string, depth: number, noLink?: boolean): Inline[] {
  if (depth > MAX_DEPTH) return [text(s)];
  const out: Inline[] = [];
  const misses = {};
  let t = '';
  const push = (n: Inline) => {
    if (t) out.push(text(t));
    t = '';
    out.push(n);
  };
  for (let i = 0, m, e, d, href, u; i < s.length; ) {
    const c = s[i];
    // Only delimiter runs are counted: counting runs of other characters would be quadratic.
    const n = '`*_~'.includes(c) ? run(s, i, c) : 1;
    if (c == '\\' && /[!-/:-@[-`{-~]/.test(s[i + 1])) {
      t += s[i + 1];
      i += 2;
    } else if (c == '\n') {
      push({ type: 'break' });
      i++;
    } else if (c == '`') {
      e = codeEnd(s, i + n, n);
      if (e < 0) {
        t += s.slice(i, (i += n));
      } else {
        const code = s.slice(i + n, e).replace(/\n/g, ' ');
        push({ type: 'code', text: code[0] == ' ' && code.at(-1) == ' ' && code.trim() ? code.slice(1, -1) : code });
        i = e + n;
      }
    } else if (
      '*_~'.includes(c) &&
      (d = n > 1 ? 2 : c == '~' ? 0 : 1) &&
      /\S/.test(s[i + n] || ' ') &&
      (c != '_' || !isWord(s[i - 1])) &&
      (e = closer(s, i + d, c, d, misses)) > 0
    ) {
      push({ type: d == 1 ? 'em' : c == '~' ? 'del' : 'strong', children: inlines(s.slice(i + d, e), depth + 1, noLink) });
      i = e + d;
    } else if (!noLink && c == '[' && ((LINK.lastIndex = i), (m = LINK.exec(s)))) {
      href = safeHref(m[2]);
      if (href) push({ type: 'link', href, children: inlines(m[1], depth + 1, true) });
      else t += m[0];
      i += m[0].length;
    } else if (
      !noLink &&
      /h/i.test(c) &&
      !isWord(s[i - 1]) &&
      ((AUTO.lastIndex = i), (m = AUTO.exec(s))) &&
      (href = safeHref((u = trimUrl(m[0]))))
    ) {
      push({ type: 'link', href, children: [text(u)] });
      i += u.length;
    } else t += s.slice(i, (i += n));
  }
  if (t) out.push(text(t));
  return out;
}

/** A bare URL without the punctuation that more likely ends the sentence around it. */
function trimUrl(u: string): string {
  let n = u.length;
  let unclosed = u.split('(').length - u.split(')').length;
  for (let c; (c = u[n - 1]), /[.,:;!?'"*_~\]]/.test(c) || (c == ')' && unclosed++ < 0); ) n--;
  return u.slice(0, n);
}

function blocks(lines: string[], depth: number): Block[] {
  if (depth > MAX_DEPTH) return [{ type: 'paragraph', children: [text(lines.join('\n'))] }];
  const out: Block[] = [];
  for (let i = 0, m; i < lines.length; ) {
    const l = lines[i];
    if (!l.trim()) i++;
    else if ((m = FENCE.exec(l))) {
      // Closed by a line of only the same fence character, at least as many.
      const f = m[1];
      let j = i;
      let t;
      while (++j < lines.length && !((t = lines[j].trim()).startsWith(f) && t == f[0].repeat(t.length)));
      out.push({ type: 'code', lang: m[2].trim().split(/\s/)[0], text: lines.slice(i + 1, j).join('\n'), open: j == lines.length });
      i = j + 1;
    } else if ((m = HEAD.exec(l))) {
      out.push({ type: 'heading', level: m[1].length as 1, children: inlines(m[2] || '', depth) });
      i++;
    } else if (RULE.test(l)) {
      out.push({ type: 'rule' });
      i++;
    } else if (QUOTE.test(l)) {
      const sub: string[] = [];
      for (; i < lines.length && ((m = QUOTE.exec(lines[i])) || lazy(lines[i], sub.at(-1))); i++) sub.push(m ? m[1] : lines[i]);
      out.push({ type: 'quote', children: blocks(sub, depth + 1) });
    } else if ((m = LIST.exec(l))) {
      const ordered = /\d/.test(m[2]);
      const base = m[1].length;
      const items: string[][] = [];
      let item: string[] = [];
      let width = 0;
      for (; i < lines.length; i++) {
        const l = lines[i];
        const indent = l.search(/\S/);
        let k;
        if (indent < 0) item.push('');
        else if (indent >= base + 2) item.push(l.slice(Math.min(indent, width)));
        else if ((k = LIST.exec(l)) && !RULE.test(l) && /\d/.test(k[2]) == ordered) {
          items.push((item = [k[3]]));
          width = k[0].length - k[3].length;
        } else if (lazy(l, item.at(-1))) item.push(l);
        else break;
      }
      out.push({ type: 'list', ordered, start: ordered ? parseInt(m[2]) : 1, items: items.map((x) => blocks(x, depth + 1)) });
    } else {
      const p = [l.trim()];
      while (++i < lines.length && lines[i].trim() && !starts(lines[i])) p.push(lines[i].trim());
      out.push({ type: 'paragraph', children: inlines(p.join('\n'), depth) });
    }
  }
  return out;
}

/**
 * Parses Markdown (the subset chat answers use) into blocks. Pure: no DOM.
 * Tolerates text cut off anywhere and never throws.
 */
export function parseMarkdown(text: string): Block[] {
  return blocks(text.split(/\r\n?|\n/), 0);
}

/**
 * Renders Markdown as DOM nodes owned by `doc`. The text only ever becomes
 * text nodes: no HTML is parsed, and links are only http:, https: or mailto:.
 */
export function renderMarkdown(text: string, doc: Document = document): DocumentFragment {
  const el = (tag: string, kids: Node[] = [], attrs: Record<string, string> = {}) => {
    const e = doc.createElement(tag);
    for (const a in attrs) e.setAttribute(a, attrs[a]);
    e.append(...kids);
    return e;
  };
  const txt = (s: string) => [doc.createTextNode(s)];
  const inline = (n: Inline): Node =>
    n.type == 'text'
      ? txt(n.text)[0]
      : n.type == 'break'
        ? el('br')
        : n.type == 'code'
          ? el('code', txt(n.text))
          : n.type == 'link'
            ? el('a', n.children.map(inline), { href: n.href, rel: 'noopener noreferrer', target: '_blank' })
            : el(n.type, n.children.map(inline));
  const block = (b: Block): Node => {
    if (b.type == 'paragraph') return el('p', b.children.map(inline));
    if (b.type == 'heading') return el('h' + b.level, b.children.map(inline));
    if (b.type == 'code')
      return el(
        'pre',
        [el('code', txt(b.text), /^[\w+-]+$/.test(b.lang) ? { class: 'language-' + b.lang } : {})],
        b.open ? { class: 'open' } : {},
      );
    if (b.type == 'quote') return el('blockquote', b.children.map(block));
    if (b.type == 'rule') return el('hr');
    const list = el(
      b.ordered ? 'ol' : 'ul',
      // A list item's first paragraph goes straight into the li, as in a tight list.
      b.items.map((item) => el('li', item.flatMap((x, k) => (k || x.type != 'paragraph' ? [block(x)] : x.children.map(inline))))),
    );
    if (b.ordered && b.start != 1) (list as HTMLOListElement).start = b.start;
    return list;
  };
  const f = doc.createDocumentFragment();
  f.append(...parseMarkdown(text).map(block));
  return f;
}
