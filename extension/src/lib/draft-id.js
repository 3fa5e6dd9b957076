/**
 * Gmail's ids as they appear in its DOM, turned into the ids the Gmail API (and so our backend) uses.
 *
 * The compose form carries `input[name="draft"]` with `#msg-a:r-7673660351152959857` once Gmail has saved the draft
 * for the first time, and the strings "undefined" or "null" (or nothing) before that. The part after `msg-a:` is the
 * API's draft id. Thread rows carry `data-legacy-thread-id` (the API's hex thread id) next to `data-thread-id`
 * (`#thread-f:<decimal>`), and the two are the same number.
 */

const DRAFT_VALUE = /^#?msg-a:(r-?\d{1,20})$/;
const BARE_DRAFT = /^r-?\d{1,20}$/;
const HEX_THREAD = /^[0-9a-f]{1,16}$/;
const PERM_THREAD = /^#?thread-f:(\d{1,20})$/;

/** The API draft id from the value of Gmail's hidden draft input, or null when Gmail has not saved it yet. */
export function draftIdFromInput(value) {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  const match = DRAFT_VALUE.exec(trimmed);
  if (match) return match[1];
  return BARE_DRAFT.test(trimmed) ? trimmed : null;
}

/** The API thread id (lower-case hex) from a row's legacy id, or null when it isn't one. */
export function threadIdFromLegacy(value) {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim().toLowerCase();
  return HEX_THREAD.test(trimmed) ? trimmed : null;
}

/** The API thread id from `#thread-f:<decimal>` (the permanent id), or null. */
export function threadIdFromPermanent(value) {
  if (typeof value !== 'string') return null;
  const match = PERM_THREAD.exec(value.trim());
  if (!match) return null;
  const number = BigInt(match[1]);
  if (number >= 2n ** 64n) return null;
  return number.toString(16);
}

/** The thread id a row or header names: the legacy attribute when present, else derived from the permanent one. */
export function threadIdFromAttributes(legacy, permanent) {
  return threadIdFromLegacy(legacy) ?? threadIdFromPermanent(permanent);
}

/** A hex thread id in a Gmail URL fragment such as `#sent/18c2f0a1b2c3d4e5` (old-style links still use them). */
export function threadIdFromHash(hash) {
  if (typeof hash !== 'string') return null;
  const last = hash.replace(/^#/, '').split('?')[0].split('/').pop() || '';
  return /^[0-9a-f]{16}$/.test(last) ? last : null;
}
