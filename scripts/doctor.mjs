#!/usr/bin/env node
// @ts-check
/**
 * `npm run doctor`: will this deployment work? In under a minute, with the settings
 * the Worker would run with (the environment, then .dev.vars, then wrangler.toml [vars]):
 *
 *   1. starts the Worker with `wrangler dev` on a free port;
 *   2. asks it `GET /healthz?deep=1` (a random bearer key of its own): the settings
 *      (a retired model is `config_invalid`), the key (standard, revoked or invalid keys
 *      told apart), and for every model its listing, a one-token call and who answers it;
 *   3. streams one short answer through `POST /api/chat/stream` with the default model:
 *      time to the first text frame, and the usage of the `done` frame;
 *   4. prints a table (model, status, what to change) and exits non-zero when a visitor
 *      would hit something broken.
 *
 * Against real Gemini when a key is set (GEMINI_API_KEY or GOOGLE_AI_API_KEY), against
 * the built-in fake Gemini otherwise (or with --fake). GEMINI_BASE_URL, where set, is
 * used even with a key (a test's fake Gemini). The key goes to wrangler in a private
 * env file, never on a command line, and nothing printed holds it.
 *
 * Options:
 *   --json             one JSON object on stdout instead of the report
 *   --dev-vars PATH    the .dev.vars to read (default: the repository's; also DOCTOR_DEV_VARS)
 *   --fake             check against the built-in fake Gemini even with a key
 *   --help
 * Exit codes: 0 works (warnings, such as a rerouted model, allowed); 1 something a
 * visitor would hit is broken; 2 the doctor could not run the check (the Worker did
 * not start, a bad option).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createParser } from 'eventsource-parser';
import { startFakeGemini } from '../fake-gemini/server.mjs';
import { writeAssistantsModule } from './assistants.mjs';
import { freePort } from './free-port.mjs';
import { KEY_NAMES, resolveSettings, root, secretValues, usableKey } from './settings.mjs';

const USAGE = `Usage: npm run doctor [-- --json] [-- --dev-vars PATH] [-- --fake]
  Starts the Worker with wrangler dev, checks the Gemini key and every configured model
  from inside it (GET /healthz?deep=1), and streams one answer through it.
  Exit codes: 0 works (warnings allowed), 1 something visitors would hit is broken,
  2 the check could not run.`;

const WORKER_START_TIMEOUT_MS = 60_000;
const DEEP_TIMEOUT_MS = 45_000;
const STREAM_TIMEOUT_MS = 45_000;
const STREAM_PROMPT = 'Say hello in five words.';

/**
 * @typedef {import('../src/gemini/model-check').KeyCheck} KeyCheck
 * @typedef {import('../src/gemini/model-check').ModelCheck} ModelCheck
 * @typedef {ModelCheck & { setting: 'GEMINI_MODEL' | 'ALLOWED_MODELS', action: string }} ModelRow
 * @typedef {{ ok: boolean, status?: number, ttftMs?: number, totalMs?: number, textChars?: number,
 *   finishReason?: string, usage?: Record<string, number>, model?: string,
 *   error?: { code: string, message: string } }} StreamCheck
 */

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
/** @type {{ json: boolean, fake: boolean, devVars: string | undefined }} */
const options = { json: false, fake: false, devVars: process.env.DOCTOR_DEV_VARS || undefined };
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (arg === '--json') options.json = true;
  else if (arg === '--fake') options.fake = true;
  else if (arg === '--dev-vars' && argv[i + 1]) options.devVars = argv[++i];
  else if (arg.startsWith('--dev-vars=')) options.devVars = arg.slice('--dev-vars='.length);
  else if (arg === '--help' || arg === '-h') {
    console.log(USAGE);
    process.exit(0);
  } else {
    console.error(`doctor: unknown option ${JSON.stringify(arg)}\n${USAGE}`);
    process.exit(2);
  }
}

const started = performance.now();
/** @type {string[]} */
const progress = [];
/** A line of progress, on stderr (stdout stays the report or the JSON). */
const step = (/** @type {string} */ line) => {
  progress.push(line);
  if (!options.json) process.stderr.write(`  … ${line}\n`);
};

// ---------------------------------------------------------------------------------------------
// Settings

