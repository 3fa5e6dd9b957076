/**
 * Two small icons on every list row whose thread holds a tracked message — open and click, faint until it
 * happened and solid afterwards — with the when in the tooltip ("Opened 3 times · last 2 hr. ago"). Rows are
 * looked up in batches; a notification redraws its row at once.
 */

import { ATTRIBUTES } from '../gmail/selectors.js';
import { el, find, findAll, onDomChange } from '../gmail/dom.js';
import { threadIdFromAttributes } from '../lib/draft-id.js';
import { clickSummary, iconStates, openSummary } from '../lib/status-text.js';
import { locale, statusIcons, t } from '../content/ui.js';

const REFRESH_MS = 60_000;

export function threadIdOfRow(row) {
  const carrier = find(row, 'rowThreadIds', { quiet: true });
  if (!carrier) return null;
  return threadIdFromAttributes(carrier.getAttribute(ATTRIBUTES.legacyThreadId),
    carrier.getAttribute(ATTRIBUTES.threadPermId));
}

function paint(row, status) {
  row.querySelector('.mb-row-icons')?.remove();
  if (!status?.tracked) return;
  const slot = find(row, 'rowIconSlot');
  if (!slot) return;
  const context = { t, locale, now: new Date() };
  const labels = { open: openSummary(status, context), click: clickSummary(status, context) };
  const box = el('span', { class: 'mb-row-icons', 'data-mb-thread': row.dataset.mbThread },
    statusIcons(iconStates(status), labels));
  slot.prepend(box);
}

export function start(ctx) {
  const draw = (row, threadId) => {
    row.dataset.mbThread = threadId;
    const known = ctx.rows.peek(threadId);
    if (known) {
      if (row.dataset.mbPainted !== String(ctx.rows.cache.get(threadId)?.at)) {
        paint(row, known);
        row.dataset.mbPainted = String(ctx.rows.cache.get(threadId)?.at);
      }
      return;
    }
    ctx.rows.get(threadId).then((status) => {
      if (row.dataset.mbThread !== threadId || !row.isConnected) return;
      paint(row, status);
      row.dataset.mbPainted = String(ctx.rows.cache.get(threadId)?.at ?? '');
    });
  };

  const scan = () => {
    if (!ctx.state.signedIn) return;
    for (const row of findAll(document, 'threadRow')) {
      const threadId = threadIdOfRow(row);
      if (!threadId) continue;
      // Gmail reuses row elements for other threads as lists change: redraw when the id changed.
      if (row.dataset.mbThread !== threadId) {
        row.querySelector('.mb-row-icons')?.remove();
        delete row.dataset.mbPainted;
      }
      draw(row, threadId);
    }
  };

  const stopObserving = onDomChange(scan);
  const stopListening = ctx.rows.onChange((threadIds) => {
    for (const threadId of threadIds) {
      for (const row of document.querySelectorAll(`tr[data-mb-thread="${CSS.escape(threadId)}"]`)) {
        delete row.dataset.mbPainted;
        draw(row, threadId);
      }
    }
  });
  // Relative times ("5 min. ago") age; tracked rows are refreshed once a minute while the list is on screen.
  const timer = setInterval(() => {
    for (const row of document.querySelectorAll('tr[data-mb-thread] .mb-row-icons')) {
      ctx.rows.invalidate(row.dataset.mbThread);
    }
  }, REFRESH_MS);
  const onSession = () => {
    if (!ctx.state.signedIn) document.querySelectorAll('.mb-row-icons').forEach((node) => node.remove());
    scan();
  };
  ctx.events.addEventListener('session', onSession);
  return () => {
    stopObserving();
    stopListening();
    clearInterval(timer);
    ctx.events.removeEventListener('session', onSession);
    document.querySelectorAll('.mb-row-icons').forEach((node) => node.remove());
  };
}
