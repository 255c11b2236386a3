import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from './dev-server';

let dev: DevServer;

beforeAll(async () => {
  dev = await startDevServer();
}, 90_000);

afterAll(async () => {
  await dev?.stop();
});

interface Arrival {
  at: number;
  text: string;
}

/** POSTs a chat message over a raw socket and records when each piece of the body arrives. */
function streamChat(message: string, onFirst?: (req: ReturnType<typeof request>) => void): Promise<{ status: number; headers: Record<string, unknown>; arrivals: Arrival[] }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ message });
    const req = request(`${dev.url}/api/chat/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => {
      const arrivals: Arrival[] = [];
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        arrivals.push({ at: performance.now(), text });
        if (arrivals.length === 1) onFirst?.(req);
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, arrivals }));
      res.on('close', () => resolve({ status: res.statusCode!, headers: res.headers, arrivals }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('npm run dev with no key', () => {
  it('says it answers from the fake Gemini, and /healthz agrees', async () => {
    expect(dev.output()).toContain('No GEMINI_API_KEY found');
    expect(dev.fakeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${dev.url}/healthz`);
    expect(await health.json()).toEqual({ ok: true, upstream: 'fake', model: 'gemini-3.8-flash' });
  });

  // Regression: with wrangler.toml's [build] command, wrangler 4.86 ran the build again as soon as its
  // watcher was ready ("The file src/client,src/protocol changed, restarting build...") and reloaded
  // the Worker; on a loaded machine that restart once failed to bind its port.
  it('builds once and serves: no second build, no restart after Ready', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // a restart came about a second after Ready
    const output = dev.output();
    expect(output).not.toMatch(/restarting build/i);
    expect(output).not.toContain('[custom build]');
    expect(output.match(/^\[assets\] built public\/client\.js and public\/embed\.js/gm)).toHaveLength(1);
    expect(output.match(/Ready on http/g)).toHaveLength(1);
    expect(output).not.toMatch(/Reloading local server/);
    expect(output.indexOf('[assets] built')).toBeLessThan(output.indexOf('Ready on http'));
    // The assets it built are served.
    const client = await fetch(`${dev.url}/client.js`);
    expect(client.status).toBe(200);
    expect(client.headers.get('content-type')).toMatch(/javascript/);
    await client.arrayBuffer();
  });

  it('streams an answer piece by piece through wrangler dev, not buffered to the end', async () => {
    const { status, headers, arrivals } = await streamChat('Hello [fake:reply chunks=6 delay=150]');
    expect(status).toBe(200);
    expect(headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const body = arrivals.map((a) => a.text).join('');
    expect(body.match(/^event: text$/gm)).toHaveLength(6);
    expect(body).toMatch(/event: done\ndata: \{"done":true,"finishReason":"STOP"/);
    // With 150 ms between chunks, a buffering proxy would deliver everything at once.
    const textArrivals = arrivals.filter((a) => a.text.includes('event: text'));
    expect(textArrivals.length).toBeGreaterThanOrEqual(3);
  });

  it('sends a one-chunk answer whole, with its length; a longer one chunked as it streams', async () => {
    // signature=none: the one chunk carries the finish (Gemini 3 closes with a signature event instead).
    const short = await streamChat('Hi [fake:reply chunks=1 signature=none]');
    const body = short.arrivals.map((a) => a.text).join('');
    expect(body).toMatch(/^event: text\ndata: \{"text":".+"\}\n\nevent: done\ndata: \{"done":true,"finishReason":"STOP"/);
    expect(short.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(short.headers['transfer-encoding']).toBeUndefined();
    const long = await streamChat('Hello [fake:reply chunks=3 delay=20]');
    expect(long.headers['transfer-encoding']).toBe('chunked');
    expect(long.headers['content-length']).toBeUndefined();
  });

  it('aborts the upstream call when the client goes away', async () => {
    const tag = `e2e${Date.now()}`;
    await streamChat(`Long one [fake:reply chunks=100 delay=50 tag=${tag}]`, (req) => req.destroy());
    let record: { aborted: boolean; chunksSent: number } | undefined;
    for (let i = 0; i < 100 && !record?.aborted; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      [record] = (await (await fetch(`${dev.fakeUrl}/__fake/requests?tag=${tag}`)).json()) as (typeof record)[];
    }
    expect(record?.aborted).toBe(true);
    expect(record!.chunksSent).toBeLessThan(100);
  });
});
