#!/usr/bin/env node
// @ts-check
/**
 * `npm run dev`: `wrangler dev` on http://localhost:8787.
 * With a Gemini key (in .dev.vars or the environment) it talks to real Gemini.
 * Without one it starts the built-in fake Gemini and points the Worker at it,
 * so anyone can try the chat with no account. Extra arguments go to wrangler:
 * `npm run dev -- --port 9000`.
 *
 * It builds the static assets (public/client.js, public/embed.js) once before
 * wrangler starts and rebuilds them when their sources change; wrangler bundles
 * and watches the Worker itself (why not wrangler.toml's `[build]`: scripts/build.mjs).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startFakeGemini } from '../fake-gemini/server.mjs';
import { watchAssets } from './build.mjs';
import { writeAssistantsModule } from './assistants.mjs';
import { KEY_NAMES, readDevVars, root, usableKey as usable } from './settings.mjs';

const devVars = readDevVars();
const hasKey = KEY_NAMES.some((name) => usable(process.env[name]) || usable(devVars[name]));
/** A key given only in the environment: wrangler reads secrets from files, so it goes in a private one. */
const envKey = KEY_NAMES.find((name) => usable(process.env[name]) && !usable(devVars[name]));

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

/** @type {string | undefined} */
let secretsDir;
if (envKey) {
  // An env file replaces .dev.vars for wrangler, so it carries both; it is the secrets'
  // way in (hidden in wrangler's output, unlike --var), readable by this user only.
  secretsDir = mkdtempSync(join(tmpdir(), 'gemini-edge-dev-'));
  const file = join(secretsDir, '.env');
  const lines = Object.entries({ ...devVars, [envKey]: process.env[envKey] }).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  args.push('--env-file', file);
}

// The site assistants, bundled into the Worker's source: once now (a bad one stops here, with its
// file and line), then again when a file under the folder changes (wrangler reloads the Worker).
// ASSISTANTS_DIR picks another folder (the tests' fixtures): its module is written apart, under
// .wrangler/, and wrangler runs with a copy of wrangler.toml whose [alias] points #assistants at
// it, so the project's own bundle is never replaced. (wrangler 4.86's dev ignores --alias.)
const assistantsDir = process.env.ASSISTANTS_DIR ? resolve(process.env.ASSISTANTS_DIR) : join(root, 'assistants');
const assistantsOut = process.env.ASSISTANTS_DIR ? join(root, '.wrangler', 'assistants', 'bundle.generated.ts') : undefined;
/** @type {string | undefined} The copy of wrangler.toml, in the project's root so that its relative paths still hold; removed on exit. */
let aliasConfig;
if (assistantsOut) {
  aliasConfig = join(root, `.wrangler-dev-${process.pid}.toml`);
  const toml = readFileSync(join(root, 'wrangler.toml'), 'utf8');
  writeFileSync(aliasConfig, `${toml}\n[alias]\n"#assistants" = ${JSON.stringify(assistantsOut)}\n`);
  args.push('--config', aliasConfig);
}
const bundleAssistants = () => writeAssistantsModule({ dir: assistantsDir, ...(assistantsOut ? { out: assistantsOut } : {}) });
try {
  bundleAssistants();
} catch (error) {
  console.error(`[assistants] ${error instanceof Error ? error.message : error}`);
  await fake?.close();
  process.exit(1);
}
const assistantsWatcher = existsSync(assistantsDir)
  ? watch(assistantsDir, { recursive: true }, () => {
      try {
        const bundled = bundleAssistants();
        console.log(`[assistants] rebuilt: ${bundled.map((a) => a.name).join(', ') || 'none'}`);
      } catch (error) {
        console.error(`[assistants] ${error instanceof Error ? error.message : error} (the Worker keeps the last good bundle)`);
      }
    })
  : undefined;

// Once, before wrangler starts; then once per change of a file they are built from.
const assets = await watchAssets((line) => console.log(`[assets] ${line}`)).catch(async (error) => {
  console.error(`[assets] ${error instanceof Error ? error.message : error}`);
  await fake?.close();
  process.exit(1);
});
console.log(`[assets] built public/client.js and public/embed.js; ${assets.line.replace(/^public\/embed\.js: /, 'embed.js: ')}`);

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
  if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
  if (aliasConfig) rmSync(aliasConfig, { force: true });
  await assets.stop();
  assistantsWatcher?.close();
  await fake?.close();
  process.exit(code ?? (signal ? 1 : 0));
});
