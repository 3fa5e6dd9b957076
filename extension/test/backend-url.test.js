import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackendUrlError, normalizeBackendUrl, originPattern } from '../src/lib/backend-url.js';

test('a server address is reduced to its origin and path, without a trailing slash', () => {
  assert.equal(normalizeBackendUrl(' https://Track.Example.com/ '), 'https://track.example.com');
  assert.equal(normalizeBackendUrl('https://example.com/mailbeacon/'), 'https://example.com/mailbeacon');
  assert.equal(normalizeBackendUrl('track.example.com'), 'https://track.example.com');
  assert.equal(normalizeBackendUrl('http://127.0.0.1:8025'), 'http://127.0.0.1:8025');
  assert.equal(normalizeBackendUrl('http://localhost:9000/'), 'http://localhost:9000');
});

test('plain http is refused for anything but this machine', () => {
  assert.throws(() => normalizeBackendUrl('http://track.example.com'),
    (error) => error instanceof BackendUrlError && error.reason === 'backendUrlNeedsHttps');
});

test('credentials, queries, fragments and other schemes are refused', () => {
  for (const bad of ['https://user:pw@example.com', 'https://example.com/?x=1', 'https://example.com/#a',
    'ftp://example.com', 'javascript:alert(1)', '']) {
    assert.throws(() => normalizeBackendUrl(bad), BackendUrlError, bad);
  }
});

test('the permission pattern names the host and port only', () => {
  assert.equal(originPattern('https://example.com/mailbeacon'), 'https://example.com/*');
  assert.equal(originPattern('http://127.0.0.1:8025'), 'http://127.0.0.1:8025/*');
});
