/**
 * Times the user reads, in their locale and time zone (the browser's): "2 hr. ago" for recent events, a date and
 * time for the timeline. `locale` is the browser's UI language (chrome.i18n.getUILanguage()).
 */

const UNITS = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

export function parseTime(value) {
  if (value instanceof Date) return value;
  if (typeof value !== 'string' || !value) return null;
  // The API sends ISO 8601; a value without a zone is UTC (the backend stores UTC).
  const text = /([zZ]|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "2 hr. ago" / "2 sa. önce"; "now" for the last few seconds. */
export function relativeTime(value, { now = new Date(), locale } = {}) {
  const date = parseTime(value);
  if (!date) return '';
  const seconds = (date.getTime() - now.getTime()) / 1000;
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto', style: 'short' });
  if (Math.abs(seconds) < 45) return format.format(0, 'second');
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === 'second') {
      return format.format(Math.round(seconds / size), unit);
    }
  }
  return '';
}

/** "4 Dec 2026, 14:05" in the user's locale and zone (timeZone left to the browser unless given, for tests). */
export function absoluteTime(value, { locale, timeZone } = {}) {
  const date = parseTime(value);
  if (!date) return '';
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(date);
}
