/** Small pieces of UI the Gmail features share: the two tracking icons, a toast, translated strings. */

import { chromeTranslator, uiLocale } from '../lib/i18n.js';
import { el } from '../gmail/dom.js';

export const t = chromeTranslator();
export const locale = uiLocale();

const SVG = 'http://www.w3.org/2000/svg';
const PATHS = {
  // An eye (opens) and a mouse pointer (clicks), drawn on a 24-unit grid.
  open: 'M12 5C6.5 5 2.7 9.3 1.5 12c1.2 2.7 5 7 10.5 7s9.3-4.3 10.5-7C21.3 9.3 17.5 5 12 5zm0 11.5a4.5 4.5 0 1 1 0-9 4.5 4.5 0 0 1 0 9zm0-2.5a2 2 0 1 0 0-4 2 2 0 0 0 0 4z',
  click: 'M6 3l13 9.6-5.6 1.1 3.3 6.7-2.7 1.3-3.3-6.8L6 19.2z',
};

export function icon(kind, { size = 16 } = {}) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', PATHS[kind]);
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

/** The pair of status icons: faint until it happened, solid afterwards; the tooltip says when. */
export function statusIcons(states, labels, { size = 14 } = {}) {
  const make = (kind) => el('span', {
    class: `mb-status-icon mb-${kind} ${states[kind] === 'done' ? 'mb-done' : 'mb-pending'}`,
    title: labels[kind], 'aria-label': labels[kind], role: 'img', 'data-mb-state': states[kind],
  }, [icon(kind, { size })]);
  return [make('open'), make('click')];
}

let toastTimer = null;

/** A Gmail-like message at the bottom left, read out by screen readers. */
export function toast(text, { ms = 6000 } = {}) {
  let box = document.querySelector('.mb-toast');
  if (!box) {
    box = el('div', { class: 'mb-toast', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, ms);
}
