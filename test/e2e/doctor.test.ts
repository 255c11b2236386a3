import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGemini } from '../../fake-gemini/server.mjs';

/**
 * `npm run doctor` (scripts/doctor.mjs) as a person runs it, against a fake Gemini
 * this file starts: each run starts its own wrangler dev, so there are six runs,
 * one per verdict worth telling apart (and one that starts nothing). The settings come from the environment and
 * a scratch .dev.vars (DOCTOR_DEV_VARS): nothing is written into the repository.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

let fake: Awaited<ReturnType<typeof startFakeGemini>>;
let scratch: string;
let devVars: string;

beforeAll(async () => {
  fake = await startFakeGemini();
  scratch = mkdtempSync(join(tmpdir(), 'doctor-test-'));
  devVars = join(scratch, '.dev.vars');
  // Overridden by the environment where a test sets the same name: env > .dev.vars > wrangler.toml.
  writeFileSync(devVars, 'GEMINI_MODEL=gemini-3.6-flash\nALLOWED_MODELS=gemini-3.5-flash-lite\n');
});

afterAll(async () => {
  await fake?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the doctor with these settings in its environment, pointed at the fake. */
function doctor(env: Record<string, string>, args: string[] = []): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/doctor.mjs', ...args], {
      cwd: root,
      env: {
        ...process.env,
        // No key nor setting of the machine's: only what the test gives.
        GEMINI_API_KEY: '',
        GOOGLE_AI_API_KEY: '',
        GEMINI_MODEL: '',
        ALLOWED_MODELS: '',
        OPENAI_COMPAT_KEYS: '',
        DOCTOR_DEV_VARS: devVars,
        GEMINI_BASE_URL: fake.url,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), 90_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Math.round(performance.now() - started) });
    });
  });
}

/** Nothing the doctor printed holds `secret`. */
function expectNoSecret(run: Run, secret: string) {
  expect(run.stdout).not.toContain(secret);
  expect(run.stderr).not.toContain(secret);
}

/** The model calls the fake saw since `from` (its records, in order). */
const callsSince = (from: number) => fake.records.slice(from);

