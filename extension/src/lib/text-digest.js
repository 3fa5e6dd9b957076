/**
 * The text digest the backend compares with Gmail's saved draft before sending it
 * (backend/mailbeacon/tracking/fingerprint.py): NFC-normalise the visible text, remove every whitespace and
 * zero-width character, SHA-256, lower-case hex.
 *
 * "Whitespace" is Python's `\s` on str, which is JavaScript's `\s` plus U+001C–U+001F and U+0085; JavaScript's own
 * `\s` adds U+FEFF, which the backend lists as zero-width anyway. Both sets are spelled out here so the two sides
 * agree character for character (tests/extension/test_text_digest_contract.py checks it against the backend).
 */

const INVISIBLE = /[\s\u001c-\u001f\u0085\u200b\u200c\u200d\u2060\ufeff]+/gu;

/** The text with everything that doesn't survive line wrapping, &nbsp; or Gmail's editor quirks taken out. */
export function squeezeText(text) {
  return String(text ?? '').normalize('NFC').replace(INVISIBLE, '');
}

export async function sha256Hex(text) {
  const bytes = new TextEncoder().encode(text);
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The digest of what the user sees in the compose body. */
export async function textDigest(text) {
  return sha256Hex(squeezeText(text));
}
