/** PKCE (RFC 7636, S256) and the random values sign-in needs, from the Web Crypto API. */

export function base64Url(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `length` random bytes as unpadded base64url. */
export function randomToken(length = 32) {
  return base64Url(crypto.getRandomValues(new Uint8Array(length)));
}

export async function s256(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

/** A verifier (64 characters, inside RFC 7636's 43–128) and its S256 challenge. */
export async function pkcePair() {
  const verifier = randomToken(48);
  return { verifier, challenge: await s256(verifier) };
}
