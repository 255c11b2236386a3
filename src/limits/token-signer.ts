import { fromBase64url, toBase64url } from '../protocol/base64url';

/**
 * Signs and checks the Worker's own tokens (the Turnstile session, the admin
 * session cookie): HMAC-SHA-256 under a key derived from a secret (HMAC of the
 * signer's label under it), so the secret itself signs nothing, each kind of
 * token has its own key, and rotating the secret ends every token it signed.
 * @example
 * const sessions = new TokenSigner('gemini-edge admin session key');
 * const signature = await sessions.sign(adminKey, `session ${expires}`);
 * await sessions.verify(adminKey, `session ${expires}`, signature); // true
 */
export class TokenSigner {
  /** Derived keys by secret: a secret is a setting, so there are as many as the settings seen. */
  private readonly keys = new Map<string, Promise<CryptoKey>>();

  constructor(readonly label: string) {}

  /** The HMAC of `data`, in base64url (43 characters). */
  async sign(secret: string, data: string): Promise<string> {
    return toBase64url(await this.mac(secret, data));
  }

  /** Whether `signature` (base64url) is the HMAC of `data` under this secret, compared in constant time. */
  async verify(secret: string, data: string, signature: string): Promise<boolean> {
    const presented = fromBase64url(signature);
    const expected = await this.mac(secret, data);
    // timingSafeEqual throws on unequal lengths; a MAC's length is no secret.
    return presented.byteLength === expected.byteLength && crypto.subtle.timingSafeEqual(presented, expected);
  }

  private async mac(secret: string, data: string): Promise<ArrayBuffer> {
    return crypto.subtle.sign('HMAC', await this.key(secret), new TextEncoder().encode(data));
  }

  private key(secret: string): Promise<CryptoKey> {
    let key = this.keys.get(secret);
    if (!key) {
      key = (async () => {
        const encoder = new TextEncoder();
        const root = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
        const derived = await crypto.subtle.sign('HMAC', root, encoder.encode(this.label));
        return crypto.subtle.importKey('raw', derived, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      })();
      this.keys.set(secret, key);
    }
    return key;
  }
}
