import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAssistants, writeAssistantsModule } from '../../scripts/assistants.mjs';

/**
 * scripts/assistants.mjs: what an assistant's folder must hold, and what a malformed one
 * fails with (its file and line), run as the build runs it.
 */

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** A folder of assistants from a map of relative paths to contents. */
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'assistants-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const GOOD = '---\norigins:\n  - "https://shop.example"\ngreeting: "Hi"\n---\nYou help with the shop.\n';
const PAGE = (url: string, title: string, text: string) => `---\nurl: ${JSON.stringify(url)}\ntitle: ${JSON.stringify(title)}\n---\n${text}\n`;

/** An assistant with one tool. */
const TOOLS = (endpoint: string, name = 'lookup_order', type = 'object') =>
  `---\norigins:\n  - "https://shop.example"\ntools:\n  - name: ${name}\n    description: Looks an order up.\n    parameters:\n      type: ${type}\n      properties:\n        order: { type: string }\n    endpoint: ${endpoint}\n---\nYou help with the shop.\n`;

const SCRIPT = fileURLToPath(new URL('../../scripts/assistants.mjs', import.meta.url));

/** The message the build fails with, run as a command from the folder (`node scripts/assistants.mjs --dir . --out …`). */
function buildFailure(dir: string): { status: number | null; stderr: string } {
  const out = mkdtempSync(join(tmpdir(), 'assistants-out-'));
  dirs.push(out);
  const run = spawnSync(process.execPath, [SCRIPT, '--dir', '.', '--out', join(out, 'bundle.ts')], { cwd: dir, encoding: 'utf8' });
  return { status: run.status, stderr: run.stderr.trim() };
}

