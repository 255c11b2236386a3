#!/usr/bin/env node
/**
 * `npm run bench`: what the stream path costs, measured side by side.
 *
 * Three Workers run under `wrangler dev` against one fake Gemini (a separate
 * process): gemini-edge itself, a raw pass-through (the floor) and the
 * original Next.js-style route ported to a Worker. Each scenario runs them one
 * at a time, in a rotating order, for several rounds, so they never compete
 * for the cores. Results are medians over rounds, and ratios against the
 * baselines: wrangler dev adds a per-chunk cost of its own that is the same for
 * all three, so ratios, not absolute times, are the result.
 *
 * Options: --rounds N, --quick (a short run that proves the harness works),
 * --only scenario[,scenario] (a scenario's name, or its group: `--only thinking` runs
 * `thinking` and `thinking-frames`), --no-write (do not rewrite bench/RESULTS.md),
 * --via-proxy (send the load through wrangler dev's proxy; see workerProcess),
 * --cpu user|system|total (which CPU time to count; total by default),
 * --probes (also run the probe Workers in bench/probes, which split the cost
 * of the stream path into its parts), --variants name[,name] (only these Workers,
 * e.g. edge,original while trying a change; ratios to a Worker left out are blank),
 * --render (rewrite bench/RESULTS.md from bench/results/latest.json and bench/NOTES.md,
 * running nothing: after editing the notes).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { writeAssistantsModule } from '../scripts/assistants.mjs';
import { freePort } from '../scripts/free-port.mjs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    'via-proxy': { type: 'boolean', default: false },
    cpu: { type: 'string', default: 'total' },
    probes: { type: 'boolean', default: false },
    variants: { type: 'string' },
    render: { type: 'boolean', default: false },
  },
});
const quick = opts.quick;
const rounds = Number(opts.rounds ?? (quick ? 1 : 5));

/**
 * @typedef {{ name: string, label: string, config: string, path: string, text: (frame: string) => boolean, done: (frame: string) => boolean,
 *   thought?: (frame: string) => boolean, vars?: string[], clients?: number, fresh?: boolean, skip?: string[], only?: string[] }} Variant
 * `thought`: a thought-summary frame (only Workers that show thoughts); `clients`: requests come from that many
 * clients in turn (CF-Connecting-IP); `fresh`: storage of its own (counts are durable); `skip`: scenarios it sits
 * out; `only`: the only scenarios it runs.
 */
/** @type {Variant[]} */
const VARIANTS = [
  {
    name: 'edge',
    label: 'gemini-edge',
    config: 'wrangler.toml',
    path: '/api/chat/stream',
    text: (f) => f.startsWith('event: text'),
    thought: (f) => f.startsWith('event: thought'),
    done: (f) => f.startsWith('event: done'),
    // The bench is one client making thousands of requests: the per-client limits would
    // refuse nearly all of them. They are measured on their own (issue 11), not here.
    vars: ['RATE_LIMIT_PER_MINUTE:0', 'CHAT_CREATE_PER_MINUTE:0', 'DAILY_TOKEN_BUDGET:0'],
  },
  {
    // gemini-edge with the owner's dashboard on (ADMIN_KEY, issue 21): each request counted in its
    // isolate's batch when its log line is written, the batch sent to the day's StatsDay once a
    // second with waitUntil. Against `edge`, what counting costs a request.
    name: 'dashboard',
    label: 'gemini-edge, dashboard on',
    config: 'wrangler.toml',
    path: '/api/chat/stream',
    text: (f) => f.startsWith('event: text'),
    thought: (f) => f.startsWith('event: thought'),
    done: (f) => f.startsWith('event: done'),
    vars: ['RATE_LIMIT_PER_MINUTE:0', 'CHAT_CREATE_PER_MINUTE:0', 'DAILY_TOKEN_BUDGET:0', 'ADMIN_KEY:bench-admin-key-0123456789'],
    only: ['short', 'typical'],
  },
  {
    // The same Worker with its default settings: CORS, the rate limit and the token budget on,
    // the limiter's Durable Object (same workerd) counted. 128 clients keep every one of them
    // under 20 requests a minute; the 10 MB answer would spend a client's daily budget at once.
    name: 'limits',
    label: 'gemini-edge, limits on',
    config: 'wrangler.toml',
    path: '/api/chat/stream',
    text: (f) => f.startsWith('event: text'),
    thought: (f) => f.startsWith('event: thought'),
    done: (f) => f.startsWith('event: done'),
    clients: 128,
    fresh: true,
    skip: ['large'],
  },
  {
    name: 'passthrough',
    label: 'pass-through',
    config: 'bench/baselines/wrangler.passthrough.toml',
    path: '/',
    // Gemini 3 ends with an event whose only text is "" (it carries the thought signature): not a text frame.
    text: (f) => f.includes('"text"') && !f.includes('"text":""'),
    done: (f) => f.includes('"finishReason"'),
  },
  {
    name: 'original',
    label: 'original route',
    config: 'bench/baselines/wrangler.original-route.toml',
    path: '/',
    text: (f) => f.startsWith('data: {"text"'),
    done: (f) => f.startsWith('data: {"done":true'),
  },
];

