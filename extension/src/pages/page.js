/** What the options page and the popup share: asking the worker, and filling in translated text. */

import { chromeTranslator } from '../lib/i18n.js';

export const t = chromeTranslator();

export async function send(type, payload = {}) {
  const reply = await chrome.runtime.sendMessage({ type, ...payload });
  if (!reply?.ok) {
    const error = new Error(reply?.error?.message ?? 'failed');
    Object.assign(error, reply?.error ?? {});
    throw error;
  }
  return reply.data;
}

/** Every [data-i18n] element gets its text, [data-i18n-label] its aria-label, [data-i18n-title] its title. */
export function localize(root = document) {
  document.documentElement.lang = chrome.i18n.getUILanguage();
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-label]')) node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  for (const node of root.querySelectorAll('[data-i18n-title]')) node.title = t(node.dataset.i18nTitle);
  for (const node of root.querySelectorAll('[data-i18n-placeholder]')) node.placeholder = t(node.dataset.i18nPlaceholder);
}

/** The live port: session changes and new notifications while the page is open. */
export function listen(handlers) {
  const port = chrome.runtime.connect({ name: 'mb-live' });
  port.onMessage.addListener((message) => handlers[message?.type]?.(message.data));
  return port;
}
