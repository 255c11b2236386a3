import { openChat, fileRefusal, GeminiEdgeError, type Chat, type StreamEvent, type ToolHandler, type ToolStreamEvent, type UploadProgress } from '../client/index.js';
import { apiUrl } from '../client/http.js';
import type { Source } from '../protocol/events.js';
import type { ChatMessage, Rating } from '../protocol/messages.js';
import { fetchAssistant, type AssistantInfo } from './assistant-info.js';
import { turnstileTokens } from './turnstile.js';
import { citationTargets, linkCitations } from './citations.js';
import { renderMarkdown, safeHref } from './markdown.js';
import { readSettings, type WidgetSettings } from './settings.js';
import { errorText, fileSize, finishNote, format, stringsFrom, type Strings } from './strings.js';
import { STYLES } from './styles.js';

const RTL = /^(ar|fa|he|iw|ur|ps|sd|ug|yi|dv|ckb)(-|$)/i;
const CHAT_ICON = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z';
const CLOSE_ICON = 'M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z';
/** A thumb up; flipped, a thumb down. */
const THUMB = 'M2 10h4v11H2zm6 11h9.5a2 2 0 0 0 2-1.6l1.4-7A2 2 0 0 0 19 10h-5l1-5a2 2 0 0 0-3.6-1.2L8 9z';
const CLIP_ICON = 'M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z';
/** Images every browser shows (HEIC/HEIF become a chip). */
const SHOWN_IMAGE = /^image\/(png|jpeg|webp)$/;
/** Object URLs of the reader's own files: one per file, for its thumbnail and its message. */
const thumbs = new WeakMap<Blob, string>();

/** A file of a message, as the widget shows it. */
interface Attachment {
  name: string;
  type: string;
  size: number;
  /** An object URL, or the Worker's URL of a stored file (`link`: a chip then links to it). */
  src: string;
  link?: boolean;
}

function local(file: File): Attachment {
  let src = thumbs.get(file);
  if (!src) thumbs.set(file, (src = URL.createObjectURL(file)));
  return { name: file.name, type: file.type, size: file.size, src };
}

let sheet: CSSStyleSheet | undefined;

/** Creates an element with a class and text, never parsing HTML. */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function icon(path: string): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const shape = document.createElementNS(ns, 'path');
  shape.setAttribute('d', path);
  svg.append(shape);
  return svg;
}

/** Renders Markdown into `box`, with a Copy button on each code block. */
function fill(view: GeminiChatElement, box: HTMLElement, text: string): void {
  box.replaceChildren(renderMarkdown(text));
  for (const pre of box.querySelectorAll('pre')) pre.append(view.copyButton(pre));
}

/**
 * The model's thought summary, in a disclosure: open under "Thinking…" while
 * the model thinks, then folded to one line the reader can reopen.
 */
class Thoughts {
  readonly node = el('details', 'thoughts live');
  private readonly label = el('summary');
  private readonly body = el('div', 'md');
  private readonly start = performance.now();
  private text = '';
  private shown = '';

  constructor(private readonly view: GeminiChatElement) {
    this.label.textContent = view.strings.thinking;
    // The transcript is a live region: without this, every re-render of the summary, and
    // every reopening of the disclosure, would be read out as new content.
    this.body.setAttribute('aria-live', 'off');
    this.node.open = true;
    this.node.append(this.label, this.body);
  }

  append(text: string): void {
    this.text += text;
  }

  render(): void {
    if (this.shown !== this.text) fill(this.view, this.body, (this.shown = this.text));
  }

  /** Folds the summary: "Thought for N s" when `timed` (N from the first thought to now), else "Thoughts". */
  settle(timed: boolean): void {
    if (!this.node.classList.contains('live')) return;
    const { strings } = this.view;
    const seconds = Math.max(1, Math.round((performance.now() - this.start) / 1000));
    this.label.textContent = timed ? strings.thoughtFor.replace('{seconds}', String(seconds)) : strings.thoughts;
    this.node.classList.remove('live');
    this.node.open = false;
  }
}

