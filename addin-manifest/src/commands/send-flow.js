/* mailbeacon add-in: the OnMessageSend handler (Smart Alerts, soft block).
 *
 * DOM-free: classic Outlook on Windows runs this in a JavaScript-only runtime. The backend serves it as the last
 * part of commands/commands.js, after the lib/ modules it uses (backend/mailbeacon/web/addin_bundle.py), and it
 * registers itself below by the name the manifest gives (addin_manifest.SEND_HANDLER).
 *
 * Two ways to track, one promise kept: every path ends in exactly one event.completed(...), and a message is
 * never sent half-rewritten.
 * - Graph, where Exchange holds the saved draft at once (Outlook on the web, new Outlook on Windows): save the
 *   draft, hand its REST id to the backend, which tracks and sends it through Graph, and wait for the result.
 *   Outlook must then not send it again, so the handler completes with allowEvent false and tells the person
 *   it went out (Smart Alerts has no way to cancel a send silently).
 * - Prepare, everywhere else (classic Outlook's save lands in a local store first): the backend tracks the body,
 *   the handler sets it and the X-Mailbeacon-Id header, reads the body back and checks that Outlook kept it whole
 *   (text, inline images, attachments, our links); only then does Outlook send. When anything was lost, the
 *   user's own body goes back and they choose: send untracked or go back.
 * A failure before anything was touched leaves the message as it was, with the reason, and soft block lets the
 * person send it untracked ("Send Anyway") or go back ("Don't Send").
 */
