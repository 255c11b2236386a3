import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { deepCheck } from '../gemini/model-check';
import { admit } from '../limits/admission';
import { authenticateBearer } from '../limits/bearer-auth';

/**
 * `GET /healthz`: whether the Worker can answer, and from where. Never calls
 * Gemini: it is polled.
 *
 * `GET /healthz?deep=1`: whether Gemini will serve this deployment, checked from
 * inside the Worker: the key (Gemini's model list) and a one-token call of the
 * default model and of every allowed model (docs/doctor.md). It spends calls, so it
 * takes a bearer key of OPENAI_COMPAT_KEYS, as the OpenAI-compatible API does, is
 * counted against that key's RATE_LIMIT_PER_MINUTE with the key's `/v1` requests,
 * and is off (the plain 404 of an unknown path) while that API is. Only `deep=1`
 * asks for it; any other value is the plain check.
 */
export const healthRoutes = new Hono<AppEnv>();

/** Longest wait for each upstream call of the deep check; the calls run at once. */
const DEEP_CALL_TIMEOUT_MS = 15_000;

healthRoutes.get('/healthz', async (c) => {
  const { config } = c.var;
  const status = { upstream: config.upstream, model: config.defaultModel };
  if (c.req.query('deep') === '1') {
    // Before anything else: without a valid key nothing is called, and nothing is said.
    const keyId = await authenticateBearer(c);
    if (keyId === undefined) return c.notFound();
    // A list call and a call per model each time: a key that loops it is refused as on /v1.
    await admit(c, 'message', keyId);
    const started = Date.now();
    const check = await deepCheck({
      apiKey: config.apiKey,
      baseUrl: config.baseUrl,
      defaultModel: config.defaultModel,
      models: config.allowedModels,
      timeoutMs: Math.min(config.upstreamTimeoutMs, DEEP_CALL_TIMEOUT_MS),
    });
    const body = JSON.stringify({ ok: check.ok, ...status, durationMs: Date.now() - started, key: check.key, models: check.models });
    // Our own words only, but should anything have echoed the key, it does not leave.
    const safe = config.apiKey ? body.split(config.apiKey).join('[redacted]') : body;
    return new Response(safe, {
      status: check.ok ? 200 : 503,
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
    });
  }
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
