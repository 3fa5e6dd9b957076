/**
 * What went wrong, in the user's words: API error codes and the send job's `status_detail` ("code: detail")
 * mapped to _locales keys. Unknown codes fall back to a generic message that still shows the server's detail.
 */

const BY_CODE = {
  stale_draft: 'errorStaleDraft',
  draft_missing: 'errorDraftMissing',
  account_disconnected: 'errorAccountDisconnected',
  no_account: 'errorNoAccount',
  grant_revoked: 'errorAccountDisconnected',
  invalid_token: 'errorSignInAgain',
  unauthorized: 'errorSignInAgain',
  signed_out: 'errorSignInAgain',
  rate_limited: 'errorRateLimited',
  network: 'errorBackendUnreachable',
  no_permission: 'errorNoHostPermission',
  timeout: 'errorSendTimeout',
  draft_not_saved: 'errorDraftNotSaved',
  compose_unreadable: 'errorComposeUnreadable',
  reconnect: 'errorAccountDisconnected',
  gave_up: 'errorGaveUp',
  gmail_refused: 'errorGmailRefused',
  sign_in_cancelled: 'errorSignInCancelled',
  sign_in_failed: 'errorSignInFailed',
  extension_reloaded: 'errorExtensionReloaded',
};

/** The code of a failed send's `status_detail` ("stale_draft: Gmail's copy…" → "stale_draft"). */
export function detailCode(statusDetail) {
  const match = /^([a-z_]+):/.exec(statusDetail ?? '');
  return match ? match[1] : null;
}

/** {key, detail}: the message key to show and the server's own words (shown smaller, if any). */
export function describeError(error) {
  const code = error?.code ?? detailCode(error?.status_detail) ?? 'unknown';
  const detail = error?.message ?? (error?.status_detail ?? '').replace(/^[a-z_]+:\s*/, '');
  return { code, key: BY_CODE[code] ?? 'errorGeneric', detail: detail || '' };
}

/** Retry-After (seconds or an HTTP date) in milliseconds, capped; null when absent or unreadable. */
export function retryAfterMs(header, { now = Date.now(), capMs = 120_000 } = {}) {
  if (header == null || header === '') return null;
  const seconds = Number(header);
  let ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms)) return null;
  ms = Math.max(0, ms);
  return Math.min(ms, capMs);
}
