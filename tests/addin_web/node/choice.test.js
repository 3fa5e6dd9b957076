"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { lib } = require("./load");

const choice = lib("choice");

const settings = (tracking, defaults) => ({ tracking, composer_defaults: defaults });

test("without a choice the account's composer defaults apply", () => {
  const result = choice.effective(settings({ opens: true, clicks: true }, { track_opens: true, track_clicks: false }), null);
  assert.equal(result.track_opens, true);
  assert.equal(result.track_clicks, false);
});

test("the person's choice for this message beats the defaults", () => {
  const result = choice.effective(settings({ opens: true, clicks: true }, { track_opens: true, track_clicks: true }),
    { track_opens: false, track_clicks: true });
  assert.deepEqual([result.track_opens, result.track_clicks], [false, true]);
});

test("tracking switched off in the account settings stays off whatever was chosen", () => {
  const result = choice.effective(settings({ opens: false, clicks: true }, { track_opens: false, track_clicks: true }),
    { track_opens: true, track_clicks: true });
  assert.deepEqual([result.track_opens, result.opens_allowed, result.track_clicks], [false, false, true]);
});
