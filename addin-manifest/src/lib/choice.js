/* mailbeacon add-in: what tracking this message gets, as the task pane and the send handler both see it.
 *
 * The person's choice for one message lives in the item's sessionData, which Outlook shares between the task pane
 * and the event runtime of that item and drops with it. Without a choice, the account's composer defaults apply.
 * Either way the account settings win: a kind of tracking switched off there is off for every message, and its
 * toggle isn't offered.
 *
 * The idempotency key of a send lives there too, so a second Send on the same draft (after a refusal, say) is
 * the same message to the backend, never a second one.
 */
(function (root, factory) {
  "use strict";
  const mod = factory(root);
  (root.mailbeacon = root.mailbeacon || {}).choice = mod;
  if (typeof module === "object" && module.exports) module.exports = mod;
})(typeof globalThis !== "undefined" ? globalThis : this, function (root) {
  "use strict";

  const CHOICE = "mailbeacon.choice";
  const SEND = "mailbeacon.send";

  function office() {
    return root.mailbeacon.office;
  }

  /** The tracking a message gets from the account settings (GET /api/v1/settings) and the stored choice. */
  function effective(settings, choice) {
    const tracking = (settings && settings.tracking) || {};
    const defaults = (settings && settings.composer_defaults) || {};
    const opensAllowed = tracking.opens !== false;
    const clicksAllowed = tracking.clicks !== false;
    const wantsOpens = choice && typeof choice.track_opens === "boolean" ? choice.track_opens : defaults.track_opens !== false;
    const wantsClicks = choice && typeof choice.track_clicks === "boolean" ? choice.track_clicks : defaults.track_clicks !== false;
    return {
      track_opens: opensAllowed && wantsOpens,
      track_clicks: clicksAllowed && wantsClicks,
      opens_allowed: opensAllowed,
      clicks_allowed: clicksAllowed,
    };
  }

  function read() {
    return office().sessionGet(CHOICE);
  }

  function write(choice) {
    return office().sessionSet(CHOICE, { track_opens: Boolean(choice.track_opens), track_clicks: Boolean(choice.track_clicks) });
  }

  function newKey() {
    const bytes = new Uint8Array(16);
    if (root.crypto && root.crypto.getRandomValues) root.crypto.getRandomValues(bytes);
    else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    return "olk-" + Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  /** The idempotency key for sending this draft by `path` ("graph" | "prepare"), made and kept on first use. */
  async function sendKey(path) {
    const stored = await office().sessionGet(SEND).catch(function () { return null; });
    if (stored && stored.path === path && typeof stored.key === "string") return stored.key;
    const key = newKey();
    await office().sessionSet(SEND, { path: path, key: key }).catch(function () { return undefined; });
    return key;
  }

  /** After a send definitively failed: the next Send is a new message for the backend. */
  function forgetSendKey() {
    return office().sessionRemove(SEND);
  }

  return { effective: effective, read: read, write: write, sendKey: sendKey, forgetSendKey: forgetSendKey };
});
