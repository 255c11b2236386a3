// @ts-check
/**
 * The Worker's settings as `wrangler dev` would see them, for scripts/dev.mjs and
 * scripts/doctor.mjs: wrangler.toml's [vars], then .dev.vars over them, then (for
 * the doctor) the environment over both.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** The names the Worker takes its Gemini key from, in its order. */
export const KEY_NAMES = /** @type {const} */ (['GEMINI_API_KEY', 'GOOGLE_AI_API_KEY']);

/** The key in .dev.vars.example: no key at all. */
export const PLACEHOLDER = 'your-key-from-aistudio.google.com';

/** Every setting the Worker reads (src/env.ts `Settings`). */
export const SETTING_NAMES = [
  'GEMINI_API_KEY',
  'GOOGLE_AI_API_KEY',
  'GEMINI_BASE_URL',
  'GEMINI_MODEL',
  'ALLOWED_MODELS',
  'MAX_OUTPUT_TOKENS',
  'MAX_MESSAGE_CHARS',
  'MAX_BODY_BYTES',
  'UPSTREAM_TIMEOUT_MS',
  'UPSTREAM_IDLE_TIMEOUT_MS',
  'SSE_HEARTBEAT_MS',
  'MAX_CONTEXT_CHARS',
  'RESUME_GRACE_MS',
  'ALLOWED_ORIGINS',
  'RATE_LIMIT_PER_MINUTE',
  'CHAT_CREATE_PER_MINUTE',
  'DAILY_TOKEN_BUDGET',
  'OPENAI_COMPAT_KEYS',
];

/** A key worth using: set, and not the example's placeholder. */
export const usableKey = (/** @type {string | undefined} */ value) => Boolean(value && value.trim() && value.trim() !== PLACEHOLDER);

/**
 * A .dev.vars (dotenv) file: `NAME=value` lines, values optionally quoted; `{}` when there is none.
 * @param {string} path
 * @returns {Record<string, string>}
 */
export function readDevVars(path = `${root}.dev.vars`) {
  if (!existsSync(path)) return {};
  /** @type {Record<string, string>} */
  const vars = {};
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) vars[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return vars;
}

/**
 * wrangler.toml's top-level `[vars]` table, read simply: `NAME = "string"`, `'literal'`,
 * a number or a boolean on one line each, up to the next table header.
 * @param {string} path
 * @returns {Record<string, string>}
 */
export function readWranglerVars(path = `${root}wrangler.toml`) {
  if (!existsSync(path)) return {};
  /** @type {Record<string, string>} */
  const vars = {};
  let inVars = false;
  for (const raw of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$/.exec(line);
    if (header) {
      inVars = header[1] === 'vars';
      continue;
    }
    if (!inVars || !line || line.startsWith('#')) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const value = tomlValue(match[2]);
    if (value !== undefined) vars[match[1]] = value;
  }
  return vars;
}

/** @param {string} text */
function tomlValue(text) {
  const basic = /^"((?:[^"\\]|\\.)*)"\s*(?:#.*)?$/.exec(text);
  if (basic) {
    try {
      return JSON.parse(`"${basic[1]}"`);
    } catch {
      return basic[1];
    }
  }
  const literal = /^'([^']*)'\s*(?:#.*)?$/.exec(text);
  if (literal) return literal[1];
  const bare = /^([^#\s]+)\s*(?:#.*)?$/.exec(text);
  return bare ? bare[1] : undefined;
}

/**
 * Every secret among the settings, for the doctor to keep out of what it prints:
 * each Gemini key (whether used or not) and each OPENAI_COMPAT_KEYS entry.
 * @param {Record<string, Setting>} settings
 * @returns {string[]}
 */
export function secretValues(settings) {
  const keys = KEY_NAMES.map((name) => settings[name]?.value);
  const bearers = (settings.OPENAI_COMPAT_KEYS?.value ?? '').split(',');
  // Shorter than 4 characters: no secret, and redacting it would garble the report.
  return [...keys, ...bearers].map((value) => value?.trim() ?? '').filter((value) => value.length >= 4);
}

/**
 * @typedef {'environment' | '.dev.vars' | 'wrangler.toml'} SettingSource
 * @typedef {{ value: string, source: SettingSource }} Setting
 */

/**
 * The settings the Worker would run with, and where each came from: the environment
 * wins over .dev.vars, which wins over wrangler.toml's [vars]. Only the names in
 * {@link SETTING_NAMES} are taken from the environment.
 * @param {{ devVarsPath?: string, wranglerPath?: string, env?: NodeJS.ProcessEnv }} [options]
 * @returns {Record<string, Setting>}
 */
export function resolveSettings({ devVarsPath, wranglerPath, env = process.env } = {}) {
  /** @type {Record<string, Setting>} */
  const settings = {};
  for (const [name, value] of Object.entries(readWranglerVars(wranglerPath))) settings[name] = { value, source: 'wrangler.toml' };
  for (const [name, value] of Object.entries(readDevVars(devVarsPath))) settings[name] = { value, source: '.dev.vars' };
  for (const name of SETTING_NAMES) {
    const value = env[name];
    // An empty variable in the environment unsets nothing: wrangler ignores it too.
    if (value !== undefined && value !== '') settings[name] = { value, source: 'environment' };
  }
  return settings;
}
