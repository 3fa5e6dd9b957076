import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressesIn, uniqueAddresses } from '../src/lib/addresses.js';
import { describeError, detailCode, retryAfterMs } from '../src/lib/errors.js';
import { en } from './helpers.js';

test("a failed send's status detail names its reason, in words the user reads", () => {
  assert.equal(detailCode("stale_draft: Gmail's copy of the draft never matched"), 'stale_draft');
  const error = describeError({ status_detail: "stale_draft: Gmail's copy of the draft never matched the screen." });
  assert.equal(error.key, 'errorStaleDraft');
  assert.match(en(error.key), /nothing was sent/);
  assert.equal(describeError({ code: 'invalid_token', message: 'x' }).key, 'errorSignInAgain');
});

test('an unknown code falls back to a generic message that keeps the detail', () => {
  assert.deepEqual(describeError({ code: 'brand_new', message: 'the server said this' }),
    { code: 'brand_new', key: 'errorGeneric', detail: 'the server said this' });
});

test('every error message key exists in English', () => {
  for (const code of ['stale_draft', 'draft_missing', 'account_disconnected', 'no_account', 'invalid_token',
    'rate_limited', 'network', 'no_permission', 'timeout', 'draft_not_saved', 'compose_unreadable', 'reconnect',
    'gave_up', 'gmail_refused', 'sign_in_cancelled', 'sign_in_failed', 'extension_reloaded', 'whatever']) {
    const { key } = describeError({ code });
    assert.notEqual(en(key), '', key);
  }
});

test('Retry-After in seconds or as a date, capped, and nothing when unreadable', () => {
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs('100000'), 120000);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), { now: 5_000 }), 5000);
  assert.equal(retryAfterMs('soon'), null);
  assert.equal(retryAfterMs(null), null);
});

test('addresses come out of chips, "Name <addr>" strings and typed text, once each', () => {
  assert.deepEqual(addressesIn('Sam Recipient <sam.recipient@example.net>, ops@example.org;'),
    ['sam.recipient@example.net', 'ops@example.org']);
  assert.deepEqual(uniqueAddresses(['Sam@Example.net', 'sam@example.net', '"Ops" <ops@example.org>', 'not an address']),
    ['Sam@Example.net', 'ops@example.org']);
});
