/**
 * What the service worker remembers across its restarts (Chrome stops an idle MV3 worker after 30 s):
 * the backend URL, the API token and who it belongs to, the cached profile and settings, the last notification
 * seen. Everything lives in chrome.storage.local; nothing here is ever logged.
 */

import { DEFAULT_BACKEND_URL } from '../lib/backend-url.js';

const KEYS = ['backendUrl', 'session', 'profile', 'settings', 'lastNotificationId'];

export async function read() {
  const stored = await chrome.storage.local.get(KEYS);
  return {
    backendUrl: stored.backendUrl || DEFAULT_BACKEND_URL,
    session: stored.session ?? null,
    profile: stored.profile ?? null,
    settings: stored.settings ?? null,
    lastNotificationId: Number(stored.lastNotificationId ?? 0),
  };
}

export async function write(values) {
  await chrome.storage.local.set(values);
}

/** Forget the account (token, profile, settings, notification position); the backend URL stays. */
export async function forgetAccount() {
  await chrome.storage.local.remove(['session', 'profile', 'settings', 'lastNotificationId']);
}
