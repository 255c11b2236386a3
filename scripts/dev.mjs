#!/usr/bin/env node
// @ts-check
/**
 * `npm run dev`: `wrangler dev` on http://localhost:8787.
 * With a Gemini key (in .dev.vars or the environment) it talks to real Gemini.
 * Without one it starts the built-in fake Gemini and points the Worker at it,
 * so anyone can try the chat with no account. Extra arguments go to wrangler:
 * `npm run dev -- --port 9000`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startFakeGemini } from '../fake-gemini/server.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const KEY_NAMES = ['GEMINI_API_KEY', 'GOOGLE_AI_API_KEY'];
const PLACEHOLDER = 'your-key-from-aistudio.google.com';

/** @returns {Record<string, string>} */
function readDevVars() {
  const path = `${root}.dev.vars`;
  if (!existsSync(path)) return {};
  /** @type {Record<string, string>} */
  const vars = {};
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) vars[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return vars;
}

const devVars = readDevVars();
const hasKey = KEY_NAMES.some((name) => {
  const value = process.env[name] || devVars[name];
  return Boolean(value && value !== PLACEHOLDER);
});

const args = ['dev', ...process.argv.slice(2)];
// Local pages on any port may call the local Worker; ALLOWED_ORIGINS (environment or .dev.vars) narrows it.
const allowedOrigins = process.env.ALLOWED_ORIGINS ?? devVars.ALLOWED_ORIGINS ?? '*';
args.push('--var', `ALLOWED_ORIGINS:${allowedOrigins}`);
/** @type {Awaited<ReturnType<typeof startFakeGemini>> | undefined} */
let fake;
if (!hasKey) {
  fake = await startFakeGemini({ delayMs: 40, log: (line) => console.error(line) });
  args.push('--var', `GEMINI_BASE_URL:${fake.url}`, '--var', 'GEMINI_API_KEY:fake-local-key');
  console.log(
    `\n  No GEMINI_API_KEY found: answers come from the built-in fake Gemini at ${fake.url}.\n` +
      '  Put a real key in .dev.vars (see .dev.vars.example) to talk to Gemini.\n' +
      '  Try a fault: a message containing [fake:safety], [fake:http status=429] or [fake:drop].\n',
  );
} else {
  console.log('\n  Using the Gemini key from .dev.vars or the environment: answers come from real Gemini.\n');
}

const wrangler = spawn(process.execPath, [`${root}node_modules/wrangler/bin/wrangler.js`, ...args], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? 'false',
  },
});

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => wrangler.kill(signal));
}
wrangler.on('exit', async (code, signal) => {
  await fake?.close();
  process.exit(code ?? (signal ? 1 : 0));
});