/** A tool step as the stream (a call, then its result) or a stored message (`tools`) gives it. */
type Step = { toolCallId: string; name: string; args?: unknown; result?: unknown; error?: string; type?: ToolStreamEvent['type'] };

/** One answer in the transcript: its thoughts, its tool steps, Markdown as it streams, then a note or an error. */
class Answer {
  readonly node = el('div', 'msg model');
  private readonly body = el('div', 'md');
  private thoughts: Thoughts | undefined;
  /** Each tool call's line and arguments, by id, until its result replaces the line. */
  private readonly steps = new Map<string, { line: HTMLDetailsElement; args: unknown }>();
  private text = '';
  private frame = 0;

  /** `timed`: the events arrive as the model writes them, so how long it thought can be told (not a replay). */
  constructor(
    private readonly view: GeminiChatElement,
    private readonly timed = true,
  ) {
    this.node.append(this.body);
  }

  typing(): void {
    const dots = el('span', 'typing');
    dots.setAttribute('role', 'status');
    dots.setAttribute('aria-label', this.view.strings.typing);
    dots.append(el('i'), el('i'), el('i'));
    this.body.replaceChildren(dots);
  }

  /** Adds to the thought summary; the first piece opens the disclosure, in place of the typing dots. */
  think(text: string): void {
    if (!this.thoughts) {
      this.thoughts = new Thoughts(this.view);
      this.node.prepend(this.thoughts.node);
      if (!this.text) this.body.replaceChildren();
    }
    this.thoughts.append(text);
    this.schedule();
  }

  append(text: string): void {
    if (text) this.thoughts?.settle(this.timed);
    this.text += text;
    this.schedule();
  }

  /**
   * A tool step on one line — `⚙ name` and … while it runs, ✓ once it returned, or "failed" —
   * with its arguments and outcome folded under it.
   */
  step(step: Step): void {
    const call = this.steps.get(step.toolCallId);
    const args = step.args ?? call?.args;
    const running = step.type === 'tool-call';
    const line = el('details', 'tool');
    line.append(
      el('summary', '', `⚙ ${step.name} ${running ? '…' : step.error === undefined ? '✓' : this.view.strings.toolFailed}`),
      el('pre', '', JSON.stringify(args ?? {}) + (running ? '' : `\n→ ${step.error ?? JSON.stringify(step.result)}`)),
    );
    // A line the reader opened while the call ran stays open with its result.
    if (call) call.line.replaceWith(Object.assign(line, { open: call.line.open }));
    else this.body.before(line);
    this.steps.set(step.toolCallId, { line, args });
    this.view.scrollToEnd();
  }

  /** Renders at most once a frame: a burst of chunks costs one Markdown pass. */
  private schedule(): void {
    this.frame ||= requestAnimationFrame(() => this.render());
  }

  render(): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.thoughts?.render();
    if (this.text) fill(this.view, this.body, this.text);
    this.view.scrollToEnd();
  }

  end(note: string, sources?: Source[]): void {
    // Still thinking when it ended (no text came): there is no "thought for" to tell.
    this.thoughts?.settle(false);
    this.render();
    if (!this.text) this.body.replaceChildren();
    // Only once the answer is whole: `sources` come with its end.
    if (this.view.cites && sources) linkCitations(this.body, citationTargets(this.text, sources));
    if (note) this.node.append(el('p', 'note', note));
    // The pages a grounded answer came from, as links under the same rules as the Markdown's.
    const links = (sources ?? []).map((s) => ({ title: s.title, href: safeHref(s.url) })).filter((s) => s.href);
    if (links.length) {
      const list = el('ul', 'sources');
      list.setAttribute('aria-label', this.view.strings.sources);
      for (const { title, href } of links) {
        const a = el('a', '', title);
        a.href = href;
        a.rel = 'noopener noreferrer';
        a.target = '_blank';
        const item = el('li');
        item.append(a);
        list.append(item);
      }
      this.node.append(list);
    }
    this.view.scrollToEnd();
  }

  /** Thumbs up and down under a finished answer of the chat (`rating`: the one it has); a second press takes it back. */
  rateable(messageId: number, rating?: Rating): void {
    const box = el('div', 'rate');
    const buttons = (['up', 'down'] as const).map((value) => {
      const button = el('button');
      button.type = 'button';
      button.setAttribute('aria-label', this.view.strings[value === 'up' ? 'good' : 'bad']);
      button.setAttribute('aria-pressed', String(value === rating));
      button.append(icon(THUMB));
      button.onclick = async () => {
        const next = button.getAttribute('aria-pressed') === 'true' ? null : value;
        // A failed rating leaves the buttons as they were.
        if (await this.view.rate(messageId, next)) for (const b of buttons) b.setAttribute('aria-pressed', String(b === button && next !== null));
      };
      return button;
    });
    box.append(...buttons);
    this.node.append(box);
  }

  fail(message: string, retry?: () => void): void {
    this.thoughts?.settle(false);
    this.render();
    if (!this.text) this.body.remove();
    const box = el('p', 'error', message);
    box.setAttribute('role', 'alert');
    if (retry) {
      const button = el('button', 'ghost', this.view.strings.retry);
      button.type = 'button';
      button.onclick = () => {
        this.node.remove();
        retry();
      };
      box.append(button);
    }
    this.node.append(box);
    this.view.scrollToEnd();
  }
}

