import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { base64Url, pkcePair, randomToken, s256 } from '../src/lib/pkce.js';

test('the challenge is the unpadded base64url SHA-256 of the verifier (RFC 7636 appendix B)', async () => {
  assert.equal(await s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
});

test('a fresh pair is within the allowed verifier length and matches an independent hash', async () => {
  const { verifier, challenge } = await pkcePair();
  assert.match(verifier, /^[A-Za-z0-9_-]{43,128}$/);
  assert.equal(challenge, createHash('sha256').update(verifier).digest('base64url'));
  assert.notEqual(randomToken(), randomToken());
  assert.equal(base64Url(new Uint8Array([251, 255])), '-_8');
});
