/**
 * Requests from our pages (options, popup) and from the Gmail content scripts, answered as
 * {ok: true, data} or {ok: false, error: {status, code, message}}. Gmail's page can't reach these (only our own
 * content scripts can), and a content script may only ask for what the Gmail features need.
 */

import { originPattern } from '../lib/backend-url.js';
import { ApiError, api } from './api.js';
import { refreshBadge } from './alerts.js';
import * as live from './live.js';
import { broadcast } from './ports.js';
import { applySelfBlock, trackingBases } from './selfblock.js';
import * as session from './session.js';
import * as store from './store.js';

const ROW_BATCH = 100;
const GMAIL = 'https://mail.google.com/';
const FOR_CONTENT_SCRIPTS = new Set(['state', 'sendTracked', 'messageStatus', 'rowStatus', 'messageDetail',
  'listMessages', 'viewing', 'openOptions']);

export async function publicState() {
  const { backendUrl, session: current, profile, settings } = await store.read();
  let permission = false;
  try {
    permission = await chrome.permissions.contains({ origins: [originPattern(backendUrl)] });
  } catch {
    permission = false;
  }
  const defaults = settings?.composer_defaults ?? {};
  return {
    backendUrl,
    permission,
    signedIn: Boolean(current?.token),
    user: current?.user ?? null,
    profile,
    settings,
    composer: {
      opens: defaults.track_opens ?? profile?.defaults?.track_opens ?? true,
      clicks: defaults.track_clicks ?? profile?.defaults?.track_clicks ?? true,
      showOpens: defaults.show_opens_toggle ?? true,
      showClicks: defaults.show_clicks_toggle ?? true,
    },
    live: live.isConnected(),
    extensionId: chrome.runtime.id,
    redirectUri: chrome.identity.getRedirectURL(session.REDIRECT_PATH),
  };
}

async function announce() {
  broadcast({ type: 'session', data: await publicState() });
}

export async function afterSignIn() {
  const { backendUrl } = await store.read();
  const { profile } = await session.refreshProfile();
  await applySelfBlock(trackingBases(backendUrl, profile));
  await live.startFromNewest();
  await live.connect();
}

let settingsRefresh = null;
function refreshSettingsSoon() {
  // A tracked send makes its toggles the next default on the backend; pick that up once, shortly after.
  clearTimeout(settingsRefresh);
  settingsRefresh = setTimeout(() => session.refreshProfile().then(announce).catch(() => {}), 500);
}

/** Show a thread in the Gmail tab (or a new one). */
export async function openThread(threadId) {
  if (!threadId) return;
  const url = `${GMAIL}mail/u/0/#all/${encodeURIComponent(threadId)}`;
  const [tab] = await chrome.tabs.query({ url: `${GMAIL}*` });
  if (tab) {
    await chrome.tabs.update(tab.id, { url, active: true });
    await chrome.windows.update(tab.windowId, { focused: true });
  } else {
    await chrome.tabs.create({ url });
  }
}

const handlers = {
  state: () => publicState(),

  async setBackendUrl({ url }) {
    const base = await session.setBackendUrl(url);
    live.stop();
    await applySelfBlock(trackingBases(base, null));
    await refreshBadge();
    await announce();
    return publicState();
  },

  async signIn() {
    await session.signIn();
    await afterSignIn();
    await announce();
    return publicState();
  },

  async signOut() {
    live.stop();
    await session.signOut();
    await chrome.action.setBadgeText({ text: '' });
    await announce();
    return publicState();
  },

  sendTracked({ draftId, trackOpens, trackClicks, seen, idempotencyKey }) {
    return api('/api/v1/messages', {
      method: 'POST',
      body: { draft_id: draftId, track_opens: trackOpens, track_clicks: trackClicks, seen,
        idempotency_key: idempotencyKey },
    });
  },

  async messageStatus({ id }) {
    const data = await api(`/api/v1/messages/${encodeURIComponent(id)}`);
    if (data.status === 'sent') refreshSettingsSoon();
    return data;
  },

  async rowStatus({ threadIds }) {
    const ids = [...new Set(threadIds)];
    const rows = {};
    for (let i = 0; i < ids.length; i += ROW_BATCH) {
      const page = await api('/api/v1/messages/status', { method: 'POST', body: { thread_ids: ids.slice(i, i + ROW_BATCH) } });
      Object.assign(rows, page.rows);
    }
    return rows;
  },

  messageDetail: ({ id }) => api(`/api/v1/messages/${encodeURIComponent(id)}`),

  listMessages({ filter = 'tracked', q = '', cursor = '', limit = 25 }) {
    const query = new URLSearchParams({ filter, limit: String(limit) });
    if (q) query.set('q', q);
    if (cursor) query.set('cursor', cursor);
    return api(`/api/v1/messages?${query}`);
  },

  viewing: ({ threadId }) => api('/api/v1/viewing', { method: 'POST', body: { thread_id: threadId } }),

  notifications({ limit = 20, before } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before) query.set('before', String(before));
    return api(`/api/v1/notifications?${query}`);
  },

  async markRead({ ids, all }) {
    const result = await api('/api/v1/notifications/read', { method: 'POST', body: all ? { all: true } : { ids } });
    await refreshBadge();
    broadcast({ type: 'unread', data: { unread: result.unread } });
    return result;
  },

  async patchSettings({ patch }) {
    const settings = await api('/api/v1/settings', { method: 'PATCH', body: patch });
    await store.write({ settings });
    await announce();
    return settings;
  },

  async refresh() {
    await session.refreshProfile();
    await announce();
    return publicState();
  },

  async openThread({ threadId }) {
    await openThread(threadId);
    return true;
  },

  async openOptions() {
    await chrome.runtime.openOptionsPage();
    return true;
  },
};

function allowed(type, sender) {
  if (sender.id !== chrome.runtime.id) return false;
  const url = sender.url ?? '';
  if (url.startsWith(chrome.runtime.getURL(''))) return true; // our own pages
  return Boolean(sender.tab) && url.startsWith(GMAIL) && FOR_CONTENT_SCRIPTS.has(type);
}

export function handle(message, sender, sendResponse) {
  const type = message?.type;
  const handler = Object.hasOwn(handlers, type) ? handlers[type] : null;
  if (!handler || !allowed(type, sender)) {
    sendResponse({ ok: false, error: { status: 0, code: 'refused', message: `unknown request ${type}` } });
    return false;
  }
  Promise.resolve()
    .then(() => handler(message))
    .then((data) => sendResponse({ ok: true, data }))
    .catch((error) => {
      const shaped = error instanceof ApiError ? error.toJSON()
        : { status: 0, code: error?.reason ?? 'internal', message: String(error?.message ?? error) };
      sendResponse({ ok: false, error: shaped });
    });
  return true; // answered asynchronously
}

export { announce };
