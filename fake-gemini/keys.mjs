// @ts-check
/**
 * API keys. The fake tells its "projects" apart by the key (`x-goog-api-key`, or `?key=`):
 *
 *   (none)               403 PERMISSION_DENIED, unregistered caller (inference: kept from the 2025 fake)
 *   `invalid…`           400 API_KEY_INVALID (a revoked or mistyped key; inference: kept from the 2025 fake)
 *   `AIza…`              401 ACCESS_TOKEN_TYPE_UNSUPPORTED: a standard key, refused since September 2026
 *   contains `-free`     a free-tier project: Pro models answer 429 with `limit: 0`
 *   contains `-existing` a project that used the 2.5 models before: they still answer it
 *   anything else        a valid auth key of a new, paid project
 *
 * `-free` and `-existing` combine (`test-free-existing`). A key in the header AND in the query
 * is refused with 400 "Multiple authentication credentials received" (inference for the body).
 */
import { googleError, standardKeyError } from './errors.mjs';

/**
 * @typedef {import('./models.mjs').Project} Project
 * @typedef {{ project: Project, key: string } | { status: number, body: import('./errors.mjs').ErrorBody }} KeyCheck
 */

/**
 * @param {string | string[] | undefined} header the `x-goog-api-key` header
 * @param {string | null} query the `key` query parameter
 * @param {string} method the RPC named in a 401, e.g. `GenerativeService.GenerateContent`
 * @returns {KeyCheck}
 */
export function checkKey(header, query, method) {
  const headerKey = typeof header === 'string' ? header : '';
  const queryKey = query ?? '';
  if (headerKey && queryKey) {
    return { status: 400, body: googleError(400, { message: 'Multiple authentication credentials received. Please pass only one.' }) };
  }
  const key = headerKey || queryKey;
  if (!key) return { status: 403, body: googleError(403) };
  if (key.startsWith('invalid')) {
    return { status: 400, body: googleError(400, { message: 'API key not valid. Please pass a valid API key.', reason: 'API_KEY_INVALID' }) };
  }
  if (key.startsWith('AIza')) return { status: 401, body: standardKeyError(method) };
  return { key, project: { tier: key.includes('-free') ? 'free' : 'paid', existingUser: key.includes('-existing') } };
}
