import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inQuietHours, minutesInZone } from '../src/lib/quiet-hours.js';
import { absoluteTime, parseTime, relativeTime } from '../src/lib/time-format.js';

const NOW = new Date('2026-12-04T12:00:00Z');

test('relative times are in the user locale', () => {
  assert.equal(relativeTime('2026-12-04T10:00:00+00:00', { now: NOW, locale: 'en' }), '2 hr. ago');
  assert.equal(relativeTime('2026-12-04T11:55:00Z', { now: NOW, locale: 'en' }), '5 min. ago');
  assert.equal(relativeTime('2026-12-04T11:59:50Z', { now: NOW, locale: 'en' }), 'now');
  assert.match(relativeTime('2026-12-04T10:00:00Z', { now: NOW, locale: 'tr' }), /2 sa\. önce/);
});

test('a time without a zone is UTC, and garbage is no time', () => {
  assert.equal(parseTime('2026-12-04T10:00:00').toISOString(), '2026-12-04T10:00:00.000Z');
  assert.equal(parseTime('yesterday'), null);
  assert.equal(relativeTime(null), '');
});

test('absolute times follow the locale and time zone', () => {
  // The exact punctuation is ICU's business; the zone shift and the language are ours.
  const istanbul = absoluteTime('2026-12-04T10:05:00Z', { locale: 'en-GB', timeZone: 'Europe/Istanbul' });
  assert.match(istanbul, /^4 Dec 2026\W+13:05$/);
  const turkish = absoluteTime('2026-12-04T10:05:00Z', { locale: 'tr', timeZone: 'UTC' });
  assert.match(turkish, /^4 Ara 2026\W+10:05$/);
  assert.equal(absoluteTime('not a time'), '');
});

test('quiet hours that span midnight are read in the chosen time zone', () => {
  const quiet = { start: '22:00', end: '07:00' };
  assert.equal(minutesInZone(new Date('2026-12-04T20:30:00Z'), 'Europe/Istanbul'), 23 * 60 + 30);
  assert.equal(inQuietHours(quiet, 'Europe/Istanbul', new Date('2026-12-04T20:30:00Z')), true);
  assert.equal(inQuietHours(quiet, 'Europe/Istanbul', new Date('2026-12-04T05:00:00Z')), false);
  assert.equal(inQuietHours(quiet, 'UTC', new Date('2026-12-04T05:00:00Z')), true);
  assert.equal(inQuietHours({ start: '09:00', end: '17:00' }, 'UTC', new Date('2026-12-04T12:00:00Z')), true);
});

test('no quiet hours, or nonsense, never silences anything', () => {
  for (const quiet of [null, {}, { start: '22:00', end: '22:00' }, { start: '25:00', end: '07:00' }]) {
    assert.equal(inQuietHours(quiet, 'UTC', NOW), false);
  }
  assert.equal(inQuietHours({ start: '00:00', end: '23:59' }, 'Not/AZone', NOW), true);
});
