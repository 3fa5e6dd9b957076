/**
 * `t(key, substitutions)`: chrome.i18n.getMessage where it exists, and the same formatting over a messages.json
 * object elsewhere (node tests), so pure modules take a `t` and never touch chrome.* themselves.
 */

export function formatMessage(entry, substitutions = []) {
  if (!entry) return '';
  const subs = Array.isArray(substitutions) ? substitutions : [substitutions];
  const placeholders = Object.fromEntries(
    Object.entries(entry.placeholders ?? {}).map(([name, value]) => [name.toLowerCase(), value.content]),
  );
  const numbered = (text) => text.replace(/\$(\d)/g, (_, n) => String(subs[Number(n) - 1] ?? ''));
  return entry.message
    .replace(/\$([a-zA-Z0-9_@]+)\$/g, (whole, name) =>
      name.toLowerCase() in placeholders ? numbered(placeholders[name.toLowerCase()]) : whole)
    .replace(/\$\$/g, '$');
}

/** A translator over a parsed messages.json (the shape Chrome reads). */
export function translatorFor(messages) {
  const lower = Object.fromEntries(Object.entries(messages).map(([k, v]) => [k.toLowerCase(), v]));
  return (key, substitutions) => formatMessage(lower[key.toLowerCase()], substitutions);
}

/** The translator of the running extension (content scripts, pages and the service worker alike). */
export function chromeTranslator() {
  return (key, substitutions) => chrome.i18n.getMessage(key, substitutions) || key;
}

/** The language Intl should format times in: the browser's UI language. */
export function uiLocale() {
  try {
    return chrome.i18n.getUILanguage();
  } catch {
    return undefined;
  }
}
