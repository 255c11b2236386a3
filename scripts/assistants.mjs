#!/usr/bin/env node
// @ts-check
/**
 * Bundles the site assistants into the Worker: reads `assistants/<name>/assistant.md` and
 * `assistants/<name>/knowledge/*.md`, checks them, and writes them as one TypeScript module
 * (`src/assistants/bundle.generated.ts`, git-ignored) that the Worker imports as `#assistants`.
 * The Worker has no file access at run time: what is not in that module does not exist.
 *
 *   node scripts/assistants.mjs                 assistants/ → src/assistants/bundle.generated.ts
 *   node scripts/assistants.mjs --dir D --out F another folder, another module (the tests' fixtures)
 *   node scripts/assistants.mjs --allow-local-tools  tool endpoints may be http://127.0.0.1 / localhost (development only)
 *
 * A malformed assistant fails with its file and line (exit 1), so a bad edit never deploys.
 * No `assistants/` folder is fine: the module then holds none, and every request gets the
 * built-in default (the Worker as it was before assistants). Formats: docs/assistants.md.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Assistant names: what a folder, a `data-assistant` and `assistant:<name>` may hold. */
export const ASSISTANT_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
/** `default` is the built-in assistant; a folder of that name would shadow it. */
const RESERVED = new Set(['default']);
/** Most estimated tokens (characters / 4) of one assistant's knowledge, unless KNOWLEDGE_MAX_TOKENS says otherwise. */
export const DEFAULT_KNOWLEDGE_MAX_TOKENS = 250_000;
const THINKING_LEVELS = ['minimal', 'low', 'medium', 'high'];
const ASSISTANT_FIELDS = ['origins', 'model', 'models', 'thinking', 'greeting', 'starters', 'allowSystem', 'tools', 'geminiTools'];
/** Gemini's built-in tools an assistant may switch on, named as the request's `tools[]` fields. */
const GEMINI_TOOLS = ['googleSearch', 'urlContext', 'codeExecution'];
const TOOL_FIELDS = ['name', 'description', 'parameters', 'endpoint', 'runs'];
/** A function name as Gemini takes it: a letter or "_" first, then letters, digits, "_", ".", ":", "-", at most 64. */
const TOOL_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
/** Hosts an http:// tool endpoint may have, with `allowLocalTools` (a local test server) only. */
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const PAGE_FIELDS = ['url', 'title'];

/** A problem in an assistant's files, with where it is. */
export class AssistantError extends Error {
  /**
   * @param {string} file
   * @param {number} line 1-based
   * @param {string} message
   */
  constructor(file, line, message) {
    super(`${file}:${line}: ${message}`);
    this.name = 'AssistantError';
  }
}

/**
 * @typedef {object} Page
 * @property {string} url
 * @property {string} title
 * @property {string} text the page as Markdown
 *
 * @typedef {object} AssistantDefinition what the Worker gets (src/assistants/assistant.ts mirrors it)
 * @property {string} name
 * @property {string} instructions
 * @property {string[]} origins
 * @property {string} [model]
 * @property {string[]} models
 * @property {{ level?: string, budget?: number, show?: boolean }} [thinking]
 * @property {string} [greeting]
 * @property {string[]} starters
 * @property {boolean} allowSystem
 * @property {Tool[]} [tools]
 * @property {string[]} [geminiTools] Gemini's built-in tools it switches on (GEMINI_TOOLS)
 * @property {Page[]} knowledge
 *
 * @typedef {object} Tool a function on the owner's HTTPS endpoint, or run by the page (`runs: page`)
 * @property {string} name
 * @property {string} description
 * @property {Record<string, unknown>} [parameters] a JSON Schema object
 * @property {string} [endpoint]
 * @property {'page'} [runs]
 */

/**
 * A Markdown file with a YAML front matter block: its fields (with the line each starts on) and
 * its body.
 * @param {string} file the path shown in errors
 * @param {string} source
 */
