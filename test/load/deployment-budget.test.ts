import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../e2e/dev-server';

/**
 * The deployment's cap (DEPLOYMENT_DAILY_TOKEN_BUDGET) under real `wrangler
 * dev`: exact under concurrency across many clients, and the rate of admitted
 * requests it sustains beside no limits and the per-client limiter. Rates are
 * printed as ratios, never asserted: this machine is shared and noisy.
 * Clients are told apart by CF-Connecting-IP, which wrangler dev passes through.
 */

const servers: { dev: DevServer; storage: string }[] = [];

/** `npm run dev` with these settings; the per-client limits off unless `limits`. */
async function start(vars: Record<string, string>, limits = false): Promise<DevServer> {
  // Storage of its own: the counts are durable, and would carry over from another run.
  const storage = await mkdtemp(join(tmpdir(), 'gemini-edge-budget-'));
  const args = ['--persist-to', storage, ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`])];
  const dev = await startDevServer(args, {}, { limits });
  servers.push({ dev, storage });
  return dev;
}

async function stop(dev: DevServer): Promise<void> {
  await dev.stop();
  const i = servers.findIndex((s) => s.dev === dev);
  await rm(servers[i].storage, { recursive: true, force: true });
  servers.splice(i, 1);
}

afterAll(async () => {
  for (const { dev } of [...servers]) await stop(dev);
});

/** The i-th of many clients. */
const clientIp = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) + 1}`;

/** One small answer (the same number of tokens every time); its status, tokens, and a refusal's code and Retry-After. */
async function ask(dev: DevServer, i: number): Promise<{ status: number; tokens: number; code?: string; retryAfter: string | null }> {
  const response = await fetch(`${dev.url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': clientIp(i) },
    body: JSON.stringify({ message: 'Count me [fake:reply chunks=1]' }),
  });
  const body = (await response.json()) as { usage?: { totalTokenCount: number }; error?: { code: string } };
  return { status: response.status, tokens: body.usage?.totalTokenCount ?? 0, code: body.error?.code, retryAfter: response.headers.get('retry-after') };
}

/** `total` requests from as many clients, `concurrency` at a time; admitted requests per second. */
async function rate(dev: DevServer, total: number, concurrency: number, offset: number): Promise<number> {
  let next = 0;
  let admitted = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const { status } = await ask(dev, offset + next++);
        if (status === 200) admitted++;
      }
    }),
  );
  expect(admitted).toBe(total);
  return (admitted / (performance.now() - started)) * 1000;
}

const TOTAL = 600;
const CONCURRENCY = 60;

describe('DEPLOYMENT_DAILY_TOKEN_BUDGET under load', () => {
  it('is exact under 300 concurrent requests from 300 clients, and never refuses while an answer’s tokens remain', async () => {
    const probe = await start({});
    const { tokens: answer } = await ask(probe, 0);
    await stop(probe);
    expect(answer).toBeGreaterThan(0);
    // Room for 100 answers; 300 arrive at once, spread over the shards.
    const cap = answer * 100 + Math.floor(answer / 2);
    const dev = await start({ DEPLOYMENT_DAILY_TOKEN_BUDGET: String(cap), DEPLOYMENT_ANSWER_RESERVE: String(answer), DEPLOYMENT_BUDGET_SHARDS: '16' });
    const wave = await Promise.all(Array.from({ length: 300 }, (_, i) => ask(dev, 1000 + i)));
    expect(wave.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([]);
    let spent = wave.reduce((sum, r) => sum + r.tokens, 0);
    const admitted = wave.filter((r) => r.status === 200).length;
    // The ones refused were refused by the deployment's cap (the per-client limits are off), each told when to come back.
    const refused = wave.filter((r) => r.status === 429);
    expect(refused.filter((r) => r.code !== 'deployment_budget_exhausted' || !/^\d+$/.test(r.retryAfter ?? ''))).toEqual([]);
    // What the wave left (reservations given back as answers ended) is still admitted, one by one.
    let after = 0;
    for (let i = 0; i < 110; i++) {
      const { status, tokens } = await ask(dev, 2000 + i);
      if (status !== 200) break;
      spent += tokens;
      after++;
    }
    console.log(`deployment cap ${cap} (${answer} tokens an answer): ${admitted} of 300 concurrent admitted, ${after} more one by one; spent ${spent} (${cap - spent} left, less than one answer)`);
    expect(spent).toBeLessThanOrEqual(cap);
    expect(cap - spent).toBeLessThan(answer);
    expect(admitted + after).toBe(100);
    await stop(dev);
  });

  it('sustains the admission rate of no limits and of the per-client limiter (ratios reported, not asserted)', async () => {
    const rates: Record<string, number> = {};
    // Every client is new, so the per-client limiter admits them all: what is measured is its cost.
    const configs: [string, Record<string, string>, boolean][] = [
      ['no limits', {}, false],
      ['per-client limiter', { RATE_LIMIT_PER_MINUTE: '1000', CHAT_CREATE_PER_MINUTE: '10', DAILY_TOKEN_BUDGET: '100000000' }, true],
      ['deployment cap', { DEPLOYMENT_DAILY_TOKEN_BUDGET: '1000000000' }, false],
    ];
    for (const [name, vars, limits] of configs) {
      const dev = await start(vars, limits);
      await rate(dev, 60, 20, 50_000); // warm up: the isolate, the objects, the fake's sockets
      rates[name] = await rate(dev, TOTAL, CONCURRENCY, 60_000);
      await stop(dev);
    }
    const base = rates['no limits'];
    console.log(
      `admitted requests per second, ${TOTAL} requests from ${TOTAL} clients, ${CONCURRENCY} at a time, each with a 1-chunk answer:\n` +
        Object.entries(rates)
          .map(([name, r]) => `  ${name.padEnd(20)} ${r.toFixed(0).padStart(6)} /s   ${(r / base).toFixed(2)} × no limits`)
          .join('\n') +
        `\n  deployment cap / per-client limiter: ${(rates['deployment cap'] / rates['per-client limiter']).toFixed(2)}`,
    );
  });
});
