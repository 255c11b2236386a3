import { Hono, type Context } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from './app-env';
import { ConfigError, loadConfig } from './config';
import { ApiError } from './errors';
import { RequestLog } from './observability/request-log';
import type { ErrorBody, ErrorCode } from './protocol/events';
import { chatRoutes } from './routes/chat';
import { healthRoutes } from './routes/health';

/** Every path the app serves, with its methods, for 405 answers. */
const ROUTES: Record<string, string> = {
  '/healthz': 'GET, HEAD',
  '/api/chat': 'POST',
  '/api/chat/stream': 'POST',
};

export const app = new Hono<AppEnv>();

app.use('*', async (c, next) => {
  const log = new RequestLog(c.req.method);
  c.set('log', log);
  await next();
  const route = routePath(c);
  if (route && route !== '*') log.route = route;
  c.res.headers.set('x-request-id', log.id);
  if (!log.streaming) log.write(c.res.status);
});

// Its own middleware, so that a bad setting still gets the request id and log line above.
app.use('*', async (c, next) => {
  c.set('config', loadConfig(c.env));
  await next();
});

app.route('/', healthRoutes);
app.route('/', chatRoutes);

for (const [path, allow] of Object.entries(ROUTES)) {
  app.all(path, (c) => errorResponse(c, 405, 'method_not_allowed', `${c.req.method} is not allowed here; use ${allow}`, { Allow: allow }));
}

app.notFound((c) => errorResponse(c, 404, 'not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname.slice(0, 200)}`));

app.onError((error, c) => {
  if (error instanceof ApiError) return errorResponse(c, error.status, error.code, error.message, error.headers);
  if (error instanceof ConfigError) {
    console.error(JSON.stringify({ level: 'error', event: 'config_invalid', message: error.message }));
    return errorResponse(c, 500, 'config_invalid', error.message);
  }
  // Unknown: log what it was, answer without details.
  console.error(JSON.stringify({ level: 'error', event: 'unhandled', requestId: c.var.log?.id, error: error.name, stack: error.stack }));
  return errorResponse(c, 500, 'internal_error', 'internal error');
});

function errorResponse(
  c: Context<AppEnv>,
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  if (c.var.log) c.var.log.errorCode = code;
  const body: ErrorBody = { error: { code, message } };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
  });
}