(function (root) {
  "use strict";

  const HANDLER_NAME = "onMessageSendHandler";
  const COMPOSE_BUTTON_ID = "mbComposeButton";
  // Where saveAsync writes to Exchange directly, so Graph sees the draft the moment it is saved.
  const GRAPH_HOSTS = ["OutlookWebApp", "newOutlookWindows"];
  const GRAPH_WAIT_MS = 60000;
  const POLL_MS = 700;
  const MAX_BODY_CHARS = 1000000; // body.setAsync refuses more
  // Outlook gives up on a send handler after a few minutes; finish first, whatever is still pending.
  const HANDLER_DEADLINE_MS = 150000;

  function mb() {
    return root.mailbeacon;
  }

  function choosePath(host) {
    return GRAPH_HOSTS.indexOf(host && host.hostName) >= 0 ? "graph" : "prepare";
  }

  function sentence(text) {
    const trimmed = String(text || "").trim().replace(/^[a-z_]+: /, "");
    return /[.!?…]$/.test(trimmed) ? trimmed : trimmed + ".";
  }

  function allow(after) {
    return { options: { allowEvent: true }, after: after || null };
  }

  function block(s, message, offerPane) {
    const options = { allowEvent: false, errorMessage: String(message).slice(0, 500) };
    if (offerPane && mb().office.supports("1.14")) {
      // Mailbox 1.14: a "Take action" button on the dialog opens the task pane (by the compose button's id).
      options.cancelLabel = s.t("send.openPane").slice(0, 20);
      options.commandId = COMPOSE_BUTTON_ID;
    }
    return { options: options, after: null };
  }

  function problemText(s, err) {
    return s.t("problem.outlook", { reason: (err && err.message) || String(err) });
  }

  /** What to tell the person when something failed before their message was touched. */
  function blockFor(s, err) {
    const ApiError = mb().api.ApiError;
    if (err instanceof ApiError) {
      if (err.status === 0) return block(s, s.t("send.unreachable"), false);
      if (err.status === 401) return block(s, s.t("send.needSignIn"), true);
      if (err.status === 413) return block(s, s.t("send.tooLarge"), false);
      return block(s, s.t("send.refused", { reason: sentence(err.message) }), true);
    }
    if (err instanceof mb().office.OfficeError) return block(s, s.t("send.refused", { reason: sentence(problemText(s, err)) }), true);
    return block(s, s.t("send.refused", { reason: sentence(err && err.message) }), true);
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  async function screen() {
    const office = mb().office;
    const type = await office.bodyType();
    const values = await Promise.all([office.recipients("to"), office.recipients("cc"), office.recipients("bcc"),
      office.subject(), office.getBody(type)]);
    return { to: values[0], cc: values[1], bcc: values[2], subject: values[3], type: type, body: values[4] };
  }

  // --- Graph ------------------------------------------------------------------------------------------------------
  async function waitForSend(api, messageId) {
    const deadline = Date.now() + GRAPH_WAIT_MS;
    let last = null;
    while (Date.now() < deadline) {
      await sleep(POLL_MS);
      try {
        last = await api.message(messageId);
      } catch (err) {
        if (err.status !== 0 && err.status < 500) throw err;
        continue; // a blip while the send job works: ask again
      }
      if (last.status === "sent" || last.status === "failed") return last;
    }
    return last;
  }

  async function viaGraph(s, api, tracking, state) {
    const office = mb().office;
    const itemId = await office.save();
    const restId = office.restId(itemId);
    const seen = await screen();
    const view = { to: seen.to, cc: seen.cc, bcc: seen.bcc, subject: seen.subject };
    const digest = await mb().text.textDigest(seen.body, seen.type).catch(function () { return null; });
    if (digest) view.text_sha256 = digest;
    const key = await mb().choice.sendKey("graph");
    let queued;
    state.sending = true; // from here on the backend may send it: never tell the person "nothing happened"
    try {
      queued = await api.sendThroughGraph({ item_id: restId, track_opens: tracking.track_opens,
        track_clicks: tracking.track_clicks, seen: view, idempotency_key: key });
    } catch (err) {
      // No answer: the request may have arrived, and the backend may be sending. The key makes a retry the same
      // message, so keep it, and send the person to Sent Items rather than to Send Anyway.
      if (err.status === 0) return block(s, s.t("send.graphUnknown"), false);
      if (err.status !== 0 && err.status < 500) await mb().choice.forgetSendKey();
      throw err;
    }
    const result = await waitForSend(api, queued.id);
    if (result && result.status === "sent") return block(s, s.t("send.graphSent"), false);
    if (result && result.status === "failed") {
      await mb().choice.forgetSendKey();
      return block(s, s.t("send.graphFailed", { reason: sentence(result.status_detail) }), true);
    }
    return block(s, s.t("send.graphPending"), false);
  }

  // --- prepare ----------------------------------------------------------------------------------------------------
  async function prepareBody(api, seen, tracking) {
    const request = function (key) {
      return api.prepare({ subject: seen.subject, to: seen.to, cc: seen.cc, bcc: seen.bcc,
        body: { content_type: seen.type, content: seen.body }, track_opens: tracking.track_opens,
        track_clicks: tracking.track_clicks, idempotency_key: key });
    };
    try {
      return await request(await mb().choice.sendKey("prepare"));
    } catch (err) {
      if (err.status !== 409 || (err.code !== "already_sent" && err.code !== "conflict")) throw err;
      // The key belongs to a message that went out already (this draft was sent before): start afresh.
      await mb().choice.forgetSendKey();
      return request(await mb().choice.sendKey("prepare"));
    }
  }

  /** Undo our changes; resolves true when the body Outlook now holds is the user's own again. */
  async function putBack(seen, header, bodyTouched, attachmentsBefore) {
    const office = mb().office;
    await office.removeHeaders([header.name]).catch(function () { return undefined; });
    if (!bodyTouched) return true;
    try {
      await office.setBody(seen.body, seen.type);
      const now = await office.getBody(seen.type);
      const attachmentsNow = await office.attachments().catch(function () { return null; });
      return mb().bodyCheck.problem({ contentType: seen.type, original: seen.body, expected: seen.body, actual: now,
        attachmentsBefore: attachmentsBefore, attachmentsAfter: attachmentsNow }) === null;
    } catch (err) {
      return false;
    }
  }

  async function viaPrepare(s, api, tracking, state) {
    const office = mb().office;
    const seen = await screen();
    const attachmentsBefore = await office.attachments().catch(function () { return null; });
    const prepared = await prepareBody(api, seen, tracking);
    const tracked = prepared.body.content;
    if (tracked.length > MAX_BODY_CHARS) return block(s, s.t("send.tooLarge"), false);
    const header = prepared.header;
    let bodyTouched = false;
    let problem = null;
    state.touched = true;
    try {
      const values = {};
      values[header.name] = header.value;
      await office.setHeaders(values);
      if (tracked !== seen.body) {
        bodyTouched = true;
        await office.setBody(tracked, seen.type);
      }
      const actual = await office.getBody(seen.type);
      const attachmentsAfter = await office.attachments().catch(function () { return null; });
      const lost = mb().bodyCheck.problem({ contentType: seen.type, original: seen.body, expected: tracked, actual: actual,
        base: api.base, attachmentsBefore: attachmentsBefore, attachmentsAfter: attachmentsAfter });
      if (lost) problem = s.t(lost);
    } catch (err) {
      problem = problemText(s, err);
    }
    if (problem === null) {
      // Outlook sends once we complete; the hint tells the backend to look for the sent copy now.
      return allow(function () { return api.preparedSent(prepared.message.id); });
    }
    const restored = await putBack(seen, header, bodyTouched, attachmentsBefore);
    state.touched = !restored;
    if (!bodyTouched) return block(s, s.t("send.refused", { reason: sentence(problem) }), true);
    return block(s, s.t(restored ? "send.unsafe" : "send.unsafeNotRestored", { problem: problem }), !restored);
  }

  // --- the handler ------------------------------------------------------------------------------------------------
  async function session(auth) {
    const known = await auth.current();
    if (known) return known;
    // The event runtime can't show a prompt: single sign-on works silently or not at all.
    return auth.singleSignOn(false).catch(function () { return null; });
  }

  async function decide(s, state) {
    const office = mb().office;
    if (!office.isMessage()) return allow();
    const stored = await mb().choice.read();
    if (stored && !stored.track_opens && !stored.track_clicks) return allow(); // the person chose no tracking
    const auth = mb().auth.createAuth();
    if (!(await session(auth))) return block(s, s.t("send.needSignIn"), true);
    const api = mb().api.createClient({ base: auth.base, getToken: auth.token, onUnauthorized: auth.forget });
    let settings;
    try {
      settings = await api.settings();
    } catch (err) {
      if (err.status !== 401) throw err;
      if (!(await session(auth))) return block(s, s.t("send.needSignIn"), true);
      settings = await api.settings();
    }
    const tracking = mb().choice.effective(settings, stored);
    if (!tracking.track_opens && !tracking.track_clicks) return allow();
    return choosePath(office.host()) === "graph" ? viaGraph(s, api, tracking, state) : viaPrepare(s, api, tracking, state);
  }

  async function onMessageSend(event) {
    const s = mb().i18n.strings(mb().office.language());
    const state = { touched: false, sending: false };
    let completed = false;
    function finish(outcome) {
      if (completed) return false;
      completed = true;
      event.completed(outcome.options);
      return true;
    }
    const guard = setTimeout(function () {
      if (state.sending) finish(block(s, s.t("send.graphUnknown"), false));
      else if (state.touched) finish(block(s, s.t("send.unsafeNotRestored", { problem: s.t("problem.timeout") }), false));
      else finish(block(s, s.t("send.unreachable"), false));
    }, HANDLER_DEADLINE_MS);
    let outcome;
    try {
      outcome = await decide(s, state);
    } catch (err) {
      if (state.sending && err instanceof mb().api.ApiError && err.status === 0) outcome = block(s, s.t("send.graphUnknown"), false);
      else if (state.touched) outcome = block(s, s.t("send.unsafeNotRestored", { problem: problemText(s, err) }), false);
      else outcome = blockFor(s, err);
    }
    clearTimeout(guard);
    if (finish(outcome) && outcome.after) {
      try {
        await outcome.after();
      } catch (err) { /* a hint only: the backend also sweeps for sent copies on its own */ }
    }
  }

  const flow = { HANDLER_NAME: HANDLER_NAME, onMessageSend: onMessageSend, choosePath: choosePath };
  (root.mailbeacon = root.mailbeacon || {}).sendFlow = flow;
  root.onMessageSendHandler = onMessageSend; // some clients look the FunctionName up as a global
  if (root.Office && root.Office.actions && typeof root.Office.actions.associate === "function") {
    root.Office.actions.associate(HANDLER_NAME, onMessageSend);
  }
})(typeof globalThis !== "undefined" ? globalThis : this);
