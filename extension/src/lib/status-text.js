/**
 * What the icons and tooltips say about a tracked thread, from the API's row status and message detail.
 * Pure: every function takes a translator `t` and the time formatting context, so it is tested in node.
 */

import { absoluteTime, relativeTime } from './time-format.js';

export const MACHINE_KINDS = new Set(['prefetch', 'scanner', 'preview', 'unknown']);

/** Faint until it happened, solid afterwards. */
export function iconStates(row) {
  return { open: row?.opened ? 'done' : 'pending', click: row?.clicked ? 'done' : 'pending' };
}

function counted(t, count, once, many) {
  return count === 1 ? t(once) : t(many, [String(count)]);
}

/** "Opened 3 times · last 2 hr. ago · 1 machine open not counted". */
export function openSummary(row, { t, now, locale }) {
  const parts = [];
  if (row?.open_count > 0) {
    parts.push(counted(t, row.open_count, 'opensOnce', 'opensMany'));
    if (row.last_opened_at) parts.push(t('lastAt', [relativeTime(row.last_opened_at, { now, locale })]));
  } else {
    parts.push(t('notOpened'));
  }
  const machine = row?.machine_open_count ?? 0;
  if (machine > 0) parts.push(counted(t, machine, 'machineOpensOne', 'machineOpensMany'));
  return parts.join(' · ');
}

/** "Clicked once · last 5 min. ago" / "No clicks yet". */
export function clickSummary(row, { t, now, locale }) {
  if (!(row?.click_count > 0)) return t('notClicked');
  const parts = [counted(t, row.click_count, 'clicksOnce', 'clicksMany')];
  if (row.last_clicked_at) parts.push(t('lastAt', [relativeTime(row.last_clicked_at, { now, locale })]));
  return parts.join(' · ');
}

/** How the row status reads when a thread holds several tracked messages, or none. */
export function rowLabel(row, context) {
  return `${openSummary(row, context)}\n${clickSummary(row, context)}`;
}

/** Who made the hit, in words: the person, a machine (with the classifier's reason) or the sender. */
export function whoText(entry, t) {
  if (entry.self || entry.kind === 'self') return t('timelineSelf');
  if (entry.machine || MACHINE_KINDS.has(entry.kind)) return t('timelineMachine', [entry.reason || entry.kind]);
  if (entry.kind === 'proxy_open') return t('timelineProxyOpen');
  const where = [entry.client, entry.device_class].filter(Boolean).join(', ');
  return where ? t('timelinePersonWhere', [where]) : t('timelinePerson');
}

/** One line of the timeline: when, what (which link), who. */
export function timelineLine(entry, { t, locale, timeZone }) {
  const when = absoluteTime(entry.at, { locale, timeZone });
  const what = entry.type === 'click'
    ? t('timelineClick', [entry.url || t('timelineUnknownLink')])
    : t('timelineOpen');
  const who = whoText(entry, t);
  const repeat = entry.counted === false && !entry.self && !entry.machine ? ` · ${t('timelineRepeat')}` : '';
  return { when, what, who: who + repeat, machine: Boolean(entry.machine || entry.self || entry.counted === false) };
}

/** The timeline of every tracked message of a thread, oldest first. */
export function mergedTimeline(details) {
  return details
    .flatMap((detail) => (detail?.timeline ?? []).map((entry) => ({ ...entry, subject: detail.subject })))
    .sort((a, b) => String(a.at).localeCompare(String(b.at)));
}

/**
 * The desktop notification. One pixel is shared by every recipient, so an open says which message, not who:
 * "Opened: Pricing" / "sent to sam@example.net and 2 others".
 */
export function notificationText(note, t) {
  const recipients = note.recipients ?? [];
  const first = recipients[0] ?? t('someone');
  const whom = recipients.length > 1 ? t('recipientAndOthers', [first, String(recipients.length - 1)]) : first;
  const subject = note.subject || t('noSubject');
  if (note.event === 'click') {
    return { title: t('notifyClickTitle', [subject]), body: t('notifyClickBody', [note.link || '', whom]) };
  }
  return { title: t('notifyOpenTitle', [subject]), body: t('notifyOpenBody', [whom]) };
}

/** The list API's message summary in the row-status shape the icons and tooltips read. */
export function rowFromSummary(summary) {
  return {
    tracked: true,
    opened: Boolean(summary?.opened),
    clicked: Boolean(summary?.clicked),
    open_count: summary?.opens?.count ?? 0,
    click_count: summary?.clicks?.count ?? 0,
    machine_open_count: summary?.opens?.machine_count ?? 0,
    first_opened_at: summary?.opens?.first_at ?? null,
    last_opened_at: summary?.opens?.last_at ?? null,
    last_clicked_at: summary?.clicks?.last_at ?? null,
  };
}