/**
 * The floor of any parser in JavaScript (bench/probes/lean-parse.ts): the burst target is a
 * ratio to it, so it runs in every burst, not only with --probes.
 * @type {Variant}
 */
const LEAN_PARSE = {
  name: 'leanparse',
  label: 'probe: lean parse',
  config: 'bench/probes/wrangler.lean-parse.toml',
  path: '/',
  text: (f) => f.startsWith('event: text'),
  done: (f) => f.startsWith('event: done'),
};

/**
 * Probes: Workers that each do one part of the stream path, so a run shows
 * where the cost over the pass-through goes (bench/NOTES.md).
 * @type {Variant[]}
 */
const PROBES = [
  {
    name: 'readonly',
    label: 'probe: JS read only',
    config: 'bench/probes/wrangler.read-only.toml',
    path: '/',
    text: () => false,
    done: (f) => f.startsWith('data: {"done":true'),
  },
  {
    name: 'jspipe',
    label: 'probe: JS pipe',
    config: 'bench/probes/wrangler.js-pipe.toml',
    path: '/',
    // Gemini 3 ends with an event whose only text is "" (it carries the thought signature): not a text frame.
    text: (f) => f.includes('"text"') && !f.includes('"text":""'),
    done: (f) => f.includes('"finishReason"'),
  },
  {
    name: 'sdkdrain',
    label: 'probe: SDK parse only',
    config: 'bench/probes/wrangler.sdk-drain.toml',
    path: '/',
    text: () => false,
    done: (f) => f.startsWith('data: {"done":true'),
  },
  {
    name: 'handparse',
    label: 'probe: hand parse',
    config: 'bench/probes/wrangler.hand-parse.toml',
    path: '/',
    text: (f) => f.startsWith('event: text'),
    done: (f) => f.startsWith('event: done'),
  },
  LEAN_PARSE,
];
VARIANTS.push(...(opts.probes ? PROBES : [{ ...LEAN_PARSE, only: ['burst'] }]));
if (opts.variants) {
  const wanted = opts.variants.split(',');
  VARIANTS.splice(0, VARIANTS.length, ...VARIANTS.filter((v) => wanted.includes(v.name)));
}

/**
 * @typedef {{ name: string, title: string, directive: string, streams: number, concurrent?: boolean, memory?: boolean,
 *   group?: string, variants?: string[], body?: object, kinds?: { name: string, directive: string }[] }} Scenario
 * `group`: `--only` picks it by this name too; `variants`: the only Workers that run it; `body`: fields sent
 * with the message, to every Worker alike (the same request); `kinds`: its streams take these directives in
 * turn, one after another, and each kind's CPU per chunk is reported on its own (`directive` unused).
 */
/**
 * Issue 18: thinking, shown. The fake thinks for a set time (8 summaries 250 ms apart), then answers at the same
 * pace; `unshown=wait` makes it take that time also for a Worker that does not ask for the summaries (the
 * original route), so every Worker's first answer text comes at the same moment. Every Worker gets the same
 * body; gemini-edge shows the thoughts, the original route ignores `thinking` (bench/NOTES.md).
 * @returns {Scenario}
 */
const thinking = (streams) => ({
  name: 'thinking',
  group: 'thinking',
  title: '8 thought summaries 250 ms apart (2 s of thinking), then 8 answer chunks 250 ms apart',
  directive: 'thoughts=8 delay=250 chunks=8 chunkchars=100 unshown=wait',
  body: { thinking: { show: true } },
  variants: ['edge', 'original'],
  streams,
});
/**
 * Thought frames and text frames take the same path in gemini-edge: bursts of each, of about the same size.
 * @returns {Scenario}
 */
