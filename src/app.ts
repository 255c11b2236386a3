import { Hono, type Context } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from './app-env';
import { ConfigError, loadConfig } from './config';
import { ApiError, errorResponse } from './errors';
import { releaseUncharged, setAllowanceHeaders } from './limits/admission';
import { corsAllowlist } from './limits/cors-allowlist';
import { turnstileGate } from './limits/turnstile';
import { RequestLog } from './observability/request-log';
import type { ErrorCode } from './protocol/events';
import { aiSdkRoutes } from './routes/ai-sdk';
import { assistantRoutes } from './routes/assistant';
import { chatRoutes } from './routes/chat';
import { chatsRoutes } from './routes/chats';
import { filesRoutes } from './routes/files';
import { healthRoutes } from './routes/health';
import { openaiRoutes } from './routes/openai';
import { adminRoutes } from './routes/admin';
import { feedbackRoutes } from './routes/feedback';
import { toolResultsRoutes } from './routes/tool-results';
import { countRequests } from './stats/count-requests';

/** Every path the app serves, with its methods, for 405 answers. */
const ROUTES: Record<string, string> = {
  '/healthz': 'GET, HEAD',
  '/api/assistant': 'GET, HEAD',
  '/api/chat': 'POST',
  '/api/chat/stream': 'POST',
  '/api/chats': 'POST',
  '/api/chats/:id': 'GET, HEAD, DELETE',
  '/api/chats/:id/messages': 'POST',
  '/api/chats/:id/stream': 'GET, HEAD',
  '/api/chats/:id/cancel': 'POST',
  '/api/chats/:id/files': 'POST',
  '/api/chats/:id/files/:fileId': 'GET, HEAD',
  '/api/ai-sdk/chat': 'POST',
  '/api/ai-sdk/chat/:id': 'GET, HEAD, DELETE',
  '/api/ai-sdk/chat/:id/stream': 'GET, HEAD',
  '/api/ai-sdk/chat/:id/cancel': 'POST',
  '/api/chats/:id/messages/:messageId/feedback': 'POST',
  '/api/ai-sdk/chat/:id/messages/:messageId/feedback': 'POST',
  '/admin': 'GET, HEAD',
  '/admin/login': 'POST',
  '/admin/logout': 'POST',
  '/admin/api/stats': 'GET, HEAD',
  '/admin/dashboard.css': 'GET, HEAD',
};

export const app = new Hono<AppEnv>();

app.use('*', async (c, next) => {
  const log = new RequestLog(c.req.method);
  c.set('log', log);
  await next();
  const route = routePath(c);
  if (route && route !== '*') log.route = route;
  c.res.headers.set('x-request-id', log.id);
  if (c.var.client) {
    setAllowanceHeaders(c.res.headers, c.var.client.allowance);
    releaseUncharged(c);
  }
  if (!log.streaming) log.write(c.res.status);
});

// Its own middleware, so that a bad setting still gets the request id and log line above.
app.use('*', async (c, next) => {
  c.set('config', loadConfig(c.env));
  await next();
});

// The dashboard's counts (ADMIN_KEY on): each request to a route that calls Gemini, when its line is written.
app.use('*', countRequests());

// Before any route: a refused origin costs no body read, no Durable Object, no upstream call.
app.use('/api/*', corsAllowlist());
// Then, with Turnstile on, a passed challenge: a refusal costs no body read, no Durable Object, no upstream call.
app.use('/api/*', turnstileGate());

app.route('/', healthRoutes);
app.route('/', assistantRoutes);
app.route('/', chatRoutes);
app.route('/', chatsRoutes);
app.route('/', filesRoutes);
app.route('/', aiSdkRoutes);
app.route('/', feedbackRoutes);
app.route('/', toolResultsRoutes);
app.route('/', adminRoutes);
// With its own onError: /v1/* errors are in OpenAI's shape, and it answers its own 404s and 405s.
app.route('/', openaiRoutes);

for (const [path, allow] of Object.entries(ROUTES)) {
  app.all(path, (c) => fail(c, 405, 'method_not_allowed', `${c.req.method} is not allowed here; use ${allow}`, { Allow: allow }));
}

app.notFound((c) => fail(c, 404, 'not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname.slice(0, 200)}`));

app.onError((error, c) => {
  if (error instanceof ApiError) return fail(c, error.status, error.code, error.message, error.headers);
  if (error instanceof ConfigError) {
    console.error(JSON.stringify({ level: 'error', event: 'config_invalid', message: error.message }));
    return fail(c, 500, 'config_invalid', error.message);
  }
  // Unknown: log what it was, answer without details.
  console.error(JSON.stringify({ level: 'error', event: 'unhandled', requestId: c.var.log?.id, error: error.name, stack: error.stack }));
  return fail(c, 500, 'internal_error', 'internal error');
});

/** A JSON error, noted in the request's log line. */
function fail(c: Context<AppEnv>, status: number, code: ErrorCode, message: string, headers?: Record<string, string>): Response {
  if (c.var.log) c.var.log.errorCode = code;
  return errorResponse(status, code, message, headers);
}
