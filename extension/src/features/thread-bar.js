/**
 * In an open conversation that holds a tracked message: a slim bar above it with the same two icons, and on hover
 * or click the timeline of every tracked message in it (when, which link, machine hits named as such).
 */

import { ATTRIBUTES } from '../gmail/selectors.js';
import { el, find, onDomChange } from '../gmail/dom.js';
import { threadIdFromAttributes } from '../lib/draft-id.js';
import { clickSummary, iconStates, mergedTimeline, openSummary, timelineLine } from '../lib/status-text.js';
import { locale, statusIcons, t } from '../content/ui.js';

export function threadIdOfHeader(header) {
  return threadIdFromAttributes(header.getAttribute(ATTRIBUTES.legacyThreadId),
    header.getAttribute(ATTRIBUTES.headerPermId) ?? header.getAttribute(ATTRIBUTES.threadPermId));
}

/** The thread open in the main area, or null (a list, or Gmail changed its header). */
export function openThread() {
  const main = find(document, 'mainArea', { quiet: true });
  const header = main && find(main, 'threadSubject', { quiet: true });
  if (!header) return null;
  const threadId = threadIdOfHeader(header);
  return threadId ? { header, threadId } : null;
}

function renderTimeline(list, details) {
  list.replaceChildren();
  const entries = mergedTimeline(details);
  if (!entries.length) {
    list.append(el('li', { class: 'mb-timeline-empty', text: t('timelineEmpty') }));
    return;
  }
  for (const entry of entries) {
    const line = timelineLine(entry, { t, locale });
    list.append(el('li', { class: `mb-timeline-entry${line.machine ? ' mb-machine' : ''}` }, [
      el('time', { datetime: entry.at, text: line.when }),
      el('span', { class: 'mb-timeline-what', text: line.what }),
      el('span', { class: 'mb-timeline-who', text: line.who }),
    ]));
  }
}

export function start(ctx) {
  let shown = null; // {threadId, bar, details}

  const remove = () => {
    shown?.bar.remove();
    shown = null;
  };

  const loadTimeline = async () => {
    if (!shown || shown.loading) return;
    const current = shown;
    current.loading = true;
    try {
      current.details = await Promise.all(current.status.messages.map((id) => ctx.ask('messageDetail', { id })));
      const list = current.bar.querySelector('.mb-timeline');
      renderTimeline(list, current.details);
      const wording = current.details.find((d) => d.shared_pixel)?.wording;
      current.bar.querySelector('.mb-timeline-note').textContent = wording ?? '';
    } catch {
      current.bar.querySelector('.mb-timeline').replaceChildren(el('li', { text: t('timelineUnavailable') }));
    } finally {
      current.loading = false;
    }
  };

  const build = (threadId, status, header) => {
    const context = { t, locale, now: new Date() };
    const labels = { open: openSummary(status, context), click: clickSummary(status, context) };
    const toggle = el('button', {
      type: 'button', class: 'mb-timeline-toggle', 'aria-expanded': 'false', 'aria-controls': `mb-timeline-${threadId}`,
      text: t('showTimeline'),
    });
    const panel = el('div', { class: 'mb-timeline-panel', id: `mb-timeline-${threadId}`, hidden: true }, [
      el('p', { class: 'mb-timeline-note' }),
      el('ol', { class: 'mb-timeline' }, [el('li', { text: t('loading') })]),
    ]);
    const bar = el('div', { class: 'mb-thread-bar', role: 'region', 'aria-label': t('threadBarLabel'),
      'data-mb-thread': threadId }, [
      el('div', { class: 'mb-thread-bar-row' }, [
        ...statusIcons(iconStates(status), labels, { size: 16 }),
        el('span', { class: 'mb-thread-summary', text: `${labels.open} · ${labels.click}` }),
        toggle,
      ]),
      panel,
    ]);
    const open = (expanded) => {
      toggle.setAttribute('aria-expanded', String(expanded));
      toggle.textContent = expanded ? t('hideTimeline') : t('showTimeline');
      panel.hidden = !expanded;
      if (expanded) loadTimeline();
    };
    toggle.addEventListener('click', () => open(panel.hidden));
    bar.addEventListener('mouseenter', () => { if (panel.hidden) open(true); });
    const anchor = find(header.closest('[role="main"]') ?? document, 'threadHeader') ?? header;
    anchor.after(bar);
    return bar;
  };

  const scan = async () => {
    if (!ctx.state.signedIn) return remove();
    const found = openThread();
    if (!found) return remove();
    if (shown?.threadId === found.threadId && shown.bar.isConnected) return;
    remove();
    const placeholder = { threadId: found.threadId, bar: el('span', { hidden: true }), status: null };
    shown = placeholder;
    const status = await ctx.rows.get(found.threadId);
    if (shown !== placeholder) return;
    if (!status?.tracked) {
      shown = { ...placeholder, bar: el('span', { hidden: true }), status }; // remembered: no bar for this one
      found.header.after(shown.bar);
      return;
    }
    shown = { threadId: found.threadId, status, bar: build(found.threadId, status, found.header) };
  };

  const stopObserving = onDomChange(() => { scan(); });
  const stopListening = ctx.rows.onChange((threadIds) => {
    if (!shown || !threadIds.includes(shown.threadId)) return;
    const wasOpen = shown.bar.querySelector('.mb-timeline-panel')?.hidden === false;
    remove();
    scan().then(() => {
      if (wasOpen && shown?.bar.querySelector) shown.bar.querySelector('.mb-timeline-toggle')?.click();
    });
  });
  ctx.events.addEventListener('session', scan);
  return () => {
    stopObserving();
    stopListening();
    ctx.events.removeEventListener('session', scan);
    remove();
  };
}
