/**
 * The one door to the backend. Content scripts are held to Gmail's CORS, so every call goes through the service
 * worker, with the bearer token, JSON in and out, the API's error shape ({"error": {code, message}}) turned into
 * ApiError, a 401 "invalid_token" turned into signing out, and a 429 waited out once when it says how long.
 */

import { retryAfterMs } from '../lib/errors.js';
import * as store from './store.js';

export class ApiError extends Error {
  constructor(status, code, message, { retryAfter = null } = {}) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  toJSON() {
    return { status: this.status, code: this.code, message: this.message, retry_after_ms: this.retryAfter };
  }
}

const listeners = { unauthorized: [] };

/** Called with no arguments when the backend says our token is no longer valid. */
export function onUnauthorized(listener) {
  listeners.unauthorized.push(listener);
}

const RETRY_ONCE_UP_TO_MS = 10_000;

export async function api(path, { method = 'GET', body, auth = true, retry429 = true, headers = {}, base } = {}) {
  const state = await store.read();
  const root = base ?? state.backendUrl;
  const sendHeaders = { Accept: 'application/json', ...headers };
  if (body !== undefined) sendHeaders['Content-Type'] = 'application/json';
  if (auth) {
    if (!state.session?.token) throw new ApiError(0, 'signed_out', 'Not signed in.');
    sendHeaders.Authorization = `Bearer ${state.session.token}`;
  }
  let response;
  try {
    response = await fetch(root + path, {
      method,
      headers: sendHeaders,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, 'network', String(error?.message ?? error));
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (response.ok) return data;

  const error = data?.error ?? {};
  const code = error.code ?? `http_${response.status}`;
  const wait = retryAfterMs(response.headers.get('Retry-After'));
  if (response.status === 429 && retry429 && wait !== null && wait <= RETRY_ONCE_UP_TO_MS) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    return api(path, { method, body, auth, retry429: false, headers, base });
  }
  if (response.status === 401 && auth) {
    for (const listener of listeners.unauthorized) await listener();
  }
  throw new ApiError(response.status, code, error.message ?? response.statusText, { retryAfter: wait });
}