function frontMatter(file, source) {
  const text = source.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (!text.startsWith('---\n')) throw new AssistantError(file, 1, 'must start with a YAML front matter block between "---" lines');
  const end = text.indexOf('\n---', 3);
  if (end === -1 || (text[end + 4] !== undefined && text[end + 4] !== '\n')) {
    throw new AssistantError(file, 1, 'the front matter block has no closing "---" line');
  }
  const yamlText = text.slice(4, end + 1);
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, prettyErrors: false });
  // The front matter starts on line 2 of the file.
  const lineOf = (/** @type {number | undefined} */ offset) => (offset === undefined ? 1 : lineCounter.linePos(offset).line + 1);
  if (doc.errors.length) throw new AssistantError(file, lineOf(doc.errors[0].pos[0]), `front matter is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const contents = doc.contents;
  if (contents !== null && !isMap(contents)) throw new AssistantError(file, 2, 'the front matter must be a map of fields');
  /** @type {Map<string, { value: unknown, line: number, node: unknown }>} */
  const fields = new Map();
  for (const pair of contents?.items ?? []) {
    const key = /** @type {any} */ (pair.key);
    const name = String(key?.value ?? key);
    const node = /** @type {any} */ (pair.value);
    fields.set(name, { value: node?.toJSON ? node.toJSON() : node, line: lineOf(key?.range?.[0]), node });
  }
  const bodyStart = end + 4 + (text[end + 4] === '\n' ? 1 : 0);
  const bodyLine = text.slice(0, bodyStart).split('\n').length;
  return { fields, body: text.slice(bodyStart).trim(), bodyLine, lineOf, end: text.slice(0, end + 4).split('\n').length };
}

/**
 * An exact origin: scheme, host and port, as a browser sends it in `Origin`.
 * @param {unknown} value
 */
function isOrigin(value) {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

/**
 * The `tools` field's items, checked: each `{ name, description, parameters?, endpoint }`, names
 * unique, endpoints https (http on this machine only with `allowLocalTools`).
 * @param {string} file
 * @param {any} node the field's YAML node
 * @param {number} fieldLine
 * @param {(offset: number | undefined) => number} lineOf
 * @param {boolean} allowLocalTools
 * @returns {Tool[]}
 */
function parseTools(file, node, fieldLine, lineOf, allowLocalTools) {
  if (!isSeq(node)) throw new AssistantError(file, fieldLine, 'tools must be a list of { name, description, parameters, endpoint | runs: page }');
  /** @type {Tool[]} */
  const tools = [];
  for (const [i, item] of /** @type {any[]} */ (node.items).entries()) {
    const line = lineOf(item?.range?.[0]);
    const value = item?.toJSON ? item.toJSON() : undefined;
    /** @type {(message: string) => never} */
    const fail = (message) => {
      throw new AssistantError(file, line, `tools[${i}]${message}`);
    };
    if (!value || typeof value !== 'object' || Array.isArray(value)) fail(' must be a map: { name, description, parameters, endpoint | runs: page }');
    for (const key of Object.keys(value)) if (!TOOL_FIELDS.includes(key)) fail(`: unknown field "${key}"; allowed: ${TOOL_FIELDS.join(', ')}`);
    const { name, description, parameters, endpoint } = value;
    if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
      fail('.name must be a function name Gemini takes: a letter or "_" first, then letters, digits, "_", ".", ":" or "-", at most 64');
    }
    if (tools.some((t) => t.name === name)) fail(`.name "${name}" is declared twice`);
    if (typeof description !== 'string' || !description.trim()) fail('.description must be a non-empty string: the model reads it to decide when to call the tool');
    if (parameters !== undefined && (!parameters || typeof parameters !== 'object' || Array.isArray(parameters) || (parameters.type !== undefined && parameters.type !== 'object'))) {
      fail('.parameters must be a JSON Schema object ({ type: object, properties: … })');
    }
    if (value.runs !== undefined || endpoint === undefined) {
      // A page-side tool: the page that holds the chat runs it (the widget's chat.registerTool, useChat's onToolCall).
      if (value.runs !== 'page') fail('.runs must be "page" (the page runs the tool), or leave it out and give an https endpoint');
      if (endpoint !== undefined) fail(': a tool runs either in the page (runs: page) or on an endpoint, not both');
      tools.push({ name, description: description.trim(), ...(parameters !== undefined ? { parameters } : {}), runs: 'page' });
      continue;
    }
    /** @type {URL | undefined} */
    let url;
    try {
      url = typeof endpoint === 'string' ? new URL(endpoint) : undefined;
    } catch {
      url = undefined;
    }
    if (!url) fail('.endpoint must be an absolute https URL');
    const local = url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname);
    if (url.protocol !== 'https:' && !(local && allowLocalTools)) {
      fail(
        local
          ? '.endpoint must be https: http://127.0.0.1 and http://localhost are taken only with --allow-local-tools (ASSISTANT_TOOLS_ALLOW_LOCAL=1), for a local test server'
          : '.endpoint must be https: the Worker sends the tool\'s arguments there',
      );
    }
    if (url.username || url.password) fail('.endpoint must not carry credentials: the Worker signs each call (TOOLS_SIGNING_SECRET)');
    tools.push({ name, description: description.trim(), ...(parameters !== undefined ? { parameters } : {}), endpoint: url.href });
  }
  return tools;
}

/**
 * @param {string} file
 * @param {string} name
 * @param {string} source
 * @param {{ allowLocalTools?: boolean }} [options]
 * @returns {Omit<AssistantDefinition, 'knowledge'>}
 */
export function parseAssistant(file, name, source, { allowLocalTools = false } = {}) {
  const { fields, body, bodyLine, lineOf } = frontMatter(file, source);
  for (const [key, { line }] of fields) {
    if (!ASSISTANT_FIELDS.includes(key)) throw new AssistantError(file, line, `unknown field "${key}"; allowed: ${ASSISTANT_FIELDS.join(', ')}`);
  }
  const at = (/** @type {string} */ key) => fields.get(key);
  /**
   * A list field's items, each checked; the line of a bad item is its own.
   * @param {string} key
   * @param {(item: unknown) => boolean} check
   * @param {string} rule
   */
  const list = (key, check, rule) => {
    const field = at(key);
    if (!field) return [];
    if (!isSeq(field.node)) throw new AssistantError(file, field.line, `${key} must be a list`);
    return /** @type {any[]} */ (field.node.items).map((item, i) => {
      const value = item?.toJSON ? item.toJSON() : item?.value;
      if (!check(value)) throw new AssistantError(file, lineOf(item?.range?.[0]), `${key}[${i}] must be ${rule}`);
      return value;
    });
  };
  const text = (/** @type {string} */ key) => {
    const field = at(key);
    if (!field) return undefined;
    if (typeof field.value !== 'string' || !field.value.trim()) throw new AssistantError(file, field.line, `${key} must be a non-empty string`);
    return field.value.trim();
  };

  if (!at('origins')) throw new AssistantError(file, 2, 'origins is required: the exact origins (like "https://example.com") whose pages this assistant serves');
  const origins = list('origins', isOrigin, 'an exact origin like "https://example.com" (scheme, host and port, no path)');
  const model = text('model');
  const models = list('models', (v) => typeof v === 'string' && /^[a-z0-9][a-z0-9.\-_]*$/i.test(v), 'a model name like "gemini-3.8-flash"');
  const starters = list('starters', (v) => typeof v === 'string' && v.trim() !== '' && v.length <= 200, 'a non-empty string of at most 200 characters');
  const greeting = text('greeting');
  /** @type {AssistantDefinition['thinking']} */
  let thinking;
  const thinkingField = at('thinking');
  if (thinkingField) {
    const value = /** @type {any} */ (thinkingField.value);
    const ok =
      value && typeof value === 'object' && !Array.isArray(value) &&
      Object.keys(value).every((k) => ['level', 'budget', 'show'].includes(k)) &&
      (value.level === undefined || THINKING_LEVELS.includes(value.level)) &&
      (value.budget === undefined || (Number.isSafeInteger(value.budget) && value.budget >= 0)) &&
      (value.show === undefined || typeof value.show === 'boolean') &&
      !(value.level !== undefined && value.budget !== undefined);
    if (!ok) throw new AssistantError(file, thinkingField.line, 'thinking must be { level: minimal|low|medium|high } or { budget: n }, not both, and optionally show: true|false');
    thinking = value;
  }
  const allowSystemField = at('allowSystem');
  if (allowSystemField && typeof allowSystemField.value !== 'boolean') throw new AssistantError(file, allowSystemField.line, 'allowSystem must be true or false');
  const toolsField = at('tools');
  const tools = toolsField ? parseTools(file, toolsField.node, toolsField.line, lineOf, allowLocalTools) : [];
  const geminiTools = parseGeminiTools(file, at('geminiTools'), lineOf);
  if (!body) throw new AssistantError(file, bodyLine, 'the instructions (the Markdown after the front matter) must not be empty');
  return {
    name,
    instructions: body,
    origins,
    ...(model ? { model } : {}),
    models,
    ...(thinking ? { thinking } : {}),
    ...(greeting ? { greeting } : {}),
    starters,
    allowSystem: allowSystemField?.value === true,
    ...(tools.length ? { tools } : {}),
    ...(geminiTools.length ? { geminiTools } : {}),
  };
}

/**
 * The `geminiTools` field: a list of Gemini's built-in tools, each named once.
 * @param {string} file
 * @param {{ line: number, node: unknown } | undefined} field
 * @param {(offset: number | undefined) => number} lineOf
 * @returns {string[]}
 */
function parseGeminiTools(file, field, lineOf) {
  if (!field) return [];
  if (!isSeq(field.node)) throw new AssistantError(file, field.line, `geminiTools must be a list of Gemini's built-in tools: ${GEMINI_TOOLS.join(', ')}`);
  /** @type {string[]} */
  const names = [];
  for (const [i, item] of /** @type {any[]} */ (field.node.items).entries()) {
    const value = item?.toJSON ? item.toJSON() : item?.value;
    const line = lineOf(item?.range?.[0]);
    if (typeof value !== 'string' || !GEMINI_TOOLS.includes(value)) {
      throw new AssistantError(file, line, `geminiTools[${i}] ${JSON.stringify(value)} is not one of Gemini's built-in tools: ${GEMINI_TOOLS.join(', ')}`);
    }
    if (names.includes(value)) throw new AssistantError(file, line, `geminiTools[${i}] "${value}" is listed twice`);
    names.push(value);
  }
  return names;
}

