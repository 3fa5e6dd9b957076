"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { lib } = require("./load");

const i18n = lib("i18n");

test("Office's display language picks the table, and an unknown one gets English", () => {
  assert.equal(i18n.strings("tr-TR").language, "tr");
  assert.equal(i18n.strings("TR").language, "tr");
  assert.equal(i18n.strings("en-GB").language, "en");
  assert.equal(i18n.strings("de-DE").language, "en");
  assert.equal(i18n.strings(undefined).language, "en");
});

test("every English string has a Turkish translation with the same placeholders", () => {
  const { en, tr } = i18n.tables;
  const placeholders = (entry) => JSON.stringify(entry).match(/\{\w+\}/g)?.sort() ?? [];
  for (const key of Object.keys(en)) {
    assert.ok(key in tr, `no Turkish for ${key}`);
    const want = new Set(placeholders(en[key]));
    assert.deepEqual(new Set(placeholders(tr[key])), want, `placeholders of ${key}`);
  }
  assert.deepEqual(Object.keys(tr).filter((k) => !(k in en)), []);
});

test("plurals follow the language's rules", () => {
  const en = i18n.strings("en-US");
  const tr = i18n.strings("tr-TR");
  assert.equal(en.t("read.opens", { count: 1 }), "1 open");
  assert.equal(en.t("read.opens", { count: 3 }), "3 opens");
  assert.equal(tr.t("read.opens", { count: 1 }), "1 açılma");
  assert.equal(tr.t("read.opens", { count: 3 }), "3 açılma");
});

test("parameters are filled and a missing one is left visible rather than blank", () => {
  const en = i18n.strings("en-US");
  assert.equal(en.t("account.signedInAs", { email: "sam@contoso.com" }), "Signed in as sam@contoso.com");
  assert.equal(en.t("account.signedInAs"), "Signed in as {email}");
  assert.throws(() => en.t("no.such.key"), /no string/);
});

test("send-handler messages fit Smart Alerts' 500 characters and the button label its 20", () => {
  for (const language of ["en-US", "tr-TR"]) {
    const s = i18n.strings(language);
    for (const key of Object.keys(i18n.tables.en).filter((k) => k.startsWith("send."))) {
      const filled = s.t(key, { reason: "x".repeat(120), problem: "y".repeat(80) });
      assert.ok(filled.length <= 500, `${language} ${key} is ${filled.length} characters`);
    }
    assert.ok(s.t("send.openPane").length <= 20);
  }
});

test("times are written in the reader's language", () => {
  const moment = "2025-03-04T14:05:00Z";
  assert.match(i18n.strings("en-US").time(moment), /2025/);
  assert.notEqual(i18n.strings("tr-TR").time(moment), i18n.strings("en-US").time(moment));
  assert.equal(i18n.strings("en-US").time("not a time"), "");
});