/**
 * `<gemini-chat>`: a streaming chat with a gemini-edge Worker, in an open
 * shadow root so the host page's CSS cannot reach in and its own cannot leak
 * out. Inline where the page puts the element; floating (a launcher and a
 * panel) when embed.js adds it with `data-mode="floating"`.
 */
export class GeminiChatElement extends HTMLElement {
  /** Settings from the embedding script tag, under the element's own `data-` attributes. */
  static scriptData: DOMStringMap = {};
  static scriptEndpoint = '';
  /** Page-side tool handlers for every `<gemini-chat>` of the page ({@link GeminiChatElement.registerTool}). */
  private static tools = new Map<string, ToolHandler | null>();

  /**
   * Registers the handler of one of the assistant's page-side tools (`runs: page`) for every
   * `<gemini-chat>` of the page, before or after it opens its chat; an element's own
   * `registerTool` wins over it. `null` removes it.
   * @example
   * customElements.whenDefined('gemini-chat').then((GeminiChat) =>
   *   GeminiChat.registerTool('show_section', async ({ section }) => ({ shown: section })));
   */
  static registerTool(name: string, handler: ToolHandler | null): void {
    GeminiChatElement.tools.set(name, handler);
  }

  settings!: WidgetSettings;
  strings!: Strings;
  private built = false;
  private chat: Chat | undefined;
  private opening: Promise<Chat> | undefined;
  /** `GET /api/assistant`, asked once when the element connects (again when that failed on the way). */
  private info: Promise<AssistantInfo> | undefined;
  private about: AssistantInfo | undefined;
  private turn: AbortController | undefined;
  /** With Turnstile on: gets a token, from a challenge in a light-DOM box shown through the panel's `challenge` slot. */
  private tokens: (() => Promise<string>) | undefined;
  private stick = true;
  private readonly root = this.attachShadow({ mode: 'open' });
  private readonly panel = el('section', 'panel');
  private readonly log = el('div', 'log');
  private readonly input = el('textarea');
  private readonly sendButton = el('button', 'primary');
  private readonly stopButton = el('button', 'primary');
  private readonly notice = el('p', 'notice');
  private readonly launcher = el('button', 'launcher');
  /** The files the next message carries, shown in the tray above the input. */
  private files: File[] = [];
  private readonly tray = el('ul', 'tray');
  /** Refused files and upload progress, announced politely. */
  private readonly status = el('p', 'status');
  private readonly attach = el('button', 'ghost attach');
  private readonly picker = el('input');
  private readonly tools = new Map<string, ToolHandler | null>();

  private get floating(): boolean {
    return this.dataset.mode === 'floating';
  }

  /** Whether answers cite pages with `[n]`: a site assistant's do, `default`'s (no pages) do not. */
  get cites(): boolean {
    return !!this.about && this.about.name !== 'default';
  }

