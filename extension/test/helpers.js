// Shared by the node tests: the English translator, read from the same messages.json Chrome reads.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { translatorFor } from '../src/lib/i18n.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const messages = (language) =>
  JSON.parse(readFileSync(new URL(`../_locales/${language}/messages.json`, import.meta.url), 'utf8'));
export const en = translatorFor(messages('en'));
export const tr = translatorFor(messages('tr'));
