/** What the fake Turnstile (test/fake/fake-turnstile.ts) knows, for the tests on both sides of it. */
export const FAKE_SITE_KEY = '1x-fake-site-key';
export const FAKE_SECRET_KEY = '1x-fake-secret-key';

/** What the fake's siteverify received for one token. */
export interface SiteverifyRecord {
  response: string | null;
  remoteip: string | null;
  idempotencyKey: string | null;
  secretOk: boolean;
  success: boolean;
  errorCodes: string[];
}

let nonce = 0;
/**
 * A token the fake knows, solved on `hostname`: `ok`; `expired`; `flaky` (siteverify
 * fails once, then answers as for `ok`); `down` (siteverify always fails).
 */
export function fakeToken(hostname: string, kind: 'ok' | 'expired' | 'flaky' | 'down' = 'ok'): string {
  return `fake.${hostname}.${kind}.${Date.now().toString(36)}${(nonce++).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** What the fake's siteverify received for `token`. */
export async function siteverifyRecords(fakeUrl: string, token: string): Promise<SiteverifyRecord[]> {
  return (await (await fetch(`${fakeUrl}/requests?response=${encodeURIComponent(token)}`)).json()) as SiteverifyRecord[];
}