describe('scripts/assistants.mjs', () => {
  it('reads an assistant and its pages, numbered in the order of their file names', () => {
    const dir = folder({
      'shop/assistant.md': GOOD,
      'shop/knowledge/b-shipping.md': PAGE('https://shop.example/shipping', 'Shipping', 'Two days.'),
      'shop/knowledge/a-teas.md': PAGE('https://shop.example/teas', 'Teas', 'Sencha.'),
    });
    expect(loadAssistants(dir)).toEqual([
      {
        name: 'shop',
        instructions: 'You help with the shop.',
        origins: ['https://shop.example'],
        models: [],
        greeting: 'Hi',
        starters: [],
        allowSystem: false,
        knowledge: [
          { url: 'https://shop.example/teas', title: 'Teas', text: 'Sencha.' },
          { url: 'https://shop.example/shipping', title: 'Shipping', text: 'Two days.' },
        ],
      },
    ]);
  });

  it('bundles nothing, and fails nothing, without an assistants folder', () => {
    expect(loadAssistants(join(tmpdir(), 'no-such-assistants-folder'))).toEqual([]);
  });

  it('writes the same module twice for the same folder, and leaves an unchanged file alone', () => {
    const dir = folder({ 'shop/assistant.md': GOOD });
    const outDir = mkdtempSync(join(tmpdir(), 'assistants-out-'));
    dirs.push(outDir);
    const out = join(outDir, 'bundle.ts');
    writeAssistantsModule({ dir, out });
    const first = readFileSync(out, 'utf8');
    expect(first).toContain('export const ASSISTANTS: readonly AssistantDefinition[] = [');
    writeAssistantsModule({ dir, out });
    expect(readFileSync(out, 'utf8')).toBe(first);
  });

  it.each([
    ['a field it does not know', { 'shop/assistant.md': '---\norigins: []\npersona: pirate\n---\nHi.\n' }, 'shop/assistant.md:3: unknown field "persona"; allowed: origins, model, models, thinking, greeting, starters, allowSystem, tools'],
    ['an origin with a path', { 'shop/assistant.md': '---\norigins:\n  - "https://shop.example"\n  - "https://shop.example/blog"\n---\nHi.\n' }, 'shop/assistant.md:4: origins[1] must be an exact origin like "https://example.com" (scheme, host and port, no path)'],
    ['no origins', { 'shop/assistant.md': '---\ngreeting: "Hi"\n---\nHi.\n' }, 'shop/assistant.md:2: origins is required'],
    ['broken YAML', { 'shop/assistant.md': '---\norigins: [\n---\nHi.\n' }, 'shop/assistant.md:'],
    ['no front matter', { 'shop/assistant.md': 'Just instructions.\n' }, 'shop/assistant.md:1: must start with a YAML front matter block'],
    ['empty instructions', { 'shop/assistant.md': '---\norigins: []\n---\n\n' }, 'shop/assistant.md:4: the instructions (the Markdown after the front matter) must not be empty'],
    ['a level that does not exist', { 'shop/assistant.md': '---\norigins: []\nthinking:\n  level: max\n---\nHi.\n' }, 'shop/assistant.md:3: thinking must be'],
    ['a folder name with capitals', { 'Shop/assistant.md': GOOD }, 'Shop:1: an assistant\'s folder name must be lowercase letters, digits and "-"'],
    ['the built-in name', { 'default/assistant.md': GOOD }, 'default:1: "default" is the built-in assistant\'s name'],
    ['a page without a url', { 'shop/assistant.md': GOOD, 'shop/knowledge/a.md': '---\ntitle: "A"\n---\nText.\n' }, 'shop/knowledge/a.md:2: url is required'],
    ['a tool on plain http', { 'shop/assistant.md': TOOLS('http://tools.shop.example/order') }, 'shop/assistant.md:5: tools[0].endpoint must be https'],
    ['a local tool without --allow-local-tools', { 'shop/assistant.md': TOOLS('http://127.0.0.1:8788/order') }, 'tools[0].endpoint must be https: http://127.0.0.1 and http://localhost are taken only with --allow-local-tools'],
    ['a tool name Gemini refuses', { 'shop/assistant.md': TOOLS('https://tools.shop.example/order', 'look up') }, 'shop/assistant.md:5: tools[0].name must be a function name Gemini takes'],
    ['a tool without a description', { 'shop/assistant.md': '---\norigins: []\ntools:\n  - name: f\n    endpoint: https://a.example/f\n---\nHi.\n' }, 'tools[0].description must be a non-empty string'],
    ['a tool whose parameters are not an object schema', { 'shop/assistant.md': TOOLS('https://tools.shop.example/order', 'lookup', 'array') }, 'tools[0].parameters must be a JSON Schema object'],
    ['a tool field it does not know', { 'shop/assistant.md': TOOLS('https://tools.shop.example/order').replace('    endpoint', '    method: GET\n    endpoint') }, 'tools[0]: unknown field "method"'],
    ['a tool that runs somewhere unknown', { 'shop/assistant.md': '---\norigins: []\ntools:\n  - name: f\n    description: d\n    runs: server\n---\nHi.\n' }, 'tools[0].runs must be "page"'],
    ['a tool without endpoint or runs', { 'shop/assistant.md': '---\norigins: []\ntools:\n  - name: f\n    description: d\n---\nHi.\n' }, 'tools[0].runs must be "page" (the page runs the tool), or leave it out and give an https endpoint'],
    ['a tool in the page and on an endpoint', { 'shop/assistant.md': TOOLS('https://tools.shop.example/order').replace('    endpoint', '    runs: page\n    endpoint') }, 'tools[0]: a tool runs either in the page (runs: page) or on an endpoint, not both'],
    ['a page with a relative url', { 'shop/assistant.md': GOOD, 'shop/knowledge/a.md': PAGE('/teas', 'Teas', 'Text.') }, 'shop/knowledge/a.md:2: url must be an absolute http(s) URL'],
  ])('fails the build on %s, naming the file and line', (_name, files, message) => {
    const failure = buildFailure(folder(files));
    expect(failure.status).toBe(1);
    expect(failure.stderr).toContain(message);
  });

  it('bundles a tool that runs in the page, without an endpoint', () => {
    const dir = folder({ 'shop/assistant.md': '---\norigins: []\ntools:\n  - name: show_section\n    description: Scrolls to a section.\n    runs: page\n---\nHi.\n' });
    const [shop] = loadAssistants(dir);
    expect(shop!.tools).toEqual([{ name: 'show_section', description: 'Scrolls to a section.', runs: 'page' }]);
  });

  it('bundles tools with https endpoints, and local ones only with --allow-local-tools (or ASSISTANT_TOOLS_ALLOW_LOCAL=1)', () => {
    const dir = folder({ 'shop/assistant.md': TOOLS('https://tools.shop.example/order'), 'dev/assistant.md': TOOLS('http://localhost:8788/order') });
    expect(() => loadAssistants(dir)).toThrow(/dev\/assistant.md:5: tools\[0\].endpoint must be https/);
    const [dev, shop] = loadAssistants(dir, { allowLocalTools: true });
    expect(shop!.tools).toEqual([
      { name: 'lookup_order', description: 'Looks an order up.', parameters: { type: 'object', properties: { order: { type: 'string' } } }, endpoint: 'https://tools.shop.example/order' },
    ]);
    expect(dev!.tools![0]!.endpoint).toBe('http://localhost:8788/order');
    const out = join(mkdtempSync(join(tmpdir(), 'assistants-out-')), 'bundle.ts');
    dirs.push(join(out, '..'));
    const run = spawnSync(process.execPath, [SCRIPT, '--dir', dir, '--out', out, '--allow-local-tools', '--quiet'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('"endpoint": "http://localhost:8788/order"');
    // An assistant without tools has no tools field: its bundle is what it was.
    expect(loadAssistants(folder({ 'shop/assistant.md': GOOD }))[0]).not.toHaveProperty('tools');
  });

  it("bundles Gemini's built-in tools (geminiTools), and fails the build on an unknown or repeated one, naming its line", () => {
    const GEMINI = (items: string) => `---\norigins:\n  - "https://shop.example"\ngeminiTools:\n${items}---\nYou help with the shop.\n`;
    const [shop] = loadAssistants(folder({ 'shop/assistant.md': GEMINI('  - codeExecution\n  - urlContext\n  - googleSearch\n') }));
    expect(shop!.geminiTools).toEqual(['codeExecution', 'urlContext', 'googleSearch']);
    // Without the field the bundle is what it was.
    expect(loadAssistants(folder({ 'shop/assistant.md': GOOD }))[0]).not.toHaveProperty('geminiTools');

    const unknown = buildFailure(folder({ 'shop/assistant.md': GEMINI('  - codeExecution\n  - code_interpreter\n') }));
    expect(unknown).toEqual({ status: 1, stderr: 'shop/assistant.md:6: geminiTools[1] "code_interpreter" is not one of Gemini\'s built-in tools: googleSearch, urlContext, codeExecution' });
    expect(buildFailure(folder({ 'shop/assistant.md': GEMINI('  - urlContext\n  - urlContext\n') })).stderr).toBe('shop/assistant.md:6: geminiTools[1] "urlContext" is listed twice');
    const notAList = '---\norigins:\n  - "https://shop.example"\ngeminiTools: codeExecution\n---\nYou help with the shop.\n';
    expect(buildFailure(folder({ 'shop/assistant.md': notAList })).stderr).toBe("shop/assistant.md:4: geminiTools must be a list of Gemini's built-in tools: googleSearch, urlContext, codeExecution");
  });

  it('refuses knowledge over KNOWLEDGE_MAX_TOKENS rather than send a truncated corpus', () => {
    const dir = folder({ 'shop/assistant.md': GOOD, 'shop/knowledge/a.md': PAGE('https://shop.example/a', 'A', 'x'.repeat(4000)) });
    expect(() => loadAssistants(dir, { maxTokens: 500 })).toThrow(/knowledge:1: the knowledge is about 100\d tokens \(characters \/ 4\), over the limit of 500 \(KNOWLEDGE_MAX_TOKENS\)/);
    expect(loadAssistants(dir, { maxTokens: 2000 })[0]!.knowledge).toHaveLength(1);
  });
});
