/**
 * Quiet hours from the account settings ({start: "22:00", end: "07:00"} in the user's chosen time zone): during
 * them a human open or click is still counted and listed under the bell, but no desktop alert pops up.
 */

function minutes(hhmm) {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm ?? '');
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}

/** Minutes since midnight at `date` in `timeZone` (an IANA name; falls back to the browser's zone). */
export function minutesInZone(date, timeZone) {
  let parts;
  try {
    parts = new Intl.DateTimeFormat('en-GB', { timeZone: timeZone || undefined, hour: '2-digit', minute: '2-digit',
      hourCycle: 'h23' }).formatToParts(date);
  } catch {
    parts = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(date);
  }
  const get = (type) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

export function inQuietHours(quiet, timeZone, date = new Date()) {
  const start = minutes(quiet?.start);
  const end = minutes(quiet?.end);
  if (start === null || end === null || start === end) return false;
  const now = minutesInZone(date, timeZone);
  return start < end ? now >= start && now < end : now >= start || now < end; // the second spans midnight
}
