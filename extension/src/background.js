/**
 * The service worker: the only part that talks to the backend. Listeners are registered at the top level, as MV3
 * requires, so an event that wakes the worker finds them; the work lives in src/background/.
 */

import { api, onUnauthorized } from './background/api.js';
import { FAILED_PREFIX, NOTE_PREFIX, refreshBadge } from './background/alerts.js';
import * as live from './background/live.js';
import { accept } from './background/ports.js';
import { announce, handle, openThread } from './background/router.js';
import { applySelfBlock, trackingBases } from './background/selfblock.js';
import { refreshProfile } from './background/session.js';
import * as store from './background/store.js';

chrome.runtime.onMessage.addListener(handle);
chrome.runtime.onConnect.addListener(accept);

chrome.alarms.onAlarm.addListener(async (alarm) => {
  if (alarm.name !== live.ALARM) return;
  const { session: current } = await store.read();
  if (!current?.token) return;
  // Settings can change elsewhere (the options page of another browser, a send from Outlook making its toggles
  // the next default): picked up once a minute along with the notifications.
  await Promise.allSettled([live.sync(), refreshProfile().then(announce)]);
});

chrome.notifications.onClicked.addListener(async (notificationId) => {
  chrome.notifications.clear(notificationId);
  if (notificationId.startsWith(NOTE_PREFIX)) {
    const id = Number(notificationId.slice(NOTE_PREFIX.length));
    const threadId = (await chrome.storage.session.get(notificationId))[notificationId];
    await openThread(threadId);
    try {
      await api('/api/v1/notifications/read', { method: 'POST', body: { ids: [id] } });
      await refreshBadge();
    } catch {
      // Signed out or offline: the popup still lists it.
    }
  } else if (notificationId.startsWith(FAILED_PREFIX)) {
    await chrome.tabs.create({ url: 'https://mail.google.com/mail/u/0/#drafts' });
  }
});

onUnauthorized(async () => {
  // The token expired or was revoked: forget it, so every surface asks to sign in again.
  live.stop();
  await store.forgetAccount();
  await chrome.action.setBadgeText({ text: '!' });
  await announce();
});

async function boot() {
  await chrome.alarms.create(live.ALARM, { periodInMinutes: 1 });
  const { backendUrl, profile, session } = await store.read();
  await applySelfBlock(trackingBases(backendUrl, profile));
  if (session?.token) await live.sync();
}

chrome.runtime.onInstalled.addListener(() => boot().catch(() => {}));
chrome.runtime.onStartup.addListener(() => boot().catch(() => {}));
boot().catch(() => {}); // every wake-up: the stream died with the previous worker
