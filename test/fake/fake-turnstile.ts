import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAKE_SECRET_KEY, FAKE_SITE_KEY, fakeToken, type SiteverifyRecord } from '../turnstile-tokens';

/**
 * A stand-in for Cloudflare Turnstile, on one local origin (the challenge's
 * origin, as `https://challenges.cloudflare.com` is):
 *
 * - `POST /turnstile/v0/siteverify` answers as Cloudflare documents
 *   (developers.cloudflare.com/turnstile/get-started/server-side-validation/):
 *   `{ success, error-codes, challenge_ts, hostname, action, cdata, metadata }`, form or JSON
 *   body with `secret`, `response`, `remoteip`, `idempotency_key`. Codes:
 *   `missing-input-secret`, `invalid-input-secret` (not {@link FAKE_SECRET_KEY}),
 *   `missing-input-response`, `invalid-input-response` (not a token of this fake),
 *   `timeout-or-duplicate` (expired, or validated before: tokens are single-use; a
 *   retry with the same `idempotency_key` gets the first answer again).
 * - Tokens are `fake.<hostname>.<kind>.<nonce>`: `ok`; `expired`; `flaky` (a 500
 *   first, then as `ok`, to exercise a retry); `down` (always a 500). A test makes
 *   its own with `fakeToken` (test/turnstile-tokens.ts); the fake challenge makes `ok` ones.
 * - `GET /turnstile/v0/api.js` is a fake of Turnstile's script (`window.turnstile`
 *   with `render`, `reset`, `remove`, `getResponse`); `render` puts an iframe of
 *   `/challenge` into the container, which solves at once and posts its token to
 *   the page, as the real widget's iframe does. So a page needs `script-src` and
 *   `frame-src` for this origin, as for Cloudflare's.
 * - `GET /requests?response=<token>` lists what siteverify received for a token.
 */
const SCRIPT = `(() => {
  const origin = new URL(document.currentScript.src).origin;
  const widgets = new Map();
  let count = 0;
  addEventListener('message', (event) => {
    const data = event.data;
    if (event.origin !== origin || !data || data.fakeTurnstile !== 1) return;
    const widget = widgets.get(data.id);
    if (!widget) return;
    widget.token = data.token;
    widget.options.callback && widget.options.callback(data.token);
  });
  const frame = (id, options) => {
    const iframe = document.createElement('iframe');
    iframe.title = 'Fake Turnstile challenge';
    iframe.src = origin + '/challenge?id=' + id + '&sitekey=' + encodeURIComponent(options.sitekey) + '&host=' + encodeURIComponent(location.hostname);
    iframe.style.width = '0';
    iframe.style.height = '0';
    iframe.style.border = '0';
    return iframe;
  };
  window.turnstile = {
    render(container, options) {
      const element = typeof container === 'string' ? document.querySelector(container) : container;
      const id = 'fake' + ++count;
      const widget = { options, element, iframe: frame(id, options), token: undefined };
      widgets.set(id, widget);
      element.append(widget.iframe);
      window.fakeTurnstileRenders = (window.fakeTurnstileRenders || 0) + 1;
      return id;
    },
    reset(id) {
      const widget = widgets.get(id);
      if (!widget) return;
      widget.token = undefined;
      const next = frame(id, widget.options);
      widget.iframe.replaceWith(next);
      widget.iframe = next;
    },
    remove(id) {
      const widget = widgets.get(id);
      if (widget) widget.iframe.remove();
      widgets.delete(id);
    },
    getResponse(id) {
      const widget = widgets.get(id);
      return widget && widget.token;
    },
  };
})();
`;

function challengePage(url: URL): string {
  const id = JSON.stringify(url.searchParams.get('id') ?? '');
  const host = url.searchParams.get('host') ?? '';
  const sitekey = url.searchParams.get('sitekey');
  // A wrong site key fails as Cloudflare's widget does: no token, an error to the page.
  const token = sitekey === FAKE_SITE_KEY ? JSON.stringify(fakeToken(host)) : 'null';
  return `<!doctype html><title>challenge</title><script>parent.postMessage({ fakeTurnstile: 1, id: ${id}, token: ${token} }, '*');</script>`;
}

export interface FakeTurnstile {
  /** The fake's origin, e.g. `http://127.0.0.1:41234`. */
  url: string;
  verifyUrl: string;
  scriptUrl: string;
  close: () => Promise<void>;
}

export async function startFakeTurnstile(): Promise<FakeTurnstile> {
  const spent = new Map<string, { key: string | null; answer: object }>();
  const flaked = new Set<string>();
  const records: SiteverifyRecord[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.method === 'GET' && url.pathname === '/turnstile/v0/api.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(SCRIPT);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/challenge') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(challengePage(url));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/requests') {
      const response = url.searchParams.get('response');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(records.filter((r) => r.response === response)));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/turnstile/v0/siteverify') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const fields = /^application\/json/.test(req.headers['content-type'] ?? '')
          ? new Map(Object.entries(JSON.parse(body || '{}') as Record<string, string>))
          : new Map(new URLSearchParams(body));
        const secret = fields.get('secret') ?? null;
        const response = fields.get('response') ?? null;
        const key = fields.get('idempotency_key') ?? null;
        const record: SiteverifyRecord = { response, remoteip: fields.get('remoteip') ?? null, idempotencyKey: key, secretOk: secret === FAKE_SECRET_KEY, success: false, errorCodes: [] };
        records.push(record);
        const answer = (codes: string[], extra: object = {}) => {
          record.success = codes.length === 0;
          record.errorCodes = codes;
          const json = { success: codes.length === 0, 'error-codes': codes, ...extra };
          if (response !== null && codes.length === 0) spent.set(response, { key, answer: json });
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(json));
        };
        if (!secret) return answer(['missing-input-secret']);
        if (secret !== FAKE_SECRET_KEY) return answer(['invalid-input-secret']);
        if (!response) return answer(['missing-input-response']);
        const match = /^fake\.([^.]+(?:\.[^.]+)*)\.(ok|expired|flaky|down)\.[a-z0-9]+$/.exec(response);
        if (!match) return answer(['invalid-input-response']);
        const [, hostname, kind] = match;
        const first = spent.get(response);
        if (first) {
          // The same validation retried: its first answer again. Anything else: the token was used.
          if (key !== null && first.key === key) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(first.answer));
          return answer(['timeout-or-duplicate']);
        }
        if (kind === 'down' || (kind === 'flaky' && !flaked.has(response))) {
          flaked.add(response);
          record.errorCodes = ['http-500'];
          res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
          return;
        }
        if (kind === 'expired') return answer(['timeout-or-duplicate']);
        answer([], { challenge_ts: new Date().toISOString(), hostname, action: '', cdata: '', metadata: { interactive: false } });
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    verifyUrl: `${url}/turnstile/v0/siteverify`,
    scriptUrl: `${url}/turnstile/v0/api.js`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
