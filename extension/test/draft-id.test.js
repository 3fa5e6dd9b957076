import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  draftIdFromInput, threadIdFromAttributes, threadIdFromHash, threadIdFromLegacy, threadIdFromPermanent,
} from '../src/lib/draft-id.js';

test('the draft input of a saved draft gives the API draft id', () => {
  assert.equal(draftIdFromInput('#msg-a:r-7673660351152959857'), 'r-7673660351152959857');
  assert.equal(draftIdFromInput('#msg-a:r123456'), 'r123456');
  assert.equal(draftIdFromInput('msg-a:r-1'), 'r-1');
});

test('a draft Gmail has not saved yet has no id', () => {
  for (const value of ['', 'undefined', 'null', undefined, null, '#msg-f:1786', '#thread-a:r-7681922771531347793']) {
    assert.equal(draftIdFromInput(value), null, String(value));
  }
});

test('a permanent thread id is the legacy hex id in decimal', () => {
  const decimal = BigInt('0x18c2f0a1b2c3d4e5').toString(10);
  assert.equal(threadIdFromPermanent(`#thread-f:${decimal}`), '18c2f0a1b2c3d4e5');
  assert.equal(threadIdFromPermanent(`thread-f:${decimal}`), '18c2f0a1b2c3d4e5');
  assert.equal(threadIdFromPermanent('#thread-a:r-123'), null);
  assert.equal(threadIdFromPermanent(`#thread-f:${2n ** 64n}`), null);
});

test('the legacy attribute wins and is lower-cased; a bad one falls back to the permanent id', () => {
  assert.equal(threadIdFromLegacy('18C2F0A1B2C3D4E5'), '18c2f0a1b2c3d4e5');
  assert.equal(threadIdFromAttributes('18c2f0a1b2c3d4e5', '#thread-f:1'), '18c2f0a1b2c3d4e5');
  assert.equal(threadIdFromAttributes('not-hex', '#thread-f:255'), 'ff');
  assert.equal(threadIdFromAttributes(null, null), null);
});

test('old-style thread links carry the hex id in the fragment', () => {
  assert.equal(threadIdFromHash('#sent/18c2f0a1b2c3d4e5'), '18c2f0a1b2c3d4e5');
  assert.equal(threadIdFromHash('#inbox/FMfcgzGwHfqKmVrLzQpgSCKhZJNlTvcs'), null);
  assert.equal(threadIdFromHash('#inbox'), null);
});
