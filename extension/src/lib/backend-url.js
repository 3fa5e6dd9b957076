/**
 * The backend's address, as the user types it on the options page (self-hosting), made safe to use.
 *
 * Plain http is accepted only for this machine: anything else would send the API token in the clear.
 */

export const DEFAULT_BACKEND_URL = 'http://127.0.0.1:8025';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export class BackendUrlError extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason; // a _locales key
  }
}

/** "https://t.example.com/" → "https://t.example.com"; throws BackendUrlError with a message key. */
export function normalizeBackendUrl(input) {
  const text = String(input ?? '').trim();
  if (!text) throw new BackendUrlError('backendUrlEmpty');
  let url;
  try {
    url = new URL(text.includes('://') ? text : `https://${text}`);
  } catch {
    throw new BackendUrlError('backendUrlInvalid');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new BackendUrlError('backendUrlInvalid');
  if (url.username || url.password || url.search || url.hash) throw new BackendUrlError('backendUrlInvalid');
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) throw new BackendUrlError('backendUrlNeedsHttps');
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path}`;
}

/** The host-permission pattern that covers the backend (for chrome.permissions.request). */
export function originPattern(base) {
  const url = new URL(base);
  return `${url.protocol}//${url.host}/*`;
}
