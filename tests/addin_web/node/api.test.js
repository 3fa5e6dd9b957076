"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { lib } = require("./load");

const api = lib("api");

test("the backend is everything before /addin/ in the page's address", () => {
  assert.equal(api.baseUrlFrom("https://t.example.com/addin/taskpane/taskpane.html"), "https://t.example.com");
  assert.equal(api.baseUrlFrom("https://example.com/mb/addin/commands/commands.html?x=1"), "https://example.com/mb");
  assert.equal(api.baseUrlFrom("https://example.com/elsewhere.html"), null);
});

test("server-sent events are parsed across chunk boundaries, CRLFs and comments", () => {
  const parser = new api.SseParser();
  const events = [
    ...parser.feed("retry: 3000\n: connected\n\nid: 7\nevent: notif"),
    ...parser.feed("ication\ndata: {\"a\":1}\r"),
    ...parser.feed("\n\r\nevent: message\ndata: line1\ndata: line2\n\n: keep-alive\n\n"),
  ];
  assert.deepEqual(events, [
    { event: "notification", data: "{\"a\":1}", id: "7" },
    { event: "message", data: "line1\nline2", id: "7" },
  ]);
});

test("an error answer carries the backend's code and a network failure status 0", async () => {
  let forgotten = 0;
  const answers = [
    new Response(JSON.stringify({ error: { code: "no_account", message: "Sign in with Microsoft first." } }), { status: 409 }),
    new Response("{}", { status: 401 }),
  ];
  const client = api.createClient({ base: "https://t.example.com", getToken: () => "mbt_x",
    onUnauthorized: () => { forgotten += 1; }, fetch: async () => answers.shift() });
  await assert.rejects(client.settings(), (err) => err.status === 409 && err.code === "no_account");
  await assert.rejects(client.settings(), (err) => err.status === 401);
  assert.equal(forgotten, 1);
  const offline = api.createClient({ base: "https://t.example.com", fetch: async () => { throw new TypeError("offline"); } });
  await assert.rejects(offline.me(), (err) => err.status === 0 && err.unreachable);
});

test("every call sends our token, and sign-in exchanges send none", async () => {
  const seen = [];
  const client = api.createClient({ base: "https://t.example.com", getToken: () => "mbt_secret",
    fetch: async (url, init) => { seen.push([url, init.headers.Authorization]); return new Response("{}"); } });
  await client.message("mb_1");
  await client.exchangeSsoToken("eyJ", "Outlook add-in");
  assert.deepEqual(seen, [["https://t.example.com/api/v1/messages/mb_1", "Bearer mbt_secret"],
    ["https://t.example.com/auth/microsoft/sso", undefined]]);
});
