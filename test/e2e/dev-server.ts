import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../scripts/free-port.mjs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface DevServer {
  url: string;
  /** The fake Gemini the dev script started (it prints its address). */
  fakeUrl: string | undefined;
  output: () => string;
  stop: () => Promise<void>;
}

/** With `limits: false` (the default), the per-client limits are off: every test request comes from 127.0.0.1. */
export interface DevServerOptions {
  limits?: boolean;
}

const LIMITS_OFF = ['--var', 'RATE_LIMIT_PER_MINUTE:0', '--var', 'CHAT_CREATE_PER_MINUTE:0', '--var', 'DAILY_TOKEN_BUDGET:0'];

/**
 * Runs `npm run dev` (scripts/dev.mjs) the way a newcomer does, with no key,
 * on free ports, and waits until wrangler says it is ready.
 */
export async function startDevServer(extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}, { limits = false }: DevServerOptions = {}): Promise<DevServer> {
  const port = await freePort();
  const inspector = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ['scripts/dev.mjs', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector), ...(limits ? [] : LIMITS_OFF), ...extraArgs],
    {
      cwd: root,
      env: {
        ...process.env,
        GEMINI_API_KEY: '',
        GOOGLE_AI_API_KEY: '',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_SEND_METRICS: 'false',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 60_000;
  while (!/Ready on http/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`npm run dev did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    fakeUrl: /fake Gemini at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1],
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        // The whole process group: the dev script, wrangler and workerd.
        process.kill(-child.pid!, 'SIGTERM');
        const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
