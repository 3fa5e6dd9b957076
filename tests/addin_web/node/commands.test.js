"use strict";
// Classic Outlook on Windows runs commands.js alone in a JavaScript-only runtime: no DOM, no window, no other files.
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const vm = require("node:vm");

// pytest passes addin_manifest.SEND_HANDLER, so the name is checked against the manifest's.
const HANDLER = process.env.MB_SEND_HANDLER || "onMessageSendHandler";
// commands.js is assembled by the backend (web/addin_bundle.py), so there is no file of it in the sources:
// tests/addin_web/test_node_units.py writes the backend's bundle out and names it here.
const BUNDLE = process.env.MB_EVENT_RUNTIME;

function bundle() {
  assert.ok(BUNDLE, "MB_EVENT_RUNTIME is unset: run these through pytest tests/addin_web/test_node_units.py");
  return fs.readFileSync(BUNDLE, "utf8");
}

test("commands.js registers the send handler by the manifest's name with nothing but Office around it", () => {
  const associated = {};
  const sandbox = {
    Office: { actions: { associate: (name, fn) => { associated[name] = fn; } } },
    setTimeout, clearTimeout, Promise, Intl, TextEncoder, console,
  };
  sandbox.globalThis = sandbox;
  vm.runInNewContext(bundle(), sandbox, { filename: "commands.js" });
  assert.deepEqual(Object.keys(associated), [HANDLER]);
  assert.equal(typeof associated[HANDLER], "function");
  assert.equal(sandbox.window, undefined);
  assert.equal(sandbox.document, undefined);
  for (const part of ["i18n", "text", "bodyCheck", "office", "storage", "api", "auth", "choice", "sendFlow"]) {
    assert.ok(sandbox.mailbeacon[part], `the bundle lacks ${part}`);
  }
});

test("the handler completes exactly once, and lets a message through when the item is no message", async () => {
  const completions = [];
  const sandbox = {
    Office: {
      actions: { associate: () => {} },
      context: { displayLanguage: "en-US", mailbox: { item: { itemType: "appointment" } } },
      MailboxEnums: { ItemType: { Message: "message" } },
    },
    setTimeout, clearTimeout, Promise, Intl, TextEncoder,
  };
  sandbox.globalThis = sandbox;
  vm.runInNewContext(bundle(), sandbox);
  await sandbox.mailbeacon.sendFlow.onMessageSend({ completed: (options) => completions.push(options) });
  assert.deepEqual(JSON.parse(JSON.stringify(completions)), [{ allowEvent: true }]); // objects of another realm
});

test("served with the backend's line in front, the handler's API calls go to absolute URLs", () => {
  const sandbox = { Office: { actions: { associate: () => {} } }, setTimeout, clearTimeout, Promise, Intl, TextEncoder };
  sandbox.globalThis = sandbox;
  const served = 'globalThis.MAILBEACON_PUBLIC_URL = "https://t.example.com/mb";\n' + bundle();
  vm.runInNewContext(served, sandbox);
  assert.equal(sandbox.location, undefined);
  assert.equal(sandbox.mailbeacon.api.defaultBase(), "https://t.example.com/mb");
});