const devVarsPath = options.devVars ? resolve(options.devVars) : `${root}.dev.vars`;
const settings = resolveSettings({ devVarsPath });
const keyName = KEY_NAMES.find((name) => usableKey(settings[name]?.value));
const realKey = keyName ? settings[keyName].value.trim() : undefined;
const useFake = options.fake || !realKey;

/** @type {Awaited<ReturnType<typeof startFakeGemini>> | undefined} */
let fake;
/** @type {string | undefined} */
let secretsDir;
/** @type {import('node:child_process').ChildProcess | undefined} */
let wrangler;
let wranglerOutput = '';
/** The secrets the output must never show: every key in the settings, and (later) the doctor's own bearer. */
const secrets = secretValues(settings);

process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

/** @type {Record<string, unknown>} */
let report;
let exitCode;
try {
  ({ report, exitCode } = await run());
} catch (error) {
  exitCode = 2;
  report = { ok: false, exitCode, error: redact(error instanceof Error ? error.message : String(error)), progress };
} finally {
  await cleanup();
}
if (options.json) {
  process.stdout.write(`${redact(JSON.stringify(report, null, 2))}\n`);
} else if (exitCode === 2 && typeof report.error === 'string') {
  process.stdout.write(`\ngemini-edge doctor: the check could not run.\n\n  ${report.error}\n\nExit code 2.\n`);
} else {
  process.stdout.write(redact(render(report)));
}
process.exit(exitCode);

// ---------------------------------------------------------------------------------------------
// The check

async function run() {
  const bearer = `doctor-${randomBytes(24).toString('base64url')}`;
  secrets.push(bearer);
  /** @type {Record<string, string>} What the Worker gets in its env file. */
  const vars = {};
  for (const [name, { value, source }] of Object.entries(settings)) {
    if (source !== 'wrangler.toml') vars[name] = value;
  }
  let upstream;
  if (useFake) {
    fake = await startFakeGemini({ delayMs: 20 });
    for (const name of KEY_NAMES) delete vars[name];
    vars.GEMINI_API_KEY = 'doctor-fake-key';
    vars.GEMINI_BASE_URL = fake.url;
    upstream = { kind: 'fake', url: fake.url, why: options.fake ? '--fake' : 'no Gemini key in .dev.vars or the environment' };
  } else {
    const baseUrl = settings.GEMINI_BASE_URL?.value || 'https://generativelanguage.googleapis.com';
    upstream = { kind: 'gemini', url: baseUrl, key: `${keyName} from ${settings[/** @type {string} */ (keyName)].source}` };
  }
  // Its own bearer key for the deep check, after the deployment's own (which the Worker still checks).
  vars.OPENAI_COMPAT_KEYS = [vars.OPENAI_COMPAT_KEYS, bearer].filter(Boolean).join(',');

  const model = settings.GEMINI_MODEL?.value?.trim() || '(the Worker default)';
  const allowed = settings.ALLOWED_MODELS?.value ?? '';
  const settingsSeen = {
    devVars: devVarsPath,
    GEMINI_MODEL: settings.GEMINI_MODEL ?? null,
    ALLOWED_MODELS: settings.ALLOWED_MODELS ?? null,
    GEMINI_BASE_URL: settings.GEMINI_BASE_URL && !useFake ? settings.GEMINI_BASE_URL : null,
  };
  step(`settings: GEMINI_MODEL=${model}, ALLOWED_MODELS=${allowed || '(none)'}`);
  step(useFake ? `using the built-in fake Gemini (${upstream.why})` : `using Gemini at ${upstream.url} with ${upstream.key}`);

  // 1. The Worker.
  step('starting the Worker (wrangler dev)…');
  const worker = await startWorker(vars);
  step(`Worker ready on ${worker.url} after ${seconds(worker.readyMs)}`);

  // 2. The deep check.
  step('checking the key and the models from inside the Worker (GET /healthz?deep=1)…');
  const deep = await deepCheck(worker.url, bearer);

  /** @type {string[]} */
  const problems = [];
  /** @type {string[]} */
  const warnings = [];
  if (useFake) warnings.push(`Checked against the built-in fake Gemini (${upstream.why}): the settings and the Worker were checked, not a real key.`);

  if (deep.configError) {
    problems.push(`The Worker refuses its settings (config_invalid): ${deep.configError}`);
    // Every request would answer the same: nothing more to learn from a stream.
    const result = { ok: false, exitCode: 1, upstream, settings: settingsSeen, worker: { url: worker.url, readyMs: worker.readyMs }, config: { ok: false, message: deep.configError }, key: null, models: [], stream: null, problems, warnings, durationMs: elapsed() };
    return { report: result, exitCode: 1 };
  }
  if (!deep.body) throw new Error(deep.error ?? 'GET /healthz?deep=1 gave no answer');
  const body = deep.body;

  /** @type {KeyCheck} */
  const key = body.key;
  if (key.status !== 'ok') problems.push(keyProblem(key));

  /** @type {ModelRow[]} */
  const models = body.models.map((/** @type {ModelCheck} */ m) => {
    const setting = m.default ? 'GEMINI_MODEL' : 'ALLOWED_MODELS';
    return { ...m, setting, action: actionFor(m, setting) };
  });
  for (const m of models) {
    if (m.status === 'auth' && key.status !== 'ok') continue; // said once, for the key
    if (!m.callable) {
      problems.push(`${m.model} (${m.setting}${m.default ? ', the default' : ''}): ${m.message}`);
    } else if (m.status === 'rerouted') {
      warnings.push(`${m.model} (${m.setting}): ${m.warning ?? `answered by ${m.reroutedTo}; name ${m.reroutedTo} to pin it`}`);
    } else if (m.warning) {
      warnings.push(`${m.model} (${m.setting}): ${m.warning}`);
    }
  }

  // 3. One streamed answer, as a visitor gets it.
  step(`streaming one answer through the Worker (POST /api/chat/stream, ${body.model})…`);
  const stream = await streamOnce(worker.url);
  if (!stream.ok) {
    problems.push(`Streaming an answer failed: ${stream.error ? `${stream.error.code}: ${stream.error.message}` : `HTTP ${stream.status}`}`);
  }

  const code = problems.length > 0 ? 1 : 0;
  const result = {
    ok: code === 0,
    exitCode: code,
    upstream,
    settings: settingsSeen,
    worker: { url: worker.url, readyMs: worker.readyMs },
    config: { ok: true },
    model: body.model,
    key,
    models,
    stream,
    problems,
    warnings,
    durationMs: elapsed(),
  };
  return { report: result, exitCode: code };
}

