import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A call the owner endpoint received: its path, its signature header and its raw body. */
export interface ReceivedCall {
  path: string;
  signature: string | null;
  contentType: string | null;
  body: string;
}

/**
 * A site owner's tool endpoint, for the fixture assistant `tools-site`
 * (test/fixtures/assistants/tools-site): each path behaves one way —
 * `/ok` answers `{ status: "shipped", order }`, `/delayed` the same after 400 ms, `/slow` after 5 s
 * (past TOOLS_TIMEOUT_MS), `/big` 100 KB of JSON with no Content-Length, `/garbled` HTML, `/broken`
 * a 503, `/moved` a 302 to plain http. Every POST is recorded; `GET /received` lists them.
 */
export async function startToolOwner(port = 0): Promise<{ url: string; close: () => Promise<void> }> {
  const received: ReceivedCall[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const json = (res: ServerResponse, value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/received') return json(res, received);
    if (req.method !== 'POST') return void res.writeHead(405).end();
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, signature: req.headers['x-gemini-edge-signature'] as string | null ?? null, contentType: req.headers['content-type'] ?? null, body });
      const args = (JSON.parse(body) as { arguments: Record<string, unknown> }).arguments;
      switch (path) {
        case '/ok':
          return json(res, { status: 'shipped', order: args.order ?? null });
        case '/delayed':
          return later(400, () => json(res, { status: 'packed', order: args.order ?? null }));
        case '/slow':
          return later(5000, () => json(res, { status: 'too late' }));
        case '/big': {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"padding":"');
          for (let i = 0; i < 100; i++) res.write('x'.repeat(1024));
          return void res.end('"}');
        }
        case '/garbled':
          return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Oops</body></html>');
        case '/broken':
          return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"down"}');
        case '/moved':
          return void res.writeHead(302, { location: 'http://plain.example/steal' }).end();
        default:
          return void res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
