"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { lib } = require("./load");

const text = lib("text");
const bodyCheck = lib("body-check");

test("the visible text drops markup, comments and invisible blocks and decodes references", () => {
  const html = '<html><head><title>T</title><style>p{}</style></head><body><!-- c --><p>Hi&nbsp;Rita,&#32;the <a href="x">new&amp;improved</a></p></body></html>';
  assert.equal(text.squeezedText(html, "html"), "HiRita,thenew&improved");
});

test("a reference the backend might decode differently gives no text rather than a wrong one", () => {
  for (const unsure of ["a &notin; b", "x &amp y", "&#128;", "&#13;", "&AMP;", "&#x110000;"]) {
    assert.equal(text.squeezedText(unsure, "html"), null, unsure);
  }
});

test("plain text is only squeezed: every whitespace and zero-width character goes", () => {
  assert.equal(text.squeezedText("a b\u00a0c\u200bd\u2060e\n\tf\u0085g\u001fh", "text"), "abcdefgh");
});

test("the digest is SHA-256 of the squeezed NFC text", async () => {
  const composed = await text.textDigest("Ş", "text");
  const decomposed = await text.textDigest("S\u0327", "text");
  assert.equal(composed, decomposed);
  assert.equal(await text.textDigest("", "text"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

test("a header is found in a folded header block whatever its case", () => {
  const raw = "Subject: Pricing\r\nx-mailbeacon-id:\r\n  mb_12345\r\nTo: rita@example.com\r\n";
  assert.equal(text.headerValue(raw, "X-Mailbeacon-Id"), "mb_12345");
  assert.equal(text.headerValue(raw, "X-Other"), null);
  assert.equal(text.headerValue(null, "To"), null);
});

const BASE = "https://t.example.com";
const ORIGINAL = '<p>Hi <a href="https://example.com/p?a=1&amp;b=2">prices</a><img src="cid:logo@x"></p>';
const TRACKED = `<p>Hi <a href="${BASE}/c/tok1">prices</a><img src="cid:logo@x"><img src="${BASE}/o/tok0" width="1"></p>`;

test("a body Outlook kept whole passes, even rewritten as Outlook rewrites HTML", () => {
  const rewritten = `<html><body><div><p>Hi <a href="${BASE}/c/tok1" target="_blank">prices</a><img src="CID:logo@x"><img width="1" src="${BASE}/o/tok0"></p></div></body></html>`;
  assert.equal(bodyCheck.problem({ contentType: "html", original: ORIGINAL, expected: TRACKED, actual: rewritten, base: BASE }), null);
});

test("each way of losing the message is named", () => {
  const check = (actual, extra) => bodyCheck.problem(Object.assign(
    { contentType: "html", original: ORIGINAL, expected: TRACKED, actual, base: BASE }, extra));
  assert.equal(check(TRACKED.replace('<img src="cid:logo@x">', "")), "problem.inlineImage");
  assert.equal(check(TRACKED.slice(0, 20)), "problem.inlineImage");
  assert.equal(check(TRACKED.replace("Hi ", "")), "problem.text");
  assert.equal(check(TRACKED.replace(`<img src="${BASE}/o/tok0" width="1">`, "")), "problem.tracking");
  const one = [{ id: "a1", name: "terms.pdf", size: 10 }];
  assert.equal(check(TRACKED, { attachmentsBefore: one, attachmentsAfter: [] }), "problem.attachment");
  assert.equal(check(TRACKED, { attachmentsBefore: one, attachmentsAfter: one.slice() }), null);
});

test("tracking URLs are ours only", () => {
  const urls = bodyCheck.trackingUrls(`${TRACKED}<a href="https://elsewhere.com/c/nope">x</a>`, BASE + "/");
  assert.deepEqual(urls, [`${BASE}/c/tok1`, `${BASE}/o/tok0`]);
});
