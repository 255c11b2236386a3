import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { adminOnly, isOwner, keyMatches, newSession, sessionCookie } from '../admin/admin-auth';
import { DASHBOARD_CSS } from '../admin/dashboard-css';
import { ADMIN_CSP, dashboardPage, loginPage } from '../admin/dashboard-page';
import { ApiError, errorResponse } from '../errors';
import { admitLogin } from '../limits/admission';
import { readCapped } from '../limits/read-json-body';
import { readReport } from '../stats/stats-report';

/**
 * The owner's dashboard (docs/dashboard.md), only with ADMIN_KEY set: `GET /admin`
 * (the page, or its login form), `POST /admin/login` and `/admin/logout`, and
 * `GET /admin/api/stats` (the numbers as JSON, for the session or `Authorization: Bearer <ADMIN_KEY>`).
 * Nothing public links here.
 */
export const adminRoutes = new Hono<AppEnv>();

/** The largest login form read. */
const MAX_LOGIN_BYTES = 4096;

adminRoutes.use('/admin', adminOnly());
adminRoutes.use('/admin/*', adminOnly());

adminRoutes.get('/admin', async (c) => {
  if (!(await isOwner(c))) return html(loginPage(), 401);
  const { config } = c.var;
  const report = await readReport(c.env, Date.now(), config.adminShowTranscripts);
  const assistant = c.req.query('assistant');
  return html(dashboardPage(report, assistant !== undefined && report.assistants.includes(assistant) ? assistant : undefined));
});

adminRoutes.post('/admin/login', async (c) => {
  // A form posted from another site is refused (SameSite keeps the cookie from its requests; this
  // keeps its logins out). Sec-Fetch-Site, set by the browser, holds behind proxies that rewrite Host.
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return html(loginPage('Sign in from this page.'), 403);
  const type = c.req.header('content-type') ?? '';
  const body = /^application\/x-www-form-urlencoded\s*(;|$)/i.test(type) ? await readSmall(c.req.raw, MAX_LOGIN_BYTES) : '';
  // A key and a form's framing fit in far less: a larger form is not read past the limit.
  if (body === undefined) return html(loginPage('That form is too large: send the admin key alone.'), 413);
  const key = new URLSearchParams(body).get('key');
  const right = typeof key === 'string' && (await keyMatches(c.var.config, key));
  try {
    await admitLogin(c, right);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const response = html(loginPage('Too many attempts; wait a minute.'), 429);
    response.headers.set('Retry-After', error.headers['Retry-After'] ?? '60');
    return response;
  }
  if (!right) return html(loginPage('That is not the admin key.'), 401);
  return new Response(null, {
    status: 303,
    headers: { Location: '/admin', 'Set-Cookie': sessionCookie(await newSession(c.var.config.adminKey!, Date.now())) },
  });
});

adminRoutes.post('/admin/logout', () => new Response(null, { status: 303, headers: { Location: '/admin', 'Set-Cookie': sessionCookie('') } }));

adminRoutes.get('/admin/api/stats', async (c) => {
  // A bearer key is an attempt at the key too: a wrong one counts like the form's.
  const bearer = c.req.header('authorization') !== undefined;
  const owner = await isOwner(c);
  if (bearer) await admitLogin(c, owner);
  if (!owner) {
    return errorResponse(401, 'invalid_api_key', 'send Authorization: Bearer <ADMIN_KEY>, or sign in at /admin', { 'WWW-Authenticate': 'Bearer' });
  }
  return c.json(await readReport(c.env, Date.now(), c.var.config.adminShowTranscripts));
});

adminRoutes.get('/admin/dashboard.css', () => new Response(DASHBOARD_CSS, { headers: { 'Content-Type': 'text/css; charset=utf-8' } }));

/** A small body as text, or undefined once it passes `maxBytes` (the rest is drained, as readJsonBody does). */
async function readSmall(request: Request, maxBytes: number): Promise<string | undefined> {
  if (!request.body) return '';
  const bytes = await readCapped(request.body, maxBytes);
  return bytes && new TextDecoder().decode(bytes);
}

function html(body: string, status = 200): Response {
  return new Response(body, { status, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': ADMIN_CSP } });
}
