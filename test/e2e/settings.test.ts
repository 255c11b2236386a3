import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDevVars, readWranglerVars, resolveSettings, secretValues } from '../../scripts/settings.mjs';

/**
 * scripts/settings.mjs: the settings `npm run dev` and `npm run doctor` see, read
 * as wrangler reads them, from scratch files (nothing of the repository's).
 */

const scratch = mkdtempSync(join(tmpdir(), 'settings-test-'));
let files = 0;

/** A scratch file holding `text`; its path. */
function file(text: string): string {
  const path = join(scratch, `file-${files++}`);
  writeFileSync(path, text);
  return path;
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('readWranglerVars', () => {
  it('reads the [vars] table only: strings, literals, numbers and booleans, comments skipped', () => {
    const path = file(`name = "gemini-edge"   # not a var: before [vars]
main = "src/index.ts"

[vars]
# GEMINI_MODEL = "commented-out"
GEMINI_MODEL = "gemini-3.8-flash"  # the default
ALLOWED_MODELS = 'gemini-3.5-flash-lite,gemini-3.6-flash'
MAX_OUTPUT_TOKENS = 2048
STRICT = true
WITH_HASH = "a # inside the quotes"
ESCAPED = "line\\tone \\"quoted\\""
  INDENTED = "kept"

[[durable_objects.bindings]]
name = "CHAT_ROOM"

[env.production.vars]
GEMINI_MODEL = "not-this-one"
`);
    expect(readWranglerVars(path)).toStrictEqual({
      GEMINI_MODEL: 'gemini-3.8-flash',
      ALLOWED_MODELS: 'gemini-3.5-flash-lite,gemini-3.6-flash',
      MAX_OUTPUT_TOKENS: '2048',
      STRICT: 'true',
      WITH_HASH: 'a # inside the quotes',
      ESCAPED: 'line\tone "quoted"',
      INDENTED: 'kept',
    });
  });

  it('takes a [vars] header with a comment after it, and ends the table at the next header', () => {
    const path = file('[vars] # the Worker\'s settings\r\nA = "1"\r\n[limits]\r\nB = "2"\r\n');
    expect(readWranglerVars(path)).toStrictEqual({ A: '1' });
  });

  it('is empty without the file', () => {
    expect(readWranglerVars(join(scratch, 'missing.toml'))).toStrictEqual({});
  });
});

describe('readDevVars', () => {
  it('reads NAME=value lines, quoted or not, with export, CRLF and comment lines', () => {
    const path = file(
      [
        '# a comment',
        'GEMINI_API_KEY=plain-value',
        'export GEMINI_MODEL="gemini-3.6-flash"',
        "ALLOWED_MODELS='gemini-3.5-flash-lite'",
        '  SPACED = around  ',
        'EMPTY=',
        'not a setting',
        'OPENAI_COMPAT_KEYS=sk-a,sk-b\r',
      ].join('\n'),
    );
    expect(readDevVars(path)).toStrictEqual({
      GEMINI_API_KEY: 'plain-value',
      GEMINI_MODEL: 'gemini-3.6-flash',
      ALLOWED_MODELS: 'gemini-3.5-flash-lite',
      SPACED: 'around',
      EMPTY: '',
      OPENAI_COMPAT_KEYS: 'sk-a,sk-b',
    });
  });

  it('is empty without the file', () => {
    expect(readDevVars(join(scratch, 'missing.dev.vars'))).toStrictEqual({});
  });
});

describe('resolveSettings', () => {
  it('takes the environment over .dev.vars over wrangler.toml, ignoring empty and unknown variables', () => {
    const wranglerPath = file('[vars]\nGEMINI_MODEL = "from-toml"\nALLOWED_MODELS = "from-toml"\nMAX_OUTPUT_TOKENS = "100"\n');
    const devVarsPath = file('GEMINI_MODEL=from-dev-vars\nALLOWED_MODELS=from-dev-vars\n');
    const env = { GEMINI_MODEL: 'from-env', ALLOWED_MODELS: '', UNRELATED: 'x' };
    expect(resolveSettings({ wranglerPath, devVarsPath, env })).toStrictEqual({
      GEMINI_MODEL: { value: 'from-env', source: 'environment' },
      ALLOWED_MODELS: { value: 'from-dev-vars', source: '.dev.vars' },
      MAX_OUTPUT_TOKENS: { value: '100', source: 'wrangler.toml' },
    });
  });
});

describe('secretValues', () => {
  // Review of the doctor: it kept only the key it used out of its output, not the other one nor the deployment's bearer keys.
  it('names both Gemini keys and every OPENAI_COMPAT_KEYS entry, and nothing else', () => {
    const settings = resolveSettings({
      wranglerPath: file('[vars]\nGEMINI_MODEL = "gemini-3.8-flash"\n'),
      devVarsPath: file('GOOGLE_AI_API_KEY=google-key-0123\nOPENAI_COMPAT_KEYS= sk-first-key , sk-second-key,,x\n'),
      env: { GEMINI_API_KEY: 'gemini-key-0123' },
    });
    expect(secretValues(settings).sort()).toStrictEqual(['gemini-key-0123', 'google-key-0123', 'sk-first-key', 'sk-second-key']);
  });
});