  private get storageKey(): string {
    return `gemini-chat:${this.settings.endpoint}`;
  }

  connectedCallback(): void {
    if (this.built) return;
    this.built = true;
    this.settings = readSettings(GeminiChatElement.scriptData, this.dataset, GeminiChatElement.scriptEndpoint);
    this.strings = stringsFrom(this.settings.strings);
    this.build();
    // Before anyone types: the assistant's greeting and starters, or that this site is not served.
    this.assistant().catch(() => {});
    if (!this.floating) void this.restore();
    else if (recall(() => sessionStorage, this.storageKey) === 'open') this.toggle(true);
  }

  private build(): void {
    const { settings, strings } = this;
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLES);
    }
    this.root.adoptedStyleSheets = [sheet];
    // The page's language and direction, unless data-lang names another language.
    const lang = settings.lang ?? document.documentElement.lang;
    const pageDir = settings.lang ? '' : document.documentElement.dir;
    this.panel.lang = lang;
    this.panel.dir = pageDir || (RTL.test(lang) ? 'rtl' : 'ltr');
    // A CSSOM write, which a strict CSP allows (a style attribute would not be).
    if (settings.accent && CSS.supports('color', settings.accent)) this.style.setProperty('--gc-accent', settings.accent);
    this.dataset.position = settings.position;
    this.applyTheme();

    const title = settings.title ?? strings.title;
    const heading = el('h2', '', title);
    const newChat = el('button', 'ghost', strings.newChat);
    newChat.type = 'button';
    newChat.onclick = () => this.startOver();
    const header = el('header');
    header.append(heading, newChat);
    if (this.floating) {
      // Shown only where the panel covers the launcher (narrow screens).
      const close = el('button', 'ghost mobile-close');
      close.type = 'button';
      close.setAttribute('aria-label', strings.close);
      close.append(icon(CLOSE_ICON));
      close.onclick = () => this.toggle(false);
      header.append(close);
    }

    this.log.setAttribute('role', 'log');
    this.log.setAttribute('aria-live', 'polite');
    this.log.setAttribute('aria-label', strings.conversation);
    this.log.onscroll = () => {
      this.stick = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 32;
    };

    this.input.setAttribute('aria-label', strings.message);
    this.input.placeholder = settings.placeholder ?? strings.placeholder;
    this.input.rows = 1;
    this.input.onkeydown = (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    };
    this.input.oninput = () => this.fitInput();
    this.sendButton.type = 'submit';
    this.sendButton.textContent = strings.send;
    this.stopButton.type = 'button';
    this.stopButton.textContent = strings.stop;
    this.stopButton.hidden = true;
    this.stopButton.onclick = () => this.stop();
    const form = el('form');
    form.onsubmit = (event) => {
      event.preventDefault();
      this.submit();
    };
    // A real button for the keyboard and screen readers; the file input stays hidden.
    this.attach.type = 'button';
    this.attach.hidden = true;
    this.attach.setAttribute('aria-label', strings.attach);
    this.attach.append(icon(CLIP_ICON));
    this.attach.onclick = () => this.picker.click();
    this.picker.type = 'file';
    this.picker.multiple = true;
    this.picker.hidden = true;
    this.picker.onchange = () => {
      this.add([...this.picker.files!]);
      this.picker.value = '';
    };
    form.append(this.attach, this.picker, this.input, this.sendButton, this.stopButton);
    this.notice.hidden = true;
    this.tray.hidden = true;
    this.tray.setAttribute('aria-label', strings.attachments);
    this.status.setAttribute('role', 'status');

    this.panel.id = 'panel';
    this.panel.setAttribute('role', this.floating ? 'dialog' : 'region');
    this.panel.setAttribute('aria-label', title);
    this.panel.append(header, this.log, this.notice, this.tray, this.status, Object.assign(el('slot'), { name: 'challenge' }), form);
    this.panel.onkeydown = (event) => {
      if (event.key === 'Escape' && this.floating) this.toggle(false);
    };
    // Pasted images and dropped files join the message, once the Worker said it takes files.
    this.panel.onpaste = (event) => this.take(event, event.clipboardData);
    this.panel.ondragover = (event) => {
      if (this.about?.files && event.dataTransfer?.types.includes('Files')) {
        event.preventDefault();
        this.panel.classList.add('drop');
      }
    };
    this.panel.ondragleave = () => this.panel.classList.remove('drop');
    this.panel.ondrop = (event) => {
      this.panel.classList.remove('drop');
      this.take(event, event.dataTransfer);
    };
    this.showEmpty();

    if (this.floating) {
      this.launcher.type = 'button';
      this.launcher.setAttribute('aria-controls', 'panel');
      this.launcher.onclick = () => this.toggle(!this.hasAttribute('data-open'));
      this.launcher.onkeydown = (event) => {
        if (event.key === 'Escape') this.toggle(false);
      };
      this.panel.hidden = true;
      this.setLauncher(false);
      this.root.append(this.panel, this.launcher);
      this.trackViewport();
    } else {
      this.root.append(this.panel);
    }
  }

  /** theme=auto follows the reader's system, live. */
  private applyTheme(): void {
    const { theme } = this.settings;
    const dark = matchMedia('(prefers-color-scheme: dark)');
    const apply = () => (this.dataset.scheme = theme === 'dark' || (theme === 'auto' && dark.matches) ? 'dark' : 'light');
    apply();
    if (theme === 'auto') dark.addEventListener('change', apply);
  }

  /** On phones the panel fills the screen above the on-screen keyboard (the visual viewport). */
  private trackViewport(): void {
    const viewport = window.visualViewport;
    if (!viewport) return;
    const fit = () => this.style.setProperty('--gc-vh', `${viewport.height}px`);
    viewport.addEventListener('resize', fit);
    fit();
  }

  private setLauncher(open: boolean): void {
    this.launcher.setAttribute('aria-label', open ? this.strings.close : this.strings.open);
    this.launcher.setAttribute('aria-expanded', String(open));
    this.launcher.replaceChildren(icon(open ? CLOSE_ICON : CHAT_ICON));
  }

  /** Opens or closes the floating panel; focus goes into it, and back to the launcher. */
  toggle(open: boolean): void {
    if (!this.floating || open === this.hasAttribute('data-open')) return;
    this.panel.hidden = !open;
    this.toggleAttribute('data-open', open);
    this.setLauncher(open);
    remember(() => sessionStorage, this.storageKey, open ? 'open' : '');
    if (open) {
      this.input.focus();
      if (!this.opening) void this.restore();
    } else {
      this.launcher.focus();
    }
  }

  /** Reopens the stored chat, if this browser has one, and follows an answer still in flight. */
  private async restore(): Promise<void> {
    const id = recall(() => localStorage, this.storageKey);
    if (!id) return;
    const chat = await this.connect(id);
    if (!chat || chat.messages.length === 0) return;
    this.log.replaceChildren();
    const last = chat.messages.at(-1)!;
    const inFlight = last.role === 'model' && last.status === 'streaming';
    for (const message of inFlight ? chat.messages.slice(0, -1) : chat.messages) this.showStored(message);
    this.scrollToEnd(true);
    if (inFlight && !this.turn) {
      // A reload in the middle of an answer: follow it, from its start.
      const turn = this.begin();
      // The turn is replayed from its start: its thoughts arrive at once, so how long they took is unknown.
      const answer = new Answer(this, false);
      answer.typing();
      this.log.append(answer.node);
      await this.follow(turn, answer, (signal) => chat.resume({ signal, onToolEvent: (event) => answer.step(event) }));
    }
  }

  /** The assistant that answers this page; a refusal (403, or 404 for an unknown `data-assistant`) is shown at once. */
  private assistant(): Promise<AssistantInfo> {
    return (this.info ??= fetchAssistant(this.settings.endpoint, this.settings.assistant).then(
      (info) => {
        this.about = info;
        this.attach.hidden = !info.files;
        this.picker.accept = info.files?.types.join() ?? '';
        if (!this.log.querySelector('.msg')) this.showEmpty();
        return info;
      },
      (error: GeminiEdgeError) => {
        const refused = error.code === 'origin_not_allowed' || error.code === 'not_found';
        if (refused) this.showNotice(this.strings.notAllowed, true);
        // A network failure is asked again when a chat is opened.
        else this.info = undefined;
        throw refused ? new GeminiEdgeError('origin_not_allowed', error.message) : error;
      },
    ));
  }

  /** Opens the chat (`id`), or creates one; null after telling the reader why not. */
  private async connect(id?: string): Promise<Chat | null> {
    if (this.chat) return this.chat;
    const { endpoint, system, model, assistant } = this.settings;
    // Thoughts are asked for per message (send), not here: a chat created with no body is a simple
    // request (no preflight), and a chat created before thoughts existed shows them too.
    // A site assistant has its own instructions (and refuses a caller's with 400): `data-system`
    // goes only to `default`, so editing it in devtools changes nothing on an assistant's page.
    const opening = (this.opening ??= this.assistant().then((info) =>
      openChat({ endpoint, id, model, assistant, system: info.name === 'default' ? system : undefined, toolHandler: (name) => this.tools.get(name) ?? GeminiChatElement.tools.get(name) ?? undefined, turnstile: info.turnstile && (this.tokens ??= turnstileTokens(this.appendChild(Object.assign(el('div'), { slot: 'challenge' })), info.turnstile)) }),
    ));
    try {
      const chat = await opening;
      // "New chat" while this was opening: the reader has moved on.
      if (this.opening !== opening) return null;
      this.chat = chat;
      remember(() => localStorage, this.storageKey, chat.id);
      return chat;
    } catch (error) {
      if (this.opening !== opening) return null;
      this.opening = undefined;
      const code = error instanceof GeminiEdgeError ? error.code : 'network_error';
      this.showNotice(errorText(this.strings, code, error instanceof Error ? error.message : ''), code === 'origin_not_allowed');
      return null;
    }
  }

  private showNotice(text: string, final: boolean): void {
    this.notice.textContent = text;
    this.notice.hidden = false;
    this.notice.setAttribute('role', 'alert');
    if (final) {
      this.input.disabled = true;
      this.sendButton.disabled = true;
    }
  }

  private submit(): void {
    const text = this.input.value.trim();
    const files = this.files;
    if ((!text && !files.length) || this.turn) return;
    this.input.value = '';
    this.fitInput();
    this.files = [];
    this.tray.replaceChildren();
    this.tray.hidden = true;
    void this.send(text, files);
  }

  /** Like the class's {@link GeminiChatElement.registerTool}, for this element only. */
  registerTool(name: string, handler: ToolHandler | null): void {
    this.tools.set(name, handler);
  }

  /** Files pasted or dropped on the panel join the message (the event's default is then prevented). */
  private take(event: Event, data: DataTransfer | null): void {
    const files = [...(data?.files ?? [])];
    if (!this.about?.files || !files.length) return;
    event.preventDefault();
    this.add(files);
  }

  /**
   * Adds files to the next message: each one the Worker would refuse (too
   * large, empty, a type it does not take, one too many) is refused here
   * instead, before any upload, and the status line says why.
   */
  private add(files: File[]): void {
    const limits = this.about?.files;
    if (!limits) return;
    const { strings } = this;
    const refused: string[] = [];
    for (const file of files) {
      const refusal = fileRefusal(file, limits);
      const values = { name: file.name, max: refusal ? fileSize(limits.maxBytes, this.panel.lang) : limits.maxPerMessage };
      if (refusal) refused.push(format(refusal === 'too_large' ? strings.tooBig : refusal === 'invalid_request' ? strings.empty : strings.badType, values));
      else if (this.files.length >= limits.maxPerMessage) refused.push(format(strings.tooMany, values));
      else {
        this.files.push(file);
        const item = el('li');
        const remove = el('button', 'ghost');
        remove.type = 'button';
        remove.setAttribute('aria-label', format(strings.remove, values));
        remove.append(icon(CLOSE_ICON));
        remove.onclick = () => {
          this.files = this.files.filter((f) => f !== file);
          item.remove();
          this.tray.hidden = !this.files.length;
          this.input.focus();
        };
        item.append(this.attachment(local(file)), remove);
        this.tray.append(item);
      }
    }
    this.tray.hidden = !this.files.length;
    this.say([...new Set(refused)].join(' '));
  }

  private say(text: string): void {
    this.status.textContent = text;
  }

  /** A file in the tray or a message: an image, or a chip with its name and size (a link to a stored file). */
  private attachment({ name, type, size, src, link }: Attachment): HTMLElement {
    if (SHOWN_IMAGE.test(type)) {
      const image = el('img');
      image.src = src;
      image.alt = name;
      return image;
    }
    const chip = el(link ? 'a' : 'span', 'file', name);
    chip.append(el('small', '', fileSize(size, this.panel.lang)));
    if (chip instanceof HTMLAnchorElement) {
      chip.href = src;
      chip.rel = 'noopener noreferrer';
      chip.target = '_blank';
    }
    return chip;
  }

  /** The reader's message in the transcript: its files, then its text. */
  private showUser(text: string, files: Attachment[] = []): void {
    const node = el('div', 'msg user', text);
    if (files.length) {
      const box = el('div', 'files');
      box.append(...files.map((file) => this.attachment(file)));
      node.prepend(box);
    }
    this.log.append(node);
  }

  /** Sends a message (with its files, uploaded first) and streams its answer into the transcript. */
  async send(text: string, files: File[] = []): Promise<void> {
    if (this.turn) return;
    const turn = this.begin();
    this.notice.hidden = true;
    this.say('');
    if (!this.log.querySelector('.msg')) this.log.replaceChildren();
    this.showUser(text, files.map(local));
    const answer = new Answer(this);
    answer.typing();
    this.log.append(answer.node);
    this.scrollToEnd(true);
    const chat = await this.connect(recall(() => localStorage, this.storageKey) ?? undefined);
    if (!chat || turn.signal.aborted) {
      answer.node.remove();
      this.finish(turn);
      return;
    }
    // `hide` says show: false, so a deployment whose SHOW_THOUGHTS is on sends none either.
    const thinking = { show: this.settings.thoughts === 'show' };
    // Announced in steps of 10 %: a screen reader need not hear every byte.
    const onProgress = ({ overallLoaded, overallTotal }: UploadProgress) => {
      const percent = Math.floor((overallLoaded / overallTotal) * 10) * 10;
      this.say(percent < 100 ? format(this.strings.uploading, { percent }) : '');
    };
    // A retry sends the same File objects: the client does not upload them again.
    await this.follow(turn, answer, (signal) => chat.send({ text, files }, { signal, thinking, onProgress, onToolEvent: (event) => answer.step(event) }), () => {
      this.log.lastElementChild?.remove(); // the user's message: send() adds it again
      void this.send(text, files);
    });
  }

  /** An answer starts: Stop is offered, and the transcript is busy, until {@link finish}. */
  private begin(): AbortController {
    this.turn = new AbortController();
    this.setStreaming(true);
    return this.turn;
  }

  private finish(turn: AbortController): void {
    if (this.turn !== turn) return;
    this.turn = undefined;
    this.say('');
    this.setStreaming(false);
  }

  /** Streams one answer's events into `answer`. */
  private async follow(turn: AbortController, answer: Answer, events: (signal: AbortSignal) => AsyncIterable<StreamEvent>, retry?: () => void): Promise<void> {
    let ended = false;
    try {
      for await (const event of events(turn.signal)) {
        if (event.type === 'thought') {
          if (this.settings.thoughts === 'show') answer.think(event.text);
        } else if (event.type === 'text') {
          answer.append(event.text);
        } else if (event.type === 'done') {
          ended = true;
          answer.end(finishNote(this.strings, event.finishReason), event.sources);
          if (event.messageId) answer.rateable(event.messageId);
        } else {
          ended = true;
          if (event.code === 'cancelled') answer.end(this.strings.stopped);
          else answer.fail(errorText(this.strings, event.code, event.message), retry);
        }
      }
    } finally {
      if (!ended) answer.end(this.strings.stopped);
      this.finish(turn);
    }
  }

  /** Stops the answer: the connection closes and the Worker cancels the turn (Gemini is aborted). */
  stop(): void {
    const turn = this.turn;
    if (!turn) return;
    turn.abort();
    void this.chat?.cancel().catch(() => {});
    this.input.focus();
  }

  /** Forgets this conversation (and deletes it on the Worker) and starts an empty one. */
  startOver(): void {
    this.turn?.abort();
    const old = this.chat;
    this.chat = undefined;
    this.opening = undefined;
    remember(() => localStorage, this.storageKey, '');
    void old?.delete().catch(() => {});
    // A site that is not served stays told so.
    if (!this.input.disabled) this.notice.hidden = true;
    this.showEmpty();
    this.input.focus();
  }

  private setStreaming(streaming: boolean): void {
    this.log.setAttribute('aria-busy', String(streaming));
    this.sendButton.hidden = streaming;
    this.stopButton.hidden = !streaming;
    if (!streaming && this.root.activeElement === this.stopButton) this.input.focus();
  }

  /** The empty chat: the greeting and starters of the page (`data-`), else of the assistant. */
  private showEmpty(): void {
    const { greeting = this.about?.greeting, starters = this.about?.starters ?? [] } = this.settings;
    const children: HTMLElement[] = [];
    if (greeting) children.push(el('p', 'greeting', greeting));
    if (starters.length) {
      const list = el('div', 'starters');
      for (const starter of starters) {
        const button = el('button', '', starter);
        button.type = 'button';
        button.onclick = () => void this.send(starter);
        list.append(button);
      }
      children.push(list);
    }
    this.log.replaceChildren(...children);
  }

  private showStored(message: ChatMessage): void {
    if (message.role === 'user') {
      const { endpoint } = this.settings;
      this.showUser(message.text, message.files?.map((f) => ({ ...f, src: apiUrl(endpoint, f.url), link: true })));
      return;
    }
    const answer = new Answer(this, false);
    this.log.append(answer.node);
    if (message.thoughts && this.settings.thoughts === 'show') answer.think(message.thoughts);
    for (const step of message.tools ?? []) answer.step(step);
    answer.append(message.text);
    if (message.status === 'failed') answer.fail(errorText(this.strings, message.error?.code ?? '', message.error?.message ?? ''));
    else if (message.status === 'cancelled') answer.end(this.strings.stopped);
    else {
      answer.end(message.finishReason ? finishNote(this.strings, message.finishReason) : '', message.sources);
      answer.rateable(message.id, message.rating);
    }
  }

  /** Rates an answer of the chat; false when that failed. */
  async rate(messageId: number, rating: Rating | null): Promise<boolean> {
    try {
      await this.chat?.feedback(messageId, rating);
      return !!this.chat;
    } catch {
      return false;
    }
  }

  /** Keeps the newest text in view, unless the reader scrolled up to read. */
  scrollToEnd(force = false): void {
    if (force) this.stick = true;
    if (this.stick) this.log.scrollTop = this.log.scrollHeight;
  }

  copyButton(pre: HTMLPreElement): HTMLButtonElement {
    const button = el('button', 'copy', this.strings.copy);
    button.type = 'button';
    button.onclick = async () => {
      await navigator.clipboard?.writeText(pre.querySelector('code')?.textContent ?? '');
      button.textContent = this.strings.copied;
      setTimeout(() => (button.textContent = this.strings.copy), 1500);
    };
    return button;
  }

  private fitInput(): void {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight + 2, 140)}px`;
  }
}

/** Reads web storage, which may be missing or throw (privacy modes, sandboxed frames). */
function recall(storage: () => Storage, key: string): string | null {
  try {
    return storage().getItem(key);
  } catch {
    return null;
  }
}

/** Writes web storage ('' removes); without it the chat works, it just does not survive a reload. */
function remember(storage: () => Storage, key: string, value: string): void {
  try {
    if (value) storage().setItem(key, value);
    else storage().removeItem(key);
  } catch {
    // See recall.
  }
}
