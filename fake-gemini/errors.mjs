// @ts-check
/**
 * Google's error bodies, `{"error":{"code","message","status","details"?}}`, with the 2026
 * messages and details (sources in docs/fake-gemini.md, "Errors").
 */

/** Google's canonical status string for each HTTP status the API returns (409 → ABORTED: inference). */
const GOOGLE_STATUS = /** @type {Record<number, string>} */ ({
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
});

/**
 * The default message per status. 503 is the 2026 body (genassist#352); the 400, 403, 500 and
 * 504 texts are kept from the 2025 fake: (inference) no 2026 source quotes them.
 */
const GOOGLE_MESSAGE = /** @type {Record<number, string>} */ ({
  400: 'Request contains an invalid argument.',
  403: 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.',
  500: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  503: 'This model is currently experiencing high demand. Spikes in demand are usually temporary. Please try again later.',
  504: 'Deadline expired before operation could complete.',
});

/**
 * @typedef {object} ErrorBody
 * @property {{ code: number, message: string, status: string, details?: Array<Record<string, unknown>> }} error
 */

/**
 * Google's error body. `reason` adds an ErrorInfo detail (e.g. API_KEY_INVALID; its `domain` and
 * `metadata` are inference: the only ErrorInfo in the sources is the 401's).
 * For 429 use {@link quotaError}, which also writes the quota details.
 * `status` overrides the canonical status of the code (e.g. 400 FAILED_PRECONDITION).
 * @param {number} code
 * @param {{ message?: string, reason?: string, status?: string, details?: Array<Record<string, unknown>> }} [extra]
 * @returns {ErrorBody}
 */
export function googleError(code, extra = {}) {
  const details = [...(extra.details ?? [])];
  if (extra.reason) {
    details.push({
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: extra.reason,
      domain: 'googleapis.com',
      metadata: { service: 'generativelanguage.googleapis.com' },
    });
  }
  return {
    error: {
      code,
      message: extra.message ?? GOOGLE_MESSAGE[code] ?? 'Request failed.',
      status: extra.status ?? GOOGLE_STATUS[code] ?? 'UNKNOWN',
      ...(details.length ? { details } : {}),
    },
  };
}

/** A 400 INVALID_ARGUMENT with `message`. */
export const invalidArgument = (/** @type {string} */ message) => googleError(400, { message });

/** The seconds in the real message of continuedev/continue#10066 (2026-01-31). */
const DEFAULT_RETRY_SECONDS = '7.967587226';

/**
 * The 2026 RESOURCE_EXHAUSTED body: the long message naming the quota, limit and model and
 * ending "Please retry in N s.", with details Help, QuotaFailure and RetryInfo.
 * @param {object} options
 * @param {string} options.model the model the quota is for (the one that answers)
 * @param {number} [options.limit] the quota's value; 0 = no free quota for this model
 * @param {string} [options.retry] `12.5s`, `7s`, or `none` (no retry hint at all)
 * @param {boolean} [options.retryInfo] false: Help detail only, the message still says when to retry
 * @returns {ErrorBody}
 */
export function quotaError({ model, limit = 15, retry, retryInfo = true }) {
  const perDay = limit === 0;
  const quotaMetric = 'generativelanguage.googleapis.com/generate_content_free_tier_requests';
  const quotaId = perDay ? 'GenerateRequestsPerDayPerProjectPerModel-FreeTier' : 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier';
  const seconds = retry === 'none' ? undefined : (/^(\d+(?:\.\d+)?)s?$/.exec(retry ?? '')?.[1] ?? DEFAULT_RETRY_SECONDS);
  let message =
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/rate-limit. ' +
    `\n* Quota exceeded for metric: ${quotaMetric}, limit: ${limit}, model: ${model}`;
  if (seconds !== undefined) message += `\nPlease retry in ${seconds}s.`;
  /** @type {Array<Record<string, unknown>>} */
  const details = [
    {
      '@type': 'type.googleapis.com/google.rpc.Help',
      links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }],
    },
  ];
  // Bodies without RetryInfo came with the Help detail alone (gke-labs/…#1215, 2026-07-23).
  // (inference) The Help link's description, one violation only, `quotaValue`, location
  // "global" and the per-minute quotaId (only the per-day one is quoted, python-genai#2044).
  if (seconds !== undefined && retryInfo) {
    details.push({
      '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
      violations: [{ quotaMetric, quotaId, quotaDimensions: { model, location: 'global' }, quotaValue: String(limit) }],
    });
    // RetryInfo in whole seconds while the message keeps the fraction ("7.96…s" → "7s"):
    // (inference) no source shows both in one body; the RetryInfo seen says "47s".
    details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${Math.floor(Number(seconds))}s` });
  }
  return googleError(429, { message, details });
}

/**
 * 401 for a standard ("AIza…") key since September 2026, with its ErrorInfo detail.
 * @param {string} method the RPC, e.g. `GenerativeService.GenerateContent`
 * @returns {ErrorBody}
 */
export function standardKeyError(method) {
  return googleError(401, {
    message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'ACCESS_TOKEN_TYPE_UNSUPPORTED',
        metadata: { method: `google.ai.generativelanguage.v1beta.${method}`, service: 'generativelanguage.googleapis.com' },
      },
    ],
  });
}
