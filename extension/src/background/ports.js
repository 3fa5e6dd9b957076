/**
 * Long-lived connections from Gmail tabs (and the popup): how live updates reach them, and — because every
 * message on a port resets the worker's idle timer — what keeps the worker and its stream alive while Gmail is
 * open. Each Gmail tab pings every 20 s; Chrome would otherwise stop the worker after 30 s of quiet.
 */

const ports = new Set();

export function accept(port) {
  if (port.name !== 'mb-live') return;
  const url = port.sender?.url ?? '';
  const ours = port.sender?.id === chrome.runtime.id;
  if (!ours || !(url.startsWith('https://mail.google.com/') || url.startsWith(chrome.runtime.getURL('')))) {
    port.disconnect();
    return;
  }
  ports.add(port);
  port.onDisconnect.addListener(() => ports.delete(port));
  port.onMessage.addListener((message) => {
    if (message?.type === 'ping') port.postMessage({ type: 'pong' });
  });
}

export function broadcast(message) {
  for (const port of ports) {
    try {
      port.postMessage(message);
    } catch {
      ports.delete(port);
    }
  }
}

export function count() {
  return ports.size;
}