/**
 * `wrangler dev` on a free port, with the settings in a private env file (it replaces
 * .dev.vars for wrangler, so it carries all of them), its own state directory, and no
 * inspector clash; resolves once wrangler says it is ready.
 * @param {Record<string, string>} vars
 */
async function startWorker(vars) {
  // The Worker imports its site assistants from the bundle the build writes: make sure it is there and current.
  writeAssistantsModule();
  secretsDir = mkdtempSync(join(tmpdir(), 'gemini-edge-doctor-'));
  const envFile = join(secretsDir, '.env');
  writeFileSync(envFile, `${Object.entries(vars).map(([name, value]) => `${name}=${JSON.stringify(value)}`).join('\n')}\n`, { mode: 0o600 });
  const port = await freePort();
  const inspector = await freePort();
  const args = [
    `${root}node_modules/wrangler/bin/wrangler.js`, 'dev',
    '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--env-file', envFile,
    '--persist-to', join(secretsDir, 'state'),
    '--show-interactive-dev-session=false',
  ];
  const begun = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  wrangler = child;
  child.stdout?.on('data', (d) => (wranglerOutput += d));
  child.stderr?.on('data', (d) => (wranglerOutput += d));
  const deadline = Date.now() + WORKER_START_TIMEOUT_MS;
  while (!/Ready on http/.test(wranglerOutput)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      const tail = wranglerOutput.trim().split('\n').slice(-15).join('\n    ');
      throw new Error(
        `the Worker did not start (wrangler dev ${child.exitCode !== null ? `exited with ${child.exitCode}` : `was not ready within ${WORKER_START_TIMEOUT_MS / 1000} s`}); its last lines:\n    ${tail}`,
      );
    }
    await sleep(100);
  }
  return { url: `http://127.0.0.1:${port}`, readyMs: Math.round(performance.now() - begun) };
}

/**
 * @param {string} url
 * @param {string} bearer
 * @returns {Promise<{ body?: any, configError?: string, error?: string }>}
 */
