/* mailbeacon add-in: what a message says, reduced the way the backend reduces it (tracking/fingerprint.py).
 *
 * Pure: no Office, no DOM (the event runtime of classic Outlook has none). The backend refuses to send a draft
 * whose visible text differs from what the add-in saw, so this must compute exactly what fingerprint.py computes:
 * drop comments and <style>/<script>/<head>/<title> blocks, replace tags by spaces, decode character references,
 * remove every whitespace and zero-width character, NFC-normalise, SHA-256. Where this code can't be sure to decode
 * a reference as Python's html.unescape would (a named reference outside the short list below, a reference
 * without its ";", a control code point), it says so by returning null, and the caller sends no digest at all:
 * a wrong digest would block the send, a missing one only skips a check.
 */
(function (root, factory) {
  "use strict";
  const mod = factory(root);
  (root.mailbeacon = root.mailbeacon || {}).text = mod;
  if (typeof module === "object" && module.exports) module.exports = mod;
})(typeof globalThis !== "undefined" ? globalThis : this, function (root) {
  "use strict";

  const COMMENTS = /<!--[\s\S]*?-->/g;
  const DROP_BLOCKS = /<(style|script|head|title)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;
  const TAGS = /<[^>]*>/g;
  const REFERENCE = /&(#[xX][0-9a-fA-F]+|#[0-9]+|[A-Za-z][A-Za-z0-9]*);?/g;
  // Python's str.isspace() set is JavaScript's \s plus U+001C–U+001F and U+0085; then the zero-width ones.
  const INVISIBLE = /[\s\u001c-\u001f\u0085\u200b\u200c\u200d\u2060\ufeff]+/g;
  const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?:[^\ud800-\udbff]|^)[\udc00-\udfff]/;
  const NAMED = {
    amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'", nbsp: "\u00a0", copy: "\u00a9", reg: "\u00ae",
    trade: "\u2122", hellip: "\u2026", mdash: "\u2014", ndash: "\u2013", lsquo: "\u2018", rsquo: "\u2019",
    ldquo: "\u201c", rdquo: "\u201d", laquo: "\u00ab", raquo: "\u00bb", bull: "\u2022", middot: "\u00b7",
    euro: "\u20ac", pound: "\u00a3", yen: "\u00a5", cent: "\u00a2", deg: "\u00b0", times: "\u00d7",
    divide: "\u00f7", zwnj: "\u200c", zwj: "\u200d", shy: "\u00ad", thinsp: "\u2009", ensp: "\u2002",
    emsp: "\u2003",
  };

  /** True when html.unescape would turn this code point into the character itself (not drop or replace it). */
  function plainCodePoint(n) {
    if (n === 0x09 || n === 0x0a || n === 0x20) return true;
    if (n < 0x20 || (n >= 0x7f && n <= 0x9f)) return false;
    if (n >= 0xd800 && n <= 0xdfff) return false;
    if (n > 0x10ffff) return false;
    if ((n >= 0xfdd0 && n <= 0xfdef) || (n & 0xfffe) === 0xfffe) return false;
    return true;
  }

  /** Decoded text, or null when a reference can't be decoded with certainty. */
  function decodeReferences(text) {
    let unsure = false;
    const decoded = text.replace(REFERENCE, function (whole, body) {
      if (!whole.endsWith(";")) {
        unsure = true;
        return whole;
      }
      if (body[0] === "#") {
        const n = body[1] === "x" || body[1] === "X" ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
        if (!plainCodePoint(n)) {
          unsure = true;
          return whole;
        }
        return String.fromCodePoint(n);
      }
      if (Object.prototype.hasOwnProperty.call(NAMED, body)) return NAMED[body];
      unsure = true;
      return whole;
    });
    return unsure ? null : decoded;
  }

  /** The text a reader sees in an HTML body, before squeezing (fingerprint.html_text). Null when unsure. */
  function htmlText(markup) {
    const stripped = String(markup).replace(COMMENTS, "").replace(DROP_BLOCKS, "").replace(TAGS, " ");
    return decodeReferences(stripped);
  }

  function squeeze(text) {
    if (text === null || LONE_SURROGATE.test(text)) return null;
    return text.normalize("NFC").replace(INVISIBLE, "");
  }

  /** The visible text with every whitespace removed: what the digest hashes, and what body checks compare. */
  function squeezedText(content, contentType) {
    return squeeze(contentType === "html" ? htmlText(content) : String(content));
  }

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  /** fingerprint.text_digest of the body, or null when it can't be computed exactly (or SHA-256 is missing). */
  async function textDigest(content, contentType) {
    const squeezed = squeezedText(content, contentType);
    const subtle = root.crypto && root.crypto.subtle;
    if (squeezed === null || !subtle || typeof TextEncoder === "undefined") return null;
    return hex(await subtle.digest("SHA-256", new TextEncoder().encode(squeezed)));
  }

  /** The value of one header in a raw RFC 5322 header block (unfolded), or null. Names compare case-insensitively. */
  function headerValue(raw, name) {
    if (typeof raw !== "string") return null;
    const unfolded = raw.replace(/\r?\n[ \t]+/g, " ");
    const wanted = String(name).toLowerCase();
    for (const line of unfolded.split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) return line.slice(colon + 1).trim();
    }
    return null;
  }

  return { htmlText: htmlText, squeezedText: squeezedText, textDigest: textDigest, headerValue: headerValue };
});
