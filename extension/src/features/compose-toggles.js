/**
 * Two switches beside Send in every compose window — "Track email opens" and "Track link clicks" — starting from
 * the user's defaults and hidden when the account setting turns that kind of tracking off. Nothing is added when
 * signed out, or when Gmail's compose lacks a part we need (logged once).
 */

import { ComposeWindow } from '../gmail/compose.js';
import { el, find, onDomChange } from '../gmail/dom.js';
import { icon, t } from '../content/ui.js';

const KINDS = [
  { key: 'opens', icon: 'open', label: 'toggleOpens', show: 'showOpens' },
  { key: 'clicks', icon: 'click', label: 'toggleClicks', show: 'showClicks' },
];

function switchButton(compose, kind, composer) {
  const button = el('button', {
    type: 'button', role: 'switch', class: `mb-toggle mb-toggle-${kind.key}`, 'data-mb-toggle': kind.key,
    title: t(`${kind.label}Tooltip`), 'aria-label': t(kind.label),
  }, [icon(kind.icon, { size: 18 })]);
  const paint = () => {
    const on = compose.choice[kind.key];
    button.setAttribute('aria-checked', String(on));
    button.classList.toggle('mb-on', on);
  };
  button.hidden = !composer[kind.show];
  button.addEventListener('click', (event) => {
    event.preventDefault();
    event.stopPropagation();
    if (compose.sending) return;
    compose.choice[kind.key] = !compose.choice[kind.key];
    paint();
  });
  paint();
  return button;
}

function decorate(compose, composer) {
  if (compose.root.querySelector('.mb-toggles')) return;
  const sendButton = compose.sendButton();
  const cell = find(compose.root, 'sendCell') ?? sendButton?.closest('td');
  if (!cell) return;
  if (!compose.initialised) {
    compose.choice = {
      opens: Boolean(composer.showOpens && composer.opens),
      clicks: Boolean(composer.showClicks && composer.clicks),
    };
    compose.initialised = true;
  }
  const group = el('div', { class: 'mb-toggle-group', role: 'group', 'aria-label': t('togglesGroup') },
    KINDS.map((kind) => switchButton(compose, kind, composer)));
  const status = el('span', { class: 'mb-send-status', role: 'status', 'aria-live': 'polite' });
  const container = cell.tagName === 'TD'
    ? el('td', { class: 'mb-toggles' }, [group, status])
    : el('div', { class: 'mb-toggles' }, [group, status]);
  cell.after(container);
}

function undecorate(root = document) {
  root.querySelectorAll('.mb-toggles').forEach((node) => node.remove());
}

export function start(ctx) {
  const scan = () => {
    if (!ctx.state.signedIn) return;
    const composer = ctx.state.composer;
    for (const compose of ComposeWindow.scan()) {
      if (!composer.showOpens && !composer.showClicks) {
        compose.choice = { opens: false, clicks: false };
        continue;
      }
      decorate(compose, composer);
    }
  };
  const stop = onDomChange(scan);
  const shape = () => `${ctx.state.signedIn}|${ctx.state.composer.showOpens}|${ctx.state.composer.showClicks}`;
  let drawn = shape();
  const onSession = () => {
    // Only signing in or out, or a toggle being hidden or shown, redraws: new defaults (a send elsewhere makes
    // its toggles the next default) must not undo what the user chose in a compose window that is already open.
    if (shape() === drawn) return;
    drawn = shape();
    undecorate();
    for (const compose of ComposeWindow.scan()) {
      if (!compose.sending) compose.initialised = false;
    }
    scan();
  };
  ctx.events.addEventListener('session', onSession);
  return () => {
    stop();
    ctx.events.removeEventListener('session', onSession);
    undecorate();
  };
}