const thinkingFrames = (frames, streams) => ({
  name: 'thinking-frames',
  group: 'thinking',
  title: `bursts of ${frames.toLocaleString('en')} thought frames and of ${frames.toLocaleString('en')} text frames, in turn`,
  directive: '',
  kinds: [
    { name: 'thought', directive: `thoughts=${frames} chunks=1 delay=0` },
    // About the size of a thought summary (110 characters), so only the frame's kind differs.
    { name: 'text', directive: `thoughts=none chunks=${frames} chunkchars=110 delay=0` },
  ],
  body: { thinking: { show: true } },
  variants: ['edge'],
  streams,
});
/** @type {Scenario[]} */
const SCENARIOS = quick
  ? [
      { name: 'paced-40', title: 'paced, 40 chunks 20 ms apart', directive: 'chunks=40 delay=20', streams: 1 },
      { name: 'burst', title: 'burst, 1,000 chunks', directive: 'chunks=1000 delay=0', streams: 1 },
      { name: 'large', title: '1 MB answer in 1 chunk', directive: 'chunks=1 chunkchars=1000000', streams: 1, memory: true },
      { name: 'short', title: '50 one-chunk answers, one after another', directive: 'chunks=1', streams: 50 },
      { name: 'typical', title: 'a typical answer: 30 chunks of about 100 characters', directive: 'chunks=30 chunkchars=100 delay=10', streams: 5 },
      { name: 'concurrent-50', title: '50 concurrent paced streams', directive: 'chunks=10 delay=50', streams: 50, concurrent: true },
      thinking(1),
      thinkingFrames(1000, 2),
    ]
  : [
      // Several streams a round where one gives few samples: a p99 over 40 chunks is one outlier.
      { name: 'paced-40', title: 'paced, 40 chunks 50 ms apart', directive: 'chunks=40 delay=50', streams: 5 },
      { name: 'paced-400', title: 'paced, 400 chunks 20 ms apart', directive: 'chunks=400 delay=20', streams: 1 },
      { name: 'burst', title: 'burst, 3,000 chunks as fast as possible', directive: 'chunks=3000 delay=0', streams: 5 },
      { name: 'large', title: '10 MB answer in 1 MB chunks', directive: 'chunks=10 chunkchars=1000000', streams: 1, memory: true },
      // One chunk each: CPU per 1,000 chunks is then CPU per 1,000 requests, the fixed cost of a request.
      { name: 'short', title: '300 one-chunk answers, one after another', directive: 'chunks=1', streams: 300 },
      // What a user can judge the plan by: CPU per answer of a common size, next to the free plan's 10 ms.
      { name: 'typical', title: 'a typical answer: 30 chunks of about 100 characters', directive: 'chunks=30 chunkchars=100 delay=10', streams: 30 },
      { name: 'concurrent-100', title: '100 concurrent paced streams', directive: 'chunks=20 delay=50', streams: 100, concurrent: true },
      { name: 'concurrent-500', title: '500 concurrent paced streams', directive: 'chunks=20 delay=50', streams: 500, concurrent: true },
      { name: 'concurrent-1000', title: '1,000 concurrent paced streams', directive: 'chunks=20 delay=50', streams: 1000, concurrent: true },
      // Together about 3 minutes of a full run (bench/NOTES.md, "Thinking, shown").
      thinking(3),
      thinkingFrames(3000, 6),
    ];
// gemini-edge imports its site assistants (none here) from the module the build writes.
writeAssistantsModule();
const only = opts.only?.split(',');
const scenarios = only ? SCENARIOS.filter((s) => only.includes(s.name) || (s.group && only.includes(s.group))) : SCENARIOS;

const children = [];
process.on('exit', () => {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));