async function deepCheck(url, bearer) {
  let response;
  try {
    response = await fetch(`${url}/healthz?deep=1`, { headers: { authorization: `Bearer ${bearer}` }, signal: AbortSignal.timeout(DEEP_TIMEOUT_MS) });
  } catch (error) {
    return { error: `GET /healthz?deep=1 failed: ${error instanceof Error ? error.message : error}` };
  }
  const text = await response.text();
  /** @type {any} */
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: `GET /healthz?deep=1 answered ${response.status} with no JSON` };
  }
  if (json?.error?.code === 'config_invalid') return { configError: String(json.error.message) };
  if (json?.error) return { error: `GET /healthz?deep=1 answered ${response.status} ${json.error.code}: ${json.error.message}` };
  if (!json?.key || !Array.isArray(json?.models)) return { error: `GET /healthz?deep=1 answered ${response.status} without a report` };
  return { body: json };
}

/**
 * One short answer through `POST /api/chat/stream`: when the first text frame came, and the end.
 * @param {string} url
 * @returns {Promise<StreamCheck>}
 */
async function streamOnce(url) {
  const begun = performance.now();
  let response;
  try {
    response = await fetch(`${url}/api/chat/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: STREAM_PROMPT }),
      signal: AbortSignal.timeout(STREAM_TIMEOUT_MS),
    });
  } catch (error) {
    return { ok: false, error: { code: 'network_error', message: `the Worker could not be reached: ${error instanceof Error ? error.message : error}` } };
  }
  if (!response.ok || !response.body) {
    const text = await response.text().catch(() => '');
    /** @type {any} */
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { ok: false, status: response.status, error: json?.error ?? { code: 'http_error', message: `HTTP ${response.status}` } };
  }
  /** @type {StreamCheck} */
  const result = { ok: false, status: response.status, textChars: 0 };
  const parser = createParser({
    onEvent({ event, data }) {
      /** @type {any} */
      let payload;
      try {
        payload = JSON.parse(data);
      } catch {
        result.error ??= { code: 'malformed', message: `a ${event ?? 'message'} frame whose data is not JSON` };
        return;
      }
      if (event === 'text') {
        result.ttftMs ??= Math.round(performance.now() - begun);
        result.textChars = (result.textChars ?? 0) + String(payload?.text ?? '').length;
      } else if (event === 'done') {
        result.ok = true;
        result.finishReason = payload?.finishReason;
        result.usage = payload?.usage;
        if (typeof payload?.model === 'string') result.model = payload.model;
      } else if (event === 'error') {
        result.error = payload?.error;
      }
    },
  });
  try {
    const decoder = new TextDecoder();
    for await (const chunk of /** @type {AsyncIterable<Uint8Array>} */ (/** @type {unknown} */ (response.body))) {
      parser.feed(decoder.decode(chunk, { stream: true }));
    }
  } catch (error) {
    result.error ??= { code: 'network_error', message: `the stream broke off: ${error instanceof Error ? error.message : error}` };
  }
  result.totalMs = Math.round(performance.now() - begun);
  if (!result.ok && !result.error) result.error = { code: 'incomplete', message: 'the stream ended without a done or error frame' };
  return result;
}

// ---------------------------------------------------------------------------------------------
// Words

/** @param {KeyCheck} key */
function keyProblem(key) {
  switch (key.status) {
    case 'standard_key':
      return `${key.message}.`;
    case 'invalid_key':
      return `${key.message}.`;
    case 'no_key':
      return `No key: ${key.message}.`;
    default:
      return `The key could not be checked: ${key.message}.`;
  }
}

/**
 * What to change for one model, in a few words.
 * @param {ModelCheck} m
 * @param {'GEMINI_MODEL' | 'ALLOWED_MODELS'} setting
 */
function actionFor(m, setting) {
  switch (m.status) {
    case 'ok':
      return m.warning && m.replacement ? `plan a move to ${m.replacement}` : m.warning ? 'see the warning below' : '—';
    case 'rerouted':
      return `name ${m.reroutedTo} in ${setting} to pin it`;
    case 'unavailable':
      return m.replacement ? `replace it with ${m.replacement} in ${setting}` : `remove it from ${setting}`;
    case 'no_quota':
      return `enable billing for the key's project, or remove it from ${setting}`;
    case 'quota':
      return 'wait, or raise the quota of the key\'s project';
    case 'auth':
      return 'fix the key (above)';
    default:
      return 'run the doctor again; if it persists, Gemini may be down';
  }
}

/** @param {Record<string, any>} r */
function render(r) {
  const out = ['', 'gemini-edge doctor: will this deployment work?', ''];
  const u = r.upstream;
  out.push(`  Gemini    ${u.kind === 'fake' ? `the built-in fake Gemini at ${u.url} (${u.why})` : `${u.url}, key ${u.key}`}`);
  const s = r.settings;
  const where = (/** @type {any} */ x) => (x ? `${x.value || '(empty)'}  (${x.source})` : '(unset: the Worker default)');
  out.push(`  Settings  GEMINI_MODEL=${where(s.GEMINI_MODEL)}`);
  out.push(`            ALLOWED_MODELS=${where(s.ALLOWED_MODELS)}`);
  out.push(`  Worker    wrangler dev, ready after ${seconds(r.worker.readyMs)}`);
  if (!r.config.ok) {
    out.push('', `  Settings  REFUSED (config_invalid): ${r.config.message}`);
  }
  if (r.key) {
    const label = r.key.status === 'ok' ? 'ok' : r.key.status.toUpperCase().replace('_', ' ');
    out.push('', `  Key       ${label}: ${r.key.message}`);
  }
  if (r.models.length > 0) {
    out.push('');
    const rows = r.models.map((/** @type {ModelRow} */ m) => [
      `${m.model}${m.default ? ' *' : ''}`,
      m.status,
      m.listed === null ? '?' : m.listed ? 'yes' : 'no',
      m.modelVersion ?? '—',
      m.action,
    ]);
    const header = ['Model', 'Status', 'Listed', 'Answered by', 'What to change'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((/** @type {string[]} */ row) => row[i].length)));
    const line = (/** @type {string[]} */ cells) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}`.trimEnd();
    out.push(line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line));
    out.push('  (* the default model, GEMINI_MODEL)');
  }
  if (r.stream) {
    const st = r.stream;
    out.push('');
    if (st.ok) {
      const usage = st.usage ? `; usage ${st.usage.promptTokenCount} prompt + ${st.usage.candidatesTokenCount} answer${st.usage.thoughtsTokenCount ? ` + ${st.usage.thoughtsTokenCount} thinking` : ''} = ${st.usage.totalTokenCount} tokens` : '';
      out.push(`  Stream    ok: POST /api/chat/stream (${r.model}) — first text after ${st.ttftMs ?? '—'} ms, done after ${st.totalMs} ms (${st.finishReason})${usage}${st.model ? `; answered by ${st.model}` : ''}`);
    } else {
      out.push(`  Stream    FAILED: ${st.error ? `${st.error.code}: ${st.error.message}` : `HTTP ${st.status}`}`);
    }
  }
  if (r.warnings.length > 0) out.push('', '  Warnings', ...r.warnings.map((/** @type {string} */ w) => `    - ${w}`));
  if (r.problems.length > 0) out.push('', '  Problems', ...r.problems.map((/** @type {string} */ p) => `    - ${p}`));
  out.push('');
  out.push(
    r.ok
      ? `  Verdict   OK: a visitor's chat will work${r.warnings.length ? ` (${r.warnings.length} warning${r.warnings.length > 1 ? 's' : ''})` : ''}. Exit code 0.`
      : `  Verdict   BROKEN: ${r.problems.length} problem${r.problems.length > 1 ? 's' : ''} a visitor would hit. Exit code ${r.exitCode}.`,
  );
  out.push(`  (checked in ${seconds(r.durationMs)})`, '');
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Plumbing

/** Nothing the doctor prints holds a key. */
function redact(/** @type {string} */ text) {
  let safe = text;
  for (const secret of secrets) if (secret) safe = safe.split(secret).join('[redacted]');
  return safe;
}

async function cleanup() {
  const child = wrangler;
  wrangler = undefined;
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid, 'SIGTERM'); // the process group: wrangler and its workerd
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-/** @type {number} */ (child.pid), 'SIGKILL');
      } catch {
        // gone
      }
    }, 5_000);
    await exited;
    clearTimeout(timer);
  }
  if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
  secretsDir = undefined;
  await fake?.close();
  fake = undefined;
}


function elapsed() {
  return Math.round(performance.now() - started);
}

/** @param {number} ms */
function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
