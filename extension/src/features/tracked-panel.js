/**
 * "Tracked" in Gmail's left navigation: a panel listing the tracked messages, filterable by opened / clicked /
 * not opened (and searchable by subject or recipient), that opens a message's thread when clicked.
 */

import { el, find, onDomChange } from '../gmail/dom.js';
import { relativeTime } from '../lib/time-format.js';
import { clickSummary, iconStates, openSummary, rowFromSummary } from '../lib/status-text.js';
import { icon, locale, statusIcons, t } from '../content/ui.js';

const FILTERS = [
  ['tracked', 'filterAll'],
  ['opened', 'filterOpened'],
  ['clicked', 'filterClicked'],
  ['not_opened', 'filterNotOpened'],
];

function item(message, onOpen) {
  const row = rowFromSummary(message);
  const context = { t, locale, now: new Date() };
  const labels = { open: openSummary(row, context), click: clickSummary(row, context) };
  const button = el('button', { type: 'button', class: 'mb-panel-item', 'data-mb-message': message.id,
    'data-mb-thread': message.thread_id ?? '', disabled: !message.thread_id }, [
    el('span', { class: 'mb-panel-icons' }, statusIcons(iconStates(row), labels)),
    el('span', { class: 'mb-panel-text' }, [
      el('span', { class: 'mb-panel-subject', text: message.subject || t('noSubject') }),
      el('span', { class: 'mb-panel-meta', text: [
        (message.recipients ?? []).join(', '),
        message.sent_at ? relativeTime(message.sent_at, { locale }) : t(`status_${message.status}`),
      ].filter(Boolean).join(' · ') }),
    ]),
  ]);
  button.addEventListener('click', () => onOpen(message));
  return el('li', {}, [button]);
}

function buildPanel(ctx, close) {
  let filter = 'tracked';
  let cursor = null;
  let query = '';
  let generation = 0;
  const list = el('ul', { class: 'mb-panel-list', 'aria-live': 'polite' });
  const more = el('button', { type: 'button', class: 'mb-button', text: t('loadMore'), hidden: true });
  const empty = el('p', { class: 'mb-panel-empty', hidden: true, text: t('panelEmpty') });
  const search = el('input', { type: 'search', class: 'mb-panel-search', placeholder: t('panelSearch'),
    'aria-label': t('panelSearch') });
  const tabs = el('div', { class: 'mb-panel-filters', role: 'tablist', 'aria-label': t('panelFilters') },
    FILTERS.map(([value, key]) => {
      const tab = el('button', { type: 'button', role: 'tab', class: 'mb-filter', 'data-mb-filter': value,
        'aria-selected': String(value === filter), text: t(key) });
      tab.addEventListener('click', () => {
        filter = value;
        tabs.querySelectorAll('[role="tab"]').forEach((other) =>
          other.setAttribute('aria-selected', String(other === tab)));
        load(true);
      });
      return tab;
    }));

  const openMessage = (message) => {
    if (!message.thread_id) return;
    close();
    location.hash = `#all/${message.thread_id}`;
  };

  async function load(reset) {
    const mine = ++generation;
    if (reset) {
      cursor = null;
      list.replaceChildren(el('li', { class: 'mb-panel-loading', text: t('loading') }));
    }
    try {
      const page = await ctx.ask('listMessages', { filter, q: query, cursor: reset ? '' : cursor ?? '' });
      if (mine !== generation) return;
      if (reset) list.replaceChildren();
      list.querySelector('.mb-panel-loading')?.remove();
      for (const message of page.messages) list.append(item(message, openMessage));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = list.childElementCount > 0;
    } catch {
      if (mine === generation) list.replaceChildren(el('li', { class: 'mb-panel-error', text: t('panelUnavailable') }));
    }
  }

  let searchTimer = null;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      query = search.value.trim();
      load(true);
    }, 250);
  });
  more.addEventListener('click', () => load(false));

  const closeButton = el('button', { type: 'button', class: 'mb-panel-close', 'aria-label': t('close'), text: '×' });
  closeButton.addEventListener('click', close);
  const panel = el('div', { class: 'mb-panel', role: 'dialog', 'aria-labelledby': 'mb-panel-title' }, [
    el('div', { class: 'mb-panel-header' }, [el('h2', { id: 'mb-panel-title', text: t('panelTitle') }), closeButton]),
    tabs, search, list, empty, more,
  ]);
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
    event.stopPropagation(); // Gmail's keyboard shortcuts must not fire while typing here
  });
  load(true);
  return { panel, reload: () => load(true), focus: () => tabs.querySelector('[aria-selected="true"]')?.focus() };
}

export function start(ctx) {
  let open = null;

  const close = () => {
    open?.panel.remove();
    open = null;
    document.querySelector('.mb-nav-tracked')?.setAttribute('aria-expanded', 'false');
  };

  const toggle = () => {
    if (open) return close();
    open = buildPanel(ctx, close);
    document.body.append(open.panel);
    document.querySelector('.mb-nav-tracked')?.setAttribute('aria-expanded', 'true');
    open.focus();
  };

  const scan = () => {
    const existing = document.querySelector('.mb-nav-tracked');
    if (!ctx.state.signedIn) {
      existing?.remove();
      close();
      return;
    }
    if (existing?.isConnected) return;
    const nav = find(document, 'navigation', { quiet: true });
    const slot = nav && (find(nav, 'navList', { quiet: true }) ?? nav);
    if (!slot) return;
    const entry = el('div', { class: 'mb-nav-tracked', role: 'button', tabindex: '0', 'aria-expanded': 'false',
      'aria-haspopup': 'dialog', title: t('navTrackedTooltip') }, [icon('open', { size: 18 }),
      el('span', { text: t('navTracked') })]);
    entry.addEventListener('click', toggle);
    entry.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        toggle();
      }
    });
    slot.append(entry);
  };

  const stopObserving = onDomChange(scan);
  const onNotification = () => open?.reload();
  ctx.events.addEventListener('notification', onNotification);
  ctx.events.addEventListener('session', scan);
  return () => {
    stopObserving();
    ctx.events.removeEventListener('notification', onNotification);
    ctx.events.removeEventListener('session', scan);
    close();
    document.querySelector('.mb-nav-tracked')?.remove();
  };
}
