/**
 * Live notifications: the backend's Server-Sent Events stream read with fetch() (EventSource can't send the
 * Authorization header), resumed with Last-Event-ID, and — since Chrome stops an idle MV3 worker and long fetches
 * don't keep it alive — a one-minute alarm that reconnects and catches up with GET /notifications?after=<last id>.
 * Either path delivers each notification once: delivery is serialised and ids at or below the last one are skipped.
 */

import { createSseParser } from '../lib/sse.js';
import { api } from './api.js';
import { refreshBadge, showNotification, showSendFailure } from './alerts.js';
import { broadcast } from './ports.js';
import * as store from './store.js';

export const ALARM = 'mb-sync';
let stream = null; // {controller, connectedAt}
let delivery = Promise.resolve();
let reconnectTimer = null;
let backoffMs = 2000;

export function isConnected() {
  return stream !== null;
}

/** Remember the newest notification so a fresh sign-in doesn't replay old alerts. */
export async function startFromNewest() {
  const page = await api('/api/v1/notifications?limit=1');
  const newest = page.notifications[0]?.id ?? 0;
  await store.write({ lastNotificationId: newest });
  await refreshBadge();
}

function deliver(note) {
  delivery = delivery.then(async () => {
    const { lastNotificationId } = await store.read();
    if (!(Number(note.id) > lastNotificationId)) return;
    await store.write({ lastNotificationId: Number(note.id) });
    broadcast({ type: 'notification', data: note });
    try {
      await showNotification(note);
    } catch (error) {
      console.warn('[mailbeacon] could not show a notification', error);
    }
    await refreshBadge();
  });
  return delivery;
}

async function onMessageEvent(data) {
  broadcast({ type: 'message-event', data });
  if (data?.event === 'message.failed') {
    await showSendFailure(data).catch(() => {});
  }
}

/** Everything after the last notification we delivered, oldest first, a page at a time. */
export async function catchUp() {
  for (let page = 0; page < 10; page += 1) {
    const { lastNotificationId } = await store.read();
    const data = await api(`/api/v1/notifications?after=${lastNotificationId}&limit=100`);
    for (const note of data.notifications) await deliver(note);
    if (data.notifications.length < 100) break;
  }
  await refreshBadge();
}

export function stop() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  stream?.controller.abort();
  stream = null;
}

function scheduleReconnect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(() => connect().catch(() => {}), backoffMs);
  backoffMs = Math.min(backoffMs * 2, 60_000);
}

/** Open the stream if it isn't open. Returns once it is connected (or failed). */
export async function connect() {
  if (stream) return;
  const { session, profile, lastNotificationId } = await store.read();
  if (!session?.token || !profile?.stream_url) return;
  const controller = new AbortController();
  stream = { controller, connectedAt: Date.now() };
  let response;
  try {
    response = await fetch(profile.stream_url, {
      headers: { Authorization: `Bearer ${session.token}`, Accept: 'text/event-stream',
        'Last-Event-ID': String(lastNotificationId) },
      signal: controller.signal, cache: 'no-store', credentials: 'omit',
    });
  } catch {
    stream = null;
    scheduleReconnect();
    return;
  }
  if (!response.ok || !response.body) {
    stream = null;
    if (response.status !== 401) scheduleReconnect();
    return;
  }
  backoffMs = 2000;
  read(response.body, controller).finally(() => {
    if (stream?.controller === controller) {
      stream = null;
      if (!controller.signal.aborted) scheduleReconnect();
    }
  });
}

async function read(body, controller) {
  const parser = createSseParser({
    onEvent(event) {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (event.type === 'notification') deliver(data);
      else if (event.type === 'message') onMessageEvent(data);
    },
  });
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
  } catch {
    // Aborted, or the connection dropped: the caller reconnects.
  } finally {
    parser.end();
    if (!controller.signal.aborted) controller.abort();
  }
}

/** The alarm's work: reconnect if the worker was asleep, and fetch what arrived meanwhile. */
export async function sync() {
  const { session } = await store.read();
  if (!session?.token) return;
  await Promise.allSettled([connect(), catchUp()]);
}