/**
 * @param {string} file
 * @param {string} source
 * @returns {Page}
 */
export function parsePage(file, source) {
  const { fields, body, bodyLine } = frontMatter(file, source);
  for (const [key, { line }] of fields) {
    if (!PAGE_FIELDS.includes(key)) throw new AssistantError(file, line, `unknown field "${key}"; allowed: ${PAGE_FIELDS.join(', ')}`);
  }
  const url = fields.get('url');
  if (!url) throw new AssistantError(file, 2, 'url is required: the page\'s address, which citations link to');
  let parsed;
  try {
    parsed = typeof url.value === 'string' ? new URL(url.value) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) throw new AssistantError(file, url.line, 'url must be an absolute http(s) URL');
  const title = fields.get('title');
  if (!title || typeof title.value !== 'string' || !title.value.trim()) throw new AssistantError(file, title?.line ?? 2, 'title must be a non-empty string');
  if (!body) throw new AssistantError(file, bodyLine, 'the page has no text after its front matter');
  return { url: String(url.value), title: title.value.trim(), text: body };
}

/**
 * Every assistant under `dir`, by name, checked.
 * @param {string} dir
 * @param {{ maxTokens?: number, base?: string, allowLocalTools?: boolean }} [options] `base`: what the paths in errors are relative to (the working directory);
 *   `allowLocalTools`: tool endpoints may be http://127.0.0.1 or http://localhost (tests, local development)
 * @returns {AssistantDefinition[]}
 */
