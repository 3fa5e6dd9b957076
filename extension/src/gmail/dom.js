/**
 * Finding Gmail's elements without ever breaking Gmail: a lookup that finds nothing returns null and logs once per
 * selector name, so a Gmail redesign shows up in the console as one line per missing part, not a flood.
 */

import { SELECTORS } from './selectors.js';

const reported = new Set();

export function logOnce(name, detail) {
  if (reported.has(name)) return;
  reported.add(name);
  console.info(`[mailbeacon] Gmail's page has no ${name}${detail ? ` (${detail})` : ''}; that part stays off.`);
}

function alternatives(name, arg) {
  const entry = SELECTORS[name];
  if (typeof entry === 'function') return entry(arg);
  return entry ?? [];
}

/** The first element under `root` matching any alternative of SELECTORS[name], or null (logged once). */
export function find(root, name, { arg, quiet = false } = {}) {
  if (!root) return null;
  for (const selector of alternatives(name, arg)) {
    const element = root.querySelector(selector);
    if (element) return element;
  }
  if (!quiet) logOnce(arg ? `${name}(${arg})` : name);
  return null;
}

/** Every element matching the first alternative that matches anything. */
export function findAll(root, name, { arg } = {}) {
  if (!root) return [];
  for (const selector of alternatives(name, arg)) {
    const found = root.querySelectorAll(selector);
    if (found.length) return [...found];
  }
  return [];
}

/** `element.closest()` over the alternatives of SELECTORS[name]. */
export function closest(element, name) {
  for (const selector of alternatives(name)) {
    const found = element?.closest?.(selector);
    if (found) return found;
  }
  return null;
}

/**
 * Call `callback` after DOM changes, at most once per animation frame and at least every `maxDelay` ms while
 * Gmail keeps mutating, so features catch new compose windows and rows without scanning on every mutation.
 */
export function onDomChange(callback, { root = document.documentElement, maxDelay = 250 } = {}) {
  let scheduled = false;
  let timer = null;
  const run = () => {
    scheduled = false;
    clearTimeout(timer);
    try {
      callback();
    } catch (error) {
      console.warn('[mailbeacon] a feature failed on a page change', error);
    }
  };
  const observer = new MutationObserver(() => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(run);
    timer = setTimeout(run, maxDelay); // rAF doesn't run in background tabs
  });
  observer.observe(root, { childList: true, subtree: true });
  run();
  return () => observer.disconnect();
}

/** Dispatch the mouse sequence Gmail's buttons react to (they act on mousedown/mouseup, not only click). */
export function simulateClick(element) {
  const options = { bubbles: true, cancelable: true, view: window };
  element.dispatchEvent(new MouseEvent('mousedown', options));
  element.dispatchEvent(new MouseEvent('mouseup', options));
  element.dispatchEvent(new MouseEvent('click', options));
}

/** A small element factory: el('span', {class: 'x', title: 'y'}, [children]). */
export function el(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name === 'text') element.textContent = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of [].concat(children)) {
    if (child == null) continue;
    element.append(child);
  }
  return element;
}
