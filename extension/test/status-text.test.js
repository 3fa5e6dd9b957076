import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clickSummary, iconStates, mergedTimeline, notificationText, openSummary, rowFromSummary, timelineLine,
} from '../src/lib/status-text.js';
import { absoluteTime } from '../src/lib/time-format.js';
import { en, tr } from './helpers.js';

const now = new Date('2026-12-04T12:00:00Z');
const context = { t: en, now, locale: 'en' };

test('icons are faint until the open or click happened', () => {
  assert.deepEqual(iconStates({ opened: true, clicked: false }), { open: 'done', click: 'pending' });
  assert.deepEqual(iconStates(undefined), { open: 'pending', click: 'pending' });
});

test('the open tooltip says how often, how long ago, and what machines did', () => {
  const row = { open_count: 3, last_opened_at: '2026-12-04T10:00:00+00:00', machine_open_count: 2 };
  assert.equal(openSummary(row, context), 'Opened 3 times · last 2 hr. ago · 2 machine opens not counted');
  assert.equal(openSummary({ open_count: 1, last_opened_at: '2026-12-04T11:55:00Z' }, context),
    'Opened once · last 5 min. ago');
  assert.equal(openSummary({ open_count: 0, machine_open_count: 1 }, context),
    'Not opened yet · 1 machine open not counted');
});

test('the click tooltip reads the same way, in Turkish too', () => {
  assert.equal(clickSummary({ click_count: 0 }, context), 'No clicks yet');
  assert.equal(clickSummary({ click_count: 2, last_clicked_at: '2026-12-04T11:00:00Z' }, context),
    'Clicked 2 times · last 1 hr. ago');
  assert.equal(clickSummary({ click_count: 2, last_clicked_at: '2026-12-04T11:00:00Z' }, { t: tr, now, locale: 'tr' }),
    '2 kez tıklandı · son: 1 sa. önce');
});

test('timeline lines name machine hits and the sender as such', () => {
  const format = { t: en, locale: 'en-GB', timeZone: 'UTC' };
  const person = timelineLine({ at: '2026-12-04T10:05:00Z', type: 'open', kind: 'human', client: 'Gmail',
    device_class: 'webmail', counted: true }, format);
  assert.deepEqual(person, { when: absoluteTime('2026-12-04T10:05:00Z', { locale: 'en-GB', timeZone: 'UTC' }),
    what: 'Opened', who: 'by a person (Gmail, webmail)', machine: false });
  const scanner = timelineLine({ at: '2026-12-04T10:06:00Z', type: 'click', kind: 'scanner', machine: true,
    reason: 'security scanner (Proofpoint)', url: 'https://example.com/pricing' }, format);
  assert.equal(scanner.what, 'Clicked https://example.com/pricing');
  assert.equal(scanner.who, 'machine, not counted: security scanner (Proofpoint)');
  assert.equal(scanner.machine, true);
  assert.equal(timelineLine({ at: 'x', type: 'open', kind: 'self', self: true }, format).who, 'you, not counted');
  assert.equal(timelineLine({ at: 'x', type: 'open', kind: 'proxy_open', counted: false }, format).who,
    "through the recipient's mail provider (device and place hidden) · repeat, not counted");
});

test("a thread's timeline merges its messages in time order", () => {
  const merged = mergedTimeline([
    { subject: 'A', timeline: [{ at: '2026-12-04T10:00:00Z' }, { at: '2026-12-04T12:00:00Z' }] },
    { subject: 'B', timeline: [{ at: '2026-12-04T11:00:00Z' }] },
    null,
  ]);
  assert.deepEqual(merged.map((e) => e.subject), ['A', 'B', 'A']);
});

test('a notification says which message, and to whom it went, not who opened a shared pixel', () => {
  assert.deepEqual(notificationText({ event: 'open', subject: 'Pricing', recipients: ['sam@example.net'] }, en),
    { title: 'Opened: Pricing', body: 'Sent to sam@example.net' });
  assert.deepEqual(notificationText({ event: 'click', subject: '', link: 'https://example.com/p',
    recipients: ['a@example.net', 'b@example.net', 'c@example.net'] }, en),
  { title: 'Link clicked: (no subject)', body: 'https://example.com/p · sent to a@example.net and 2 others' });
});

test('a list summary reads like a row status', () => {
  const row = rowFromSummary({ opened: true, clicked: false, opens: { count: 2, machine_count: 1, last_at: 'a' },
    clicks: { count: 0, last_at: null } });
  assert.deepEqual([row.open_count, row.machine_open_count, row.last_opened_at, row.click_count], [2, 1, 'a', 0]);
});
