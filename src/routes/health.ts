import { Hono } from 'hono';
import type { AppEnv } from '../app-env';

/** `GET /healthz`: whether the Worker can answer, and from where. */
export const healthRoutes = new Hono<AppEnv>();

healthRoutes.get('/healthz', (c) => {
  const { config } = c.var;
  const status = { upstream: config.upstream, model: config.defaultModel };
  if (!config.apiKey) {
    return c.json(
      {
        ok: false,
        ...status,
        error: { code: 'not_configured', message: 'No Gemini API key is configured: set the GEMINI_API_KEY secret' },
      },
      503,
    );
  }
  return c.json({ ok: true, ...status });
});
