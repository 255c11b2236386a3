import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for SPEND_ALERT_URL: records each POST body under its path
 * (`/hook/<tag>`), and lists a tag's bodies at `GET /received/<tag>`.
 */
export async function startAlertReceiver(): Promise<{ url: string; close: () => Promise<void> }> {
  const received = new Map<string, unknown[]>();
  const server = createServer((req, res) => {
    const [, kind, tag = ''] = (req.url ?? '').split('/');
    if (req.method === 'POST' && kind === 'hook') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.set(tag, [...(received.get(tag) ?? []), JSON.parse(body) as unknown]);
        res.writeHead(204).end();
      });
      return;
    }
    if (req.method === 'GET' && kind === 'received') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received.get(tag) ?? []));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