export function loadAssistants(dir, { maxTokens = DEFAULT_KNOWLEDGE_MAX_TOKENS, base = process.cwd(), allowLocalTools = false } = {}) {
  if (!existsSync(dir)) return [];
  /** @type {AssistantDefinition[]} */
  const assistants = [];
  for (const name of readdirSync(dir).sort()) {
    const folder = join(dir, name);
    if (!statSync(folder).isDirectory() || name.startsWith('.')) continue;
    const shown = (/** @type {string} */ path) => relative(base, path) || path;
    if (!ASSISTANT_NAME.test(name)) throw new AssistantError(shown(folder), 1, 'an assistant\'s folder name must be lowercase letters, digits and "-" (at most 64)');
    if (RESERVED.has(name)) throw new AssistantError(shown(folder), 1, `"${name}" is the built-in assistant's name; choose another`);
    const file = join(folder, 'assistant.md');
    if (!existsSync(file)) throw new AssistantError(shown(file), 1, 'missing: every assistant folder needs an assistant.md');
    const assistant = parseAssistant(shown(file), name, readFileSync(file, 'utf8'), { allowLocalTools });
    const knowledgeDir = join(folder, 'knowledge');
    /** @type {Page[]} */
    const knowledge = [];
    if (existsSync(knowledgeDir)) {
      // Pages are numbered 1, 2, … in the order of their file names (a plain code-point sort).
      const files = readdirSync(knowledgeDir).filter((f) => f.endsWith('.md')).sort();
      for (const page of files) knowledge.push(parsePage(shown(join(knowledgeDir, page)), readFileSync(join(knowledgeDir, page), 'utf8')));
    }
    const chars = knowledge.reduce((n, p) => n + p.title.length + p.url.length + p.text.length, 0);
    const tokens = Math.ceil(chars / 4);
    if (tokens > maxTokens) {
      throw new AssistantError(
        shown(knowledgeDir),
        1,
        `the knowledge is about ${tokens} tokens (characters / 4), over the limit of ${maxTokens} (KNOWLEDGE_MAX_TOKENS): remove pages, or raise the limit knowing every answer sends it all`,
      );
    }
    assistants.push({ ...assistant, knowledge });
  }
  return assistants;
}

