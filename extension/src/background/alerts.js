/**
 * The sender's side of a notification: a desktop alert for each human open or click the backend reports (it
 * already applied "first open only" and the notification switches), silenced in quiet hours, and the count on the
 * toolbar icon.
 */

import { chromeTranslator } from '../lib/i18n.js';
import { inQuietHours } from '../lib/quiet-hours.js';
import { notificationText } from '../lib/status-text.js';
import { describeError } from '../lib/errors.js';
import { api } from './api.js';
import * as store from './store.js';

const t = chromeTranslator();
export const NOTE_PREFIX = 'mb-note-';
export const FAILED_PREFIX = 'mb-failed-';

export async function showNotification(note) {
  const { settings } = await store.read();
  if (settings?.tracking?.notifications === false) return false;
  const quiet = settings?.notifications?.quiet_hours;
  if (quiet && inQuietHours(quiet, settings.notifications.timezone)) return false;
  const { title, body } = notificationText(note, t);
  // Which thread to open when the alert is clicked (in memory only: alerts don't outlive the browser session).
  await chrome.storage.session.set({ [`${NOTE_PREFIX}${note.id}`]: note.thread_id ?? null });
  await chrome.notifications.create(`${NOTE_PREFIX}${note.id}`, {
    type: 'basic', iconUrl: chrome.runtime.getURL('icons/icon128.png'), title, message: body,
    contextMessage: 'mailbeacon', priority: 0,
  });
  return true;
}

/** A send that failed after its compose window was closed: the user must hear of it (never silenced). */
export async function showSendFailure(event) {
  const { key } = describeError({ code: event.code, message: event.message });
  await chrome.notifications.create(`${FAILED_PREFIX}${event.message_id}`, {
    type: 'basic', iconUrl: chrome.runtime.getURL('icons/icon128.png'), title: t('sendFailedTitle'),
    message: `${t(key)} ${t('draftKept')}`, priority: 2, requireInteraction: true,
  });
}

export async function setBadge(unread) {
  const text = unread > 99 ? '99+' : unread > 0 ? String(unread) : '';
  await chrome.action.setBadgeBackgroundColor({ color: '#d93025' });
  await chrome.action.setBadgeText({ text });
  await chrome.action.setTitle({ title: unread > 0 ? t('badgeUnread', [String(unread)]) : t('extensionName') });
}

export async function refreshBadge() {
  try {
    const { unread } = await api('/api/v1/notifications/unread-count');
    await setBadge(unread);
    return unread;
  } catch {
    return null;
  }
}
