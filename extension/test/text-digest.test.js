import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { squeezeText, textDigest } from '../src/lib/text-digest.js';

test('whitespace of every kind and zero-width characters do not count', () => {
  assert.equal(squeezeText(' Hi\u00a0Sam,\n\tthe\u200bnew\u2060prices\ufeff \u2003\u3000\u0085\u001c.'),
    'HiSam,thenewprices.');
});

test('the text is NFC-normalised before hashing', () => {
  assert.equal(squeezeText('Cafe\u0301'), 'Caf\u00e9');
});

test('the digest is the SHA-256 of the squeezed text, in lower-case hex', async () => {
  const expected = createHash('sha256').update('HiSam,thenewprices.', 'utf8').digest('hex');
  assert.equal(await textDigest('Hi Sam,  the new\nprices.'), expected);
});