/**
 * The module the Worker imports as `#assistants`.
 * @param {AssistantDefinition[]} assistants
 */
export function assistantsModule(assistants) {
  return `// Generated by scripts/assistants.mjs from the assistants' folders: do not edit (docs/assistants.md).
import type { AssistantDefinition } from './assistant';

export const ASSISTANTS: readonly AssistantDefinition[] = ${JSON.stringify(assistants, null, 2)};
`;
}

/**
 * Writes the module, only when it changed (an unchanged file triggers no reload of `wrangler dev`).
 * @param {{ dir?: string, out?: string, maxTokens?: number, allowLocalTools?: boolean, mapEndpoint?: (url: string) => string }} [options]
 *   `allowLocalTools`: as {@link loadAssistants} (default: ASSISTANT_TOOLS_ALLOW_LOCAL=1);
 *   `mapEndpoint`: rewrites each tool endpoint after the checks (the tests point them at their local server's port)
 */
export function writeAssistantsModule({ dir = join(root, 'assistants'), out = join(root, 'src/assistants/bundle.generated.ts'), maxTokens, allowLocalTools, mapEndpoint } = {}) {
  const assistants = loadAssistants(dir, { maxTokens: maxTokens ?? knowledgeMaxTokens(), allowLocalTools: allowLocalTools ?? process.env.ASSISTANT_TOOLS_ALLOW_LOCAL === '1' });
  if (mapEndpoint) for (const assistant of assistants) for (const tool of assistant.tools ?? []) if (tool.endpoint) tool.endpoint = mapEndpoint(tool.endpoint);
  const module = assistantsModule(assistants).replace("from './assistant'", `from '${importPath(out)}'`);
  mkdirSync(dirname(out), { recursive: true });
  if (!existsSync(out) || readFileSync(out, 'utf8') !== module) writeFileSync(out, module);
  return assistants;
}

/**
 * `./assistant` from the module's own folder, wherever it is written.
 * @param {string} out
 */
function importPath(out) {
  const path = relative(dirname(out), join(root, 'src/assistants/assistant')).split('\\').join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

/** KNOWLEDGE_MAX_TOKENS from the environment, or the default. */
export function knowledgeMaxTokens() {
  const raw = process.env.KNOWLEDGE_MAX_TOKENS?.trim();
  if (!raw) return DEFAULT_KNOWLEDGE_MAX_TOKENS;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`KNOWLEDGE_MAX_TOKENS must be a positive whole number, got "${raw}"`);
  return Number(raw);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (/** @type {string} */ name) => {
    const i = args.indexOf(name);
    return i === -1 ? undefined : args[i + 1];
  };
  try {
    const dir = option('--dir');
    const out = option('--out');
    const assistants = writeAssistantsModule({
      dir: dir && resolve(dir),
      out: out && resolve(out),
      ...(args.includes('--allow-local-tools') ? { allowLocalTools: true } : {}),
    });
    if (!args.includes('--quiet')) {
      console.log(assistants.length ? `assistants: ${assistants.map((a) => `${a.name} (${a.knowledge.length} pages)`).join(', ')}` : 'assistants: none (the built-in default answers every request)');
    }
  } catch (error) {
    console.error(error instanceof AssistantError ? error.message : String(error));
    process.exit(1);
  }
}
