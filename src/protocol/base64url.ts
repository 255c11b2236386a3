/**
 * Bytes as base64url without padding (RFC 4648 §5): the alphabet of tokens,
 * cookies and ids, which survive URLs, headers and id sanitisers unescaped.
 * @example toBase64url(new Uint8Array([251, 255])) // '-_8'
 */
export function toBase64url(bytes: Uint8Array | ArrayBuffer): string {
  let binary = '';
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/**
 * The bytes of base64url text (padding optional).
 * @throws {DOMException} `InvalidCharacterError` for text that is not base64url
 */
export function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}
