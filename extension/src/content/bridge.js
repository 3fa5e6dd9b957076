/**
 * The content scripts' line to the service worker: requests (every network call goes through the worker, since
 * a content script is held to Gmail's CORS) and the live port that brings notifications and session changes.
 * When the extension is reloaded or updated, this page's copy loses its connection: requests then fail with
 * code "extension_reloaded" and the features go quiet instead of throwing into Gmail.
 */

export class BridgeError extends Error {
  constructor(error) {
    super(error?.message ?? error?.code ?? 'failed');
    Object.assign(this, error);
  }
}

function alive() {
  try {
    return Boolean(chrome.runtime?.id);
  } catch {
    return false;
  }
}

export async function ask(type, payload = {}) {
  if (!alive()) throw new BridgeError({ status: 0, code: 'extension_reloaded', message: 'extension reloaded' });
  let reply;
  try {
    reply = await chrome.runtime.sendMessage({ type, ...payload });
  } catch (error) {
    throw new BridgeError({ status: 0, code: 'extension_reloaded', message: String(error?.message ?? error) });
  }
  if (!reply?.ok) throw new BridgeError(reply?.error ?? { status: 0, code: 'internal' });
  return reply.data;
}

/**
 * Keep a port open to the worker, re-opening it when the worker restarts; dispatch what arrives on `events`
 * (an EventTarget) as CustomEvents named by the message type.
 */
export function connectLive(events, { pingMs = 20_000 } = {}) {
  let port = null;
  let ping = null;
  let stopped = false;
  const open = () => {
    if (stopped || !alive()) return;
    try {
      port = chrome.runtime.connect({ name: 'mb-live' });
    } catch {
      return;
    }
    port.onMessage.addListener((message) => {
      if (message?.type && message.type !== 'pong') {
        events.dispatchEvent(new CustomEvent(message.type, { detail: message.data }));
      }
    });
    port.onDisconnect.addListener(() => {
      clearInterval(ping);
      port = null;
      // The worker was stopped or restarted: come back (it wakes for the connection), and catch up.
      if (!stopped) setTimeout(() => { open(); events.dispatchEvent(new CustomEvent('reconnected')); }, 1000);
    });
    ping = setInterval(() => {
      try {
        port?.postMessage({ type: 'ping' });
      } catch {
        clearInterval(ping);
      }
    }, pingMs);
  };
  open();
  return () => {
    stopped = true;
    clearInterval(ping);
    port?.disconnect();
  };
}