/** Starts a command in its own process group and waits until its output matches `ready`. */
async function start(label, args, ready, env = {}) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', ...env },
  });
  children.push(child);
  let output = '';
  const collect = (d) => {
    if (output.length < 100_000) output += d;
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const deadline = Date.now() + 90_000;
  while (!ready.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${label} did not start:\n${output}`);
    await sleep(100);
  }
  return child;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.timeOrigin + performance.now();

/** Every descendant process of `pid` named `name`, from /proc. */
function descendants(pid, name) {
  const parents = new Map();
  const names = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
      parents.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]));
    } catch {}
  }
  const found = [];
  for (const [child] of parents) {
    for (let p = child; p && p !== 1; p = parents.get(p) ?? 0) {
      if (p === pid && names.get(child) === name) {
        found.push(child);
        break;
      }
    }
  }
  return found;
}

/** The TCP ports process `pid` listens on, from /proc (no tools needed). */
function listeningPorts(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(link);
      if (match) inodes.add(match[1]);
    } catch {}
  }
  const ports = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[3] === '0A' && inodes.has(cols[9])) ports.push(parseInt(cols[1].split(':')[1], 16));
  }
  return ports;
}

/**
 * wrangler dev runs two workerd processes: a dev proxy on the public port,
 * and the Worker itself (the one with an inspector). The proxy costs about a
 * millisecond of CPU per streamed chunk and exists only in development, so by
 * default the load goes straight to the Worker's own socket, and only that
 * process is measured. `--via-proxy` sends it through the proxy instead.
 */
async function workerProcess(wranglerPid, variant) {
  for (const pid of descendants(wranglerPid, 'workerd')) {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--inspector-addr')) continue;
    for (const port of listeningPorts(pid)) {
      const probe = await Promise.race([stream(variant, port, 'probe [fake:reply chunks=1]'), sleep(3000).then(() => undefined)]);
      if (probe?.ok) return { pid, port };
    }
  }
  throw new Error(`could not find the Worker process of ${variant.label}`);
}

const TICK = 100; // clock ticks a second (CLK_TCK is 100 on Linux)
/** CPU seconds (user + system) used so far by these processes. */
function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const user = Number(fields[11]);
      const system = Number(fields[12]);
      ticks += opts.cpu === 'user' ? user : opts.cpu === 'system' ? system : user + system;
    } catch {}
  }
  return ticks / TICK;
}

function rssMiB(pids) {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {}
  }
  return kb / 1024;
}

const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const STREAM_TIMEOUT_MS = 60_000;

/**
 * One streamed answer: POSTs the message and notes when the first byte, the
 * first thought frame and each text frame arrive.
 * @param {Variant} variant
 * @param {number} port
 * @param {string} message
 * @param {object} [extra] more fields of the body (a scenario's `body`)
 */
let clientTurn = 0;

function stream(variant, port, message, extra = {}) {
  return new Promise((resolve) => {
    const body = JSON.stringify({ message, ...extra });
    const started = now();
    const result = {
      ok: false, status: 0, started, firstByte: 0, firstThought: 0, ended: 0, arrivals: /** @type {number[]} */ ([]), done: false, error: '', cpu: NaN,
    };
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (variant.clients) {
      const client = clientTurn++ % variant.clients;
      headers['cf-connecting-ip'] = `10.${client >> 8}.${client & 255}.1`;
    }
    const req = request(
      { host: '127.0.0.1', port, path: variant.path, method: 'POST', agent, headers },
      (res) => {
        result.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        let buffer = '';
        const separator = /\r?\n\r?\n/g;
        res.on('data', (text) => {
          const at = now();
          if (!result.firstByte) result.firstByte = at;
          // Scan only the new text (and the 3 characters before it): a megabyte frame stays linear.
          separator.lastIndex = Math.max(0, buffer.length - 3);
          buffer += text;
          let start = 0;
          for (let match; (match = separator.exec(buffer)); ) {
            const frame = buffer.slice(start, match.index);
            start = match.index + match[0].length;
            if (variant.text(frame)) result.arrivals.push(at);
            else if (!result.firstThought && variant.thought?.(frame)) result.firstThought = at;
            if (variant.done(frame)) result.done = true;
          }
          buffer = buffer.slice(start);
        });
        res.on('end', () => {
          result.ended = now();
          result.ok = result.status === 200 && result.done;
          if (!result.ok) result.error = `status ${result.status}, ${result.done ? 'done' : 'no done frame'}: ${buffer.slice(0, 200)}`;
          resolve(result);
        });
        res.on('error', (error) => {
          result.error = String(error);
          resolve(result);
        });
      },
    );
    req.on('error', (error) => {
      result.error = String(error);
      result.ended = now();
      resolve(result);
    });
    // A stream that never ends is an error, not a hung benchmark.
    req.setTimeout(STREAM_TIMEOUT_MS, () => req.destroy(new Error(`no data for ${STREAM_TIMEOUT_MS} ms`)));
    req.end(body);
  });
}

async function fakeRecord(fakeUrl, tag) {
  const records = await (await fetch(`${fakeUrl}/__fake/requests?tag=${tag}`)).json();
  return records[0];
}

const quantile = (values, q) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
/** The middle value; for an even count, the mean of the two middle ones. */
const median = (values) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Runs one scenario once on one variant and measures it. */
async function measure(scenario, variant, server, fakeUrl, round) {
  const workerd = server.pids;
  await fetch(`${fakeUrl}/__fake/requests`, { method: 'DELETE' });
  const tags = Array.from({ length: scenario.streams }, (_, i) => `b${round}${variant.name}${scenario.name}${i}`.replace(/[^a-z0-9]/gi, ''));
  const cpuBefore = cpuSeconds(workerd);
  const rssBefore = rssMiB(workerd);
  let peak = rssBefore;
  const sampler = scenario.memory ? setInterval(() => (peak = Math.max(peak, rssMiB(workerd))), 10) : undefined;

  const started = now();
  // Kinds take turns, starting one further each round.
  const kindOf = (i) => scenario.kinds?.[(i + round) % scenario.kinds.length];
  const messages = tags.map((tag, i) => `bench [fake:reply ${kindOf(i)?.directive ?? scenario.directive} tag=${tag}]`);
  const results = [];
  if (scenario.concurrent) {
    results.push(...(await Promise.all(messages.map((m) => stream(variant, server.port, m, scenario.body)))));
  } else {
    for (const m of messages) {
      // Each stream's own CPU only where kinds need it: the other scenarios' loops stay as they were.
      const before = scenario.kinds ? cpuSeconds(workerd) : NaN;
      const result = await stream(variant, server.port, m, scenario.body);
      if (scenario.kinds) result.cpu = cpuSeconds(workerd) - before;
      results.push(result);
    }
  }
  const wall = now() - started;
  if (sampler) clearInterval(sampler);
  const cpu = cpuSeconds(workerd) - cpuBefore;

  const delays = [];
  let chunks = 0;
  /** CPU seconds and chunks of each kind. */
  const kinds = Object.fromEntries((scenario.kinds ?? []).map((k) => [k.name, { cpu: 0, chunks: 0 }]));
  if (!scenario.concurrent) {
    for (let i = 0; i < tags.length; i++) {
      const record = await fakeRecord(fakeUrl, tags[i]);
      // Thought summaries are chunks too (thinking.show); without it the fake sends none.
      const sent = (record?.chunksSent ?? 0) + (record?.thoughtChunksSent ?? 0);
      chunks += sent;
      const kind = kindOf(i);
      if (kind) {
        kinds[kind.name].cpu += results[i].cpu;
        kinds[kind.name].chunks += sent;
      }
      const arrivals = results[i].arrivals;
      if (record && arrivals.length === record.sentAt.length) {
        for (let k = 0; k < arrivals.length; k++) delays.push(arrivals[k] - record.sentAt[k]);
      }
    }
  } else {
    chunks = results.reduce((sum, r) => sum + r.arrivals.length, 0);
  }
  const errors = results.filter((r) => !r.ok).length;
  const after = (at, r) => (at ? at - r.started : NaN);
  return {
    errors,
    firstError: results.find((r) => !r.ok)?.error || results.find((r) => !r.ok)?.status,
    wallMs: scenario.concurrent ? wall : median(results.map((r) => r.ended - r.started)),
    ttfbMs: median(results.map((r) => r.firstByte - r.started)),
    firstThoughtMs: median(results.map((r) => after(r.firstThought, r)).filter((v) => !Number.isNaN(v))),
    firstTextMs: median(results.map((r) => after(r.arrivals[0], r)).filter((v) => !Number.isNaN(v))),
    delayP50: quantile(delays, 0.5),
    delayP99: quantile(delays, 0.99),
    chunks,
    cpuPer1000: chunks ? (cpu / chunks) * 1000 : NaN,
    peakRssMiB: scenario.memory ? peak - rssBefore : undefined,
    kindCpuPer1000: scenario.kinds ? Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, v.chunks ? (v.cpu / v.chunks) * 1000 : NaN])) : undefined,
  };
}

/**
 * Starts a wrangler dev for each variant, finds its Worker process and warms it up.
 * @param {Variant[]} variants
 * @param {string} fakeUrl
 * @param {object} [body] the scenario's extra body fields, so the warm-up takes its path
 */
async function startServers(variants, fakeUrl, body) {
  const servers = {};
  for (const variant of variants) {
    let port = 0;
    let child;
    // workerd picks internal ports of its own, which another process may take first ("Address
    // already in use", seen once in a full run): a fresh start, on fresh ports, is the remedy.
    for (let attempt = 1; !child; attempt++) {
      port = await freePort();
      const inspector = await freePort();
      try {
        child = await start(
          variant.label,
          [
            'node_modules/wrangler/bin/wrangler.js', 'dev', '-c', variant.config, '--ip', '127.0.0.1', '--port', String(port),
            '--inspector-port', String(inspector), '--var', `GEMINI_BASE_URL:${fakeUrl}`, '--var', 'GEMINI_API_KEY:bench-key',
            '--show-interactive-dev-session=false',
            ...(variant.vars ?? []).flatMap((v) => ['--var', v]),
            ...(variant.fresh ? ['--persist-to', mkdtempSync(`${os.tmpdir()}/gemini-edge-bench-`)] : []),
          ],
          /Ready on http/,
        );
      } catch (error) {
        if (attempt >= 3 || !/Address already in use/.test(String(error))) throw error;
        console.warn(`${variant.label}: a port was taken while it started; starting again`);
      }
    }
    if (opts['via-proxy']) {
      servers[variant.name] = { child, port, pids: descendants(child.pid, 'workerd') };
    } else {
      const worker = await workerProcess(child.pid, variant);
      servers[variant.name] = { child, port: worker.port, pids: [worker.pid] };
    }
    // Warm up: the first requests compile and optimise the Worker.
    for (let i = 0; i < 3; i++) await stream(variant, servers[variant.name].port, 'warm up [fake:reply chunks=50]', body);
  }
  return servers;
}

/** Stops the wrangler dev servers (each its own process group) and waits until they are gone. */
async function stopServers(servers) {
  for (const { child } of Object.values(servers)) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    children.splice(children.indexOf(child), 1);
  }
}

async function main() {
  if (opts.render) {
    writeFileSync(`${root}bench/RESULTS.md`, resultsMarkdown(JSON.parse(readFileSync(`${root}bench/results/latest.json`, 'utf8'))));
    console.error('wrote bench/RESULTS.md');
    return;
  }
  const fakePort = await freePort();
  const fakeUrl = `http://127.0.0.1:${fakePort}`;
  console.error('starting the fake Gemini; each scenario starts its own wrangler dev servers…');
  await start('fake Gemini', ['fake-gemini/cli.mjs', '--port', String(fakePort), '--delay', '0'], /listening/);
  const results = {};
  for (const scenario of scenarios) {
    results[scenario.name] = Object.fromEntries(VARIANTS.map((v) => [v.name, []]));
    const runs = (variant) =>
      !variant.skip?.includes(scenario.name) && (!variant.only || variant.only.includes(scenario.name)) && (!scenario.variants || scenario.variants.includes(variant.name));
    // Fresh servers for every scenario: wrangler dev's processes grow under load (the 10 MB answers
    // alone leave workerd near 1 GB), and five of them kept for a whole run ran this 24 GiB machine
    // out of memory. It also keeps one scenario's leftovers out of the next one's figures.
    const servers = await startServers(VARIANTS.filter(runs), fakeUrl, scenario.body);
    // Concurrency is judged by errors, not by medians: two rounds are enough there.
    const scenarioRounds = scenario.concurrent ? Math.min(rounds, 2) : rounds;
    for (let round = 0; round < scenarioRounds; round++) {
      // Rotate the order each round so no variant always runs first (or after the same one).
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
      for (const variant of order) {
        if (!runs(variant)) continue;
        const m = await measure(scenario, variant, servers[variant.name], fakeUrl, round);
        results[scenario.name][variant.name].push(m);
        console.error(
          `${scenario.name} round ${round + 1} ${variant.label}: wall ${m.wallMs.toFixed(0)} ms, cpu/1k ${m.cpuPer1000.toFixed(3)} s, errors ${m.errors}${m.errors ? ` (first: ${m.firstError})` : ''}`,
        );
        await sleep(scenario.concurrent ? 2000 : 300);
      }
    }
    await stopServers(servers);
  }

  const summary = summarize(results);
  printTable(summary);
  mkdirSync(`${root}bench/results`, { recursive: true });
  const report = { date: new Date().toISOString(), machine: machine(), rounds, quick, viaProxy: opts['via-proxy'], summary, raw: results };
  writeFileSync(`${root}bench/results/latest.json`, JSON.stringify(report, null, 2));
  console.error('wrote bench/results/latest.json');
  if (!quick && !only && !opts['no-write']) {
    writeFileSync(`${root}bench/RESULTS.md`, resultsMarkdown(report));
    console.error('wrote bench/RESULTS.md');
  }
  // Timings are reported, never judged here (the machine is shared); a stream that failed is a bug.
  const failed = Object.values(summary).reduce((n, row) => n + VARIANTS.reduce((m, v) => m + (row[v.name]?.errors ?? 0), 0), 0);
  if (failed) console.error(`${failed} streams failed`);
  process.exit(failed ? 1 : 0);
}

function summarize(results) {
  const summary = {};
  for (const [name, byVariant] of Object.entries(results)) {
    const med = (variant, key) => median(byVariant[variant].map((m) => m[key]).filter((v) => v !== undefined && !Number.isNaN(v)));
    const row = { title: SCENARIOS.find((s) => s.name === name)?.title };
    for (const v of VARIANTS) {
      if (!byVariant[v.name]?.length) continue;
      const kinds = byVariant[v.name][0].kindCpuPer1000;
      row[v.name] = {
        wallMs: med(v.name, 'wallMs'),
        ttfbMs: med(v.name, 'ttfbMs'),
        firstThoughtMs: med(v.name, 'firstThoughtMs'),
        firstTextMs: med(v.name, 'firstTextMs'),
        delayP50: med(v.name, 'delayP50'),
        delayP99: med(v.name, 'delayP99'),
        cpuPer1000: med(v.name, 'cpuPer1000'),
        peakRssMiB: med(v.name, 'peakRssMiB'),
        kindCpuPer1000: kinds && Object.fromEntries(Object.keys(kinds).map((k) => [k, median(byVariant[v.name].map((m) => m.kindCpuPer1000[k]).filter((c) => !Number.isNaN(c)))])),
        errors: byVariant[v.name].reduce((s, m) => s + m.errors, 0),
        firstError: byVariant[v.name].find((m) => m.errors)?.firstError,
      };
    }
    // A Worker left out (--variants) leaves its ratios blank (NaN).
    const e = row.edge ?? {};
    const { passthrough = {}, original = {} } = row;
    if (row.limits) {
      row.limitsRatios = { cpuVsEdge: row.limits.cpuPer1000 / e.cpuPer1000, cpuVsOriginal: row.limits.cpuPer1000 / original.cpuPer1000 };
    }
    row.ratios = {
      wallVsPassthrough: e.wallMs / passthrough.wallMs,
      wallVsOriginal: e.wallMs / original.wallMs,
      cpuVsPassthrough: e.cpuPer1000 / passthrough.cpuPer1000,
      cpuVsOriginal: e.cpuPer1000 / original.cpuPer1000,
      ttfbAddedMs: e.ttfbMs - passthrough.ttfbMs,
      delayAddedP50Ms: e.delayP50 - passthrough.delayP50,
      delayAddedP99Ms: e.delayP99 - passthrough.delayP99,
      cpuVsLean: row.leanparse ? e.cpuPer1000 / row.leanparse.cpuPer1000 : undefined,
    };
    summary[name] = row;
  }
  return summary;
}

const f = (v, digits = 1) => (v == null || Number.isNaN(v) ? '–' : v.toFixed(digits));

function tableLines(summary) {
  const lines = [];
  lines.push('| scenario | Worker | wall ms | TTFB ms | delay p50 / p99 ms | CPU s per 1k chunks | peak RSS MiB | errors |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, row] of Object.entries(summary)) {
    for (const v of VARIANTS) {
      const m = row[v.name];
      if (!m) continue;
      lines.push(`| ${name} | ${v.label} | ${f(m.wallMs, 0)} | ${f(m.ttfbMs)} | ${f(m.delayP50)} / ${f(m.delayP99)} | ${f(m.cpuPer1000, 3)} | ${f(m.peakRssMiB)} | ${m.errors} |`);
    }
    const r = row.ratios;
    // No row of blanks where no baseline ran (thinking-frames is gemini-edge's alone).
    if (row.passthrough || row.original) {
      lines.push(
        `| ${name} | **ratios** | **${f(r.wallVsPassthrough, 3)}×** pass-through, ${f(r.wallVsOriginal, 3)}× original | +${f(r.ttfbAddedMs)} | +${f(r.delayAddedP50Ms)} / +${f(r.delayAddedP99Ms)} | **${f(r.cpuVsPassthrough, 2)}×** pass-through, **${f(r.cpuVsOriginal, 2)}×** original${r.cpuVsLean ? `, **${f(r.cpuVsLean, 2)}×** lean parse` : ''} | | |`,
      );
    }
    if (row.limitsRatios) {
      lines.push(`| ${name} | **what the limits add** | | | | **${f(row.limitsRatios.cpuVsEdge, 2)}×** limits off, **${f(row.limitsRatios.cpuVsOriginal, 2)}×** original | | |`);
    }
  }
  const typical = summary.typical;
  if (typical) {
    // 30 chunks an answer: CPU seconds per 1,000 chunks × 30 = CPU milliseconds per answer.
    const ms = (v) => (typical[v] ? f(typical[v].cpuPer1000 * 30, 1) : '–');
    lines.push('');
    lines.push(
      `**CPU for a typical answer** (30 chunks of about 100 characters): ${ms('limits')} ms with the default settings (limits on), ${ms('edge')} ms with the limits off; the original route ${ms('original')} ms. The Workers free plan allows 10 ms of CPU per request. Measured as workerd's user + system CPU for the whole request through \`wrangler dev\` (routing, validation, the SDK's parse, the stream, the log line, and with the limits on the limiter's Durable Object), so it is an upper bound of what Cloudflare bills.`,
    );
  }
  const thinking = summary.thinking;
  if (thinking) {
    lines.push('', `**Thinking** (${thinking.title ?? 'thinking'}; every Worker is sent \`thinking: { show: true }\`; times from the request, medians):`, '');
    lines.push('| Worker | first byte ms | first thought frame ms | first answer text ms | answer delay p50 / p99 ms | wall ms |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const v of VARIANTS) {
      const m = thinking[v.name];
      if (m) lines.push(`| ${v.label} | ${f(m.ttfbMs)} | ${f(m.firstThoughtMs)} | ${f(m.firstTextMs)} | ${f(m.delayP50)} / ${f(m.delayP99)} | ${f(m.wallMs, 0)} |`);
    }
  }
  const frames = summary['thinking-frames'];
  if (frames) {
    lines.push('', `**Thought frames against text frames** (${frames.title ?? 'thinking-frames'}, \`thinking.show\` on; medians):`, '');
    lines.push('| Worker | CPU s per 1k thought frames | CPU s per 1k text frames | thought ÷ text |');
    lines.push('| --- | ---: | ---: | ---: |');
    for (const v of VARIANTS) {
      const k = frames[v.name]?.kindCpuPer1000;
      if (k) lines.push(`| ${v.label} | ${f(k.thought, 3)} | ${f(k.text, 3)} | **${f(k.thought / k.text, 2)}×** |`);
    }
  }
  return lines;
}

function printTable(summary) {
  console.log(tableLines(summary).join('\n'));
}

function machine() {
  const pkg = (name) => {
    try {
      return JSON.parse(readFileSync(`${root}node_modules/${name}/package.json`, 'utf8')).version;
    } catch {
      return '?';
    }
  };
  return {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    wrangler: pkg('wrangler'),
    workerd: pkg('wrangler/node_modules/workerd') === '?' ? pkg('workerd') : pkg('wrangler/node_modules/workerd'),
  };
}

function resultsMarkdown(report) {
  const m = report.machine;
  const notesPath = `${root}bench/NOTES.md`;
  let notes = '';
  try {
    notes = readFileSync(notesPath, 'utf8');
  } catch {}
  return `# Benchmark results

Generated by \`npm run bench\` on ${report.date.slice(0, 10)} (${report.rounds} rounds, 2 for the concurrent scenarios; medians).

Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}, wrangler ${m.wrangler}, workerd ${m.workerd}.

${tableLines(report.summary).join('\n')}

- **wall**: request start to stream end (concurrent scenarios: the whole batch).
- **TTFB**: request start to the first body byte. **delay**: each text frame's arrival at the client minus the
  moment the fake Gemini wrote that chunk (same clock), p50 and p99 over all chunks.
- **CPU**: user + system seconds of the \`workerd\` processes of that Worker's \`wrangler dev\`, per 1,000 chunks
  (10 ms resolution, so short scenarios are coarse). **peak RSS**: growth of workerd's resident memory during
  the answer.
- Ratios compare gemini-edge with the pass-through (the floor: no parse, no re-encode), the original route
  (same SDK, same parse and re-encode) and, in bursts, the lean-parse probe (the floor of any parser written in
  JavaScript, without the SDK). "gemini-edge" runs with the per-client limits off (the bench is one client making
  thousands of requests); "gemini-edge, limits on" is the same Worker with its default settings, its requests
  spread over 128 clients, the limiter's Durable Object (same workerd) counted. \`wrangler dev\` adds a per-chunk
  cost of its own that is the same for all, which is why ratios, not absolute times, are the result.

Reproduce: \`npm ci && npm run bench\` (about half an hour; \`npm run bench -- --quick\` for a short run,
\`--only burst,large\` for some scenarios). Raw figures: \`bench/results/latest.json\`.

${notes}`;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