describe('npm run doctor', () => {
  it('passes a healthy setup: exit 0, the table, time to first text and usage', async () => {
    const key = 'test-doctor-healthy-key-0001';
    const run = await doctor({ GEMINI_API_KEY: key, GEMINI_MODEL: 'gemini-3.8-flash' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expectNoSecret(run, key);
    const out = run.stdout;
    // The environment won over .dev.vars for GEMINI_MODEL; ALLOWED_MODELS came from .dev.vars.
    expect(out).toMatch(/GEMINI_MODEL=gemini-3\.8-flash {2}\(environment\)/);
    expect(out).toMatch(/ALLOWED_MODELS=gemini-3\.5-flash-lite {2}\(\.dev\.vars\)/);
    expect(out).toMatch(/Key {7}ok: Gemini accepted the key and listed \d+ models/);
    expect(out).toMatch(/^ {2}Model +Status +Listed +Answered by +What to change$/m);
    expect(out).toMatch(/^ {2}gemini-3\.8-flash \* +ok +yes +gemini-3\.8-flash +—$/m);
    expect(out).toMatch(/^ {2}gemini-3\.5-flash-lite +ok +yes +gemini-3\.5-flash-lite +—$/m);
    expect(out).toMatch(
      /Stream {4}ok: POST \/api\/chat\/stream \(gemini-3\.8-flash\) — first text after \d+ ms, done after \d+ ms \(STOP\); usage \d+ prompt \+ \d+ answer( \+ \d+ thinking)? = \d+ tokens/,
    );
    expect(out).toContain("Verdict   OK: a visitor's chat will work. Exit code 0.");
    expect(out).not.toContain('Problems');
    // "In under a minute", with room for a loaded machine.
    expect(run.ms).toBeLessThan(60_000);
  });

  it('reports a retired default model as the config_invalid the Worker answers, and exits 1 (with --fake: the key’s Gemini untouched)', async () => {
    const from = fake.records.length;
    const run = await doctor({ GEMINI_API_KEY: 'test-doctor-retired-key', GEMINI_MODEL: 'gemini-2.0-flash' }, ['--json', '--fake']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ ok: false, exitCode: 1, upstream: { kind: 'fake', why: '--fake' }, config: { ok: false }, models: [], stream: null });
    expect(report.upstream.url).not.toBe(fake.url);
    expect(report.config.message).toBe('GEMINI_MODEL names "gemini-2.0-flash", which Gemini shut down on 2026-06-01; use "gemini-3.8-flash" instead');
    expect(report.problems).toEqual([`The Worker refuses its settings (config_invalid): ${report.config.message}`]);
    // --fake: the Gemini of the key and GEMINI_BASE_URL (this file's fake) is not called, not even to list the models.
    expect(callsSince(from)).toEqual([]);
  });

  it('falls back to the built-in fake Gemini without a key, says so, and exits 0 with a warning', async () => {
    const from = fake.records.length;
    const run = await doctor({ GEMINI_MODEL: 'gemini-3.8-flash' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Gemini {4}the built-in fake Gemini at http:\/\/127\.0\.0\.1:\d+ \(no Gemini key in \.dev\.vars or the environment\)/);
    expect(run.stdout).toContain(
      'Checked against the built-in fake Gemini (no Gemini key in .dev.vars or the environment): the settings and the Worker were checked, not a real key.',
    );
    expect(run.stdout).toMatch(/Stream {4}ok: /);
    expect(run.stdout).toContain("Verdict   OK: a visitor's chat will work (1 warning). Exit code 0.");
    expect(callsSince(from)).toEqual([]);
  });

  it('refuses an unknown option with exit code 2 and the usage, starting nothing', async () => {
    const from = fake.records.length;
    const run = await doctor({}, ['--deep']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^doctor: unknown option "--deep"\nUsage: npm run doctor/);
    expect(run.ms).toBeLessThan(10_000);
    expect(callsSince(from)).toEqual([]);
  });

  it('names a standard key in plain words and exits 1', async () => {
    const key = 'AIzaSyDoctorTest-standard-key-0123456789';
    const run = await doctor({ GEMINI_API_KEY: key, GEMINI_MODEL: 'gemini-3.8-flash' });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expectNoSecret(run, key);
    // The key check and the stream say it in the same words: the chat routes'.
    const standard =
      "Gemini refused the Worker's key (401 Unauthorized): it is a standard API key, which Gemini no longer accepts (since September 2026); create an auth key in Google AI Studio (aistudio.google.com/apikey) and set it with wrangler secret put GEMINI_API_KEY";
    expect(run.stdout).toContain(`Key       STANDARD KEY: ${standard}`);
    expect(run.stdout).toMatch(/^ {2}gemini-3\.8-flash \* +auth +\? +— +fix the key \(above\)$/m);
    expect(run.stdout).toContain(`Stream    FAILED: upstream_auth: ${standard}`);
    expect(run.stdout).toContain('Verdict   BROKEN: 2 problems a visitor would hit. Exit code 1.');
    // Google's own words stay out.
    expect(run.stdout).not.toContain('Request had invalid authentication credentials');
  });

  it('warns of a rerouted model in ALLOWED_MODELS, naming the model that answers, and exits 0', async () => {
    const run = await doctor({ GEMINI_API_KEY: 'test-doctor-reroute-key', GEMINI_MODEL: 'gemini-3.8-flash', ALLOWED_MODELS: 'gemini-flash-latest' }, ['--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.ok).toBe(true);
    expect(report.models).toMatchObject([
      { model: 'gemini-3.8-flash', status: 'ok', setting: 'GEMINI_MODEL' },
      {
        model: 'gemini-flash-latest',
        status: 'rerouted',
        callable: true,
        modelVersion: 'gemini-3.8-flash',
        reroutedTo: 'gemini-3.8-flash',
        setting: 'ALLOWED_MODELS',
        action: 'name gemini-3.8-flash in ALLOWED_MODELS to pin it',
      },
    ]);
    expect(report.warnings).toEqual([expect.stringMatching(/^gemini-flash-latest \(ALLOWED_MODELS\): gemini-flash-latest is answered by gemini-3\.8-flash/)]);
    expect(report.problems).toEqual([]);
    expect(report.stream).toMatchObject({ ok: true, finishReason: 'STOP', ttftMs: expect.any(Number), usage: { totalTokenCount: expect.any(Number) } });
  });

  it('tells a key without Pro quota (no_quota) apart, and exits 1', async () => {
    const key = 'test-free-key';
    const run = await doctor({ GEMINI_API_KEY: key, GEMINI_MODEL: 'gemini-3.8-flash', ALLOWED_MODELS: 'gemini-3.1-pro-preview' });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expectNoSecret(run, key);
    expect(run.stdout).toMatch(/Key {7}ok: /);
    expect(run.stdout).toMatch(/^ {2}gemini-3\.1-pro-preview +no_quota +yes +— +enable billing for the key's project, or remove it from ALLOWED_MODELS$/m);
    expect(run.stdout).toContain(
      'gemini-3.1-pro-preview (ALLOWED_MODELS): Gemini gives this key\'s project no quota for the model "gemini-3.1-pro-preview" (429 Too Many Requests)',
    );
    // The default model works, and so does the stream: only the Pro model is broken.
    expect(run.stdout).toMatch(/Stream {4}ok: /);
    expect(run.stdout).toContain('Verdict   BROKEN: 1 problem a visitor would hit. Exit code 1.');
    expect(run.stdout).not.toContain('You exceeded your current quota');
  });
});
