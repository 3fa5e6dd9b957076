/* mailbeacon add-in: every Office callback the add-in uses, wrapped in a promise once, here and nowhere else.
 *
 * DOM-free, so the event runtime of classic Outlook (JavaScript only) can use it too. A failed AsyncResult
 * becomes a rejected promise with an OfficeError carrying Office's numeric code and name; a method a client
 * doesn't have becomes an OfficeError with code "unsupported" rather than a TypeError, so callers can tell
 * "this Outlook can't" from "this call failed".
 */
(function (root, factory) {
  "use strict";
  const mod = factory(root);
  (root.mailbeacon = root.mailbeacon || {}).office = mod;
  if (typeof module === "object" && module.exports) module.exports = mod;
})(typeof globalThis !== "undefined" ? globalThis : this, function (root) {
  "use strict";

  class OfficeError extends Error {
    constructor(message, code, name) {
      super(message || "Office reported an error");
      this.name = "OfficeError";
      this.code = code;
      this.officeName = name || "";
    }
  }

  function O() {
    return root.Office;
  }

  function toError(error) {
    if (error instanceof OfficeError) return error;
    if (error && typeof error === "object") return new OfficeError(error.message, error.code, error.name);
    return new OfficeError(String(error), undefined, "");
  }

  function unsupported(what) {
    return new OfficeError(what + " isn't available in this version of Outlook", "unsupported", "Unsupported");
  }

  /** Run `invoke(callback)` and settle with the AsyncResult's value, or reject with its error. */
  function settle(invoke) {
    return new Promise(function (resolve, reject) {
      try {
        invoke(function (result) {
          if (result && result.status === O().AsyncResultStatus.Failed) reject(toError(result.error));
          else resolve(result ? result.value : undefined);
        });
      } catch (err) {
        reject(toError(err));
      }
    });
  }

  function needs(target, method, what) {
    if (!target || typeof target[method] !== "function") throw unsupported(what);
    return target;
  }

  function ready() {
    return O().onReady();
  }

  function mailbox() {
    return O().context.mailbox;
  }

  function item() {
    const box = O().context && O().context.mailbox;
    return box ? box.item : null;
  }

  /** "compose" or "read": in compose mode the item's subject is an object with getAsync, in read mode a string. */
  function mode(current) {
    const target = current || item();
    if (!target) return null;
    return target.subject && typeof target.subject.getAsync === "function" ? "compose" : "read";
  }

  function isMessage(current) {
    const target = current || item();
    return Boolean(target) && target.itemType === O().MailboxEnums.ItemType.Message;
  }

  function language() {
    return (O().context && O().context.displayLanguage) || "en-US";
  }

  function host() {
    const diagnostics = (O().context && O().context.diagnostics) || {};
    return { hostName: diagnostics.hostName || "", platform: String(diagnostics.platform || "") };
  }

  function supports(version) {
    const requirements = O().context && O().context.requirements;
    return Boolean(requirements && requirements.isSetSupported("Mailbox", version));
  }

  function userEmail() {
    const profile = mailbox() && mailbox().userProfile;
    return (profile && profile.emailAddress) || "";
  }

  // --- the item being composed ------------------------------------------------------------------------------------
  function bodyType() {
    const body = item().body;
    return settle(function (cb) { needs(body, "getTypeAsync", "body.getTypeAsync").getTypeAsync(cb); })
      .then(function (type) { return String(type).toLowerCase() === "text" ? "text" : "html"; });
  }

  function coercion(type) {
    return type === "text" ? O().CoercionType.Text : O().CoercionType.Html;
  }

  function getBody(type) {
    return settle(function (cb) { item().body.getAsync(coercion(type), cb); });
  }

  function setBody(content, type) {
    return settle(function (cb) { item().body.setAsync(content, { coercionType: coercion(type) }, cb); });
  }

  function subject() {
    const current = item();
    if (mode(current) === "read") return Promise.resolve(current.subject || "");
    return settle(function (cb) { current.subject.getAsync(cb); });
  }

  /** The addresses in "to", "cc" or "bcc" (compose) as plain strings. */
  function recipients(field) {
    const current = item();
    const list = current[field];
    if (mode(current) === "read") return Promise.resolve((list || []).map(function (r) { return r.emailAddress; }));
    if (!list) return Promise.resolve([]);
    return settle(function (cb) { list.getAsync(cb); }).then(function (value) {
      return (value || []).map(function (r) { return r.emailAddress; }).filter(Boolean);
    });
  }

  /** Save the draft; resolves with its (EWS) item id. */
  function save() {
    return settle(function (cb) { item().saveAsync(cb); });
  }

  function restId(itemId) {
    return mailbox().convertToRestId(itemId, O().MailboxEnums.RestVersion.v2_0);
  }

  function headers() {
    const target = item().internetHeaders;
    if (!target) throw unsupported("internetHeaders");
    return target;
  }

  function setHeaders(values) {
    return settle(function (cb) { headers().setAsync(values, cb); });
  }

  function removeHeaders(names) {
    return settle(function (cb) { headers().removeAsync(names, cb); });
  }

  /** Read mode: the message's whole internet header block as one string. */
  function allHeaders() {
    const current = item();
    return settle(function (cb) {
      needs(current, "getAllInternetHeadersAsync", "getAllInternetHeadersAsync").getAllInternetHeadersAsync(cb);
    });
  }

  function attachments() {
    const current = item();
    if (mode(current) === "read") return Promise.resolve(current.attachments || []);
    return settle(function (cb) { needs(current, "getAttachmentsAsync", "getAttachmentsAsync").getAttachmentsAsync(cb); });
  }

  // --- data shared by the task pane and the event runtime for this one item (Mailbox 1.11 sessionData) ----------
  function sessionData() {
    const data = item().sessionData;
    if (!data) throw unsupported("sessionData");
    return data;
  }

  /** The parsed JSON stored under `name` for this item, or null when there is none (or it can't be read). */
  function sessionGet(name) {
    return settle(function (cb) { sessionData().getAsync(name, cb); }).then(function (value) {
      try {
        return value ? JSON.parse(value) : null;
      } catch (err) {
        return null;
      }
    }, function () { return null; });
  }

  function sessionSet(name, value) {
    return settle(function (cb) { sessionData().setAsync(name, JSON.stringify(value), cb); });
  }

  function sessionRemove(name) {
    return settle(function (cb) { sessionData().removeAsync(name, cb); }).catch(function () { return undefined; });
  }

  // --- the bar of notification messages on the item -------------------------------------------------------------
  function notify(key, message) {
    return settle(function (cb) {
      item().notificationMessages.replaceAsync(key, {
        type: O().MailboxEnums.ItemNotificationMessageType.InformationalMessage,
        message: String(message).slice(0, 150), // Outlook's limit for one notification
        icon: "Icon.16",
        persistent: false,
      }, cb);
    });
  }

  // --- sign-in ----------------------------------------------------------------------------------------------------
  function ssoToken(options) {
    const auth = O().auth || (root.OfficeRuntime && root.OfficeRuntime.auth);
    if (!auth || typeof auth.getAccessToken !== "function") return Promise.reject(unsupported("single sign-on"));
    return Promise.resolve().then(function () { return auth.getAccessToken(options); }).catch(function (err) {
      throw toError(err);
    });
  }

  /** Open an Office dialog at `url`; resolves with {messages: Promise of the first message, close()}. */
  function openDialog(url, options) {
    return settle(function (cb) {
      O().context.ui.displayDialogAsync(url, options || { height: 60, width: 30, promptBeforeOpen: false }, cb);
    }).then(function (dialog) {
      const first = new Promise(function (resolve, reject) {
        dialog.addEventHandler(O().EventType.DialogMessageReceived, function (arg) { resolve(arg.message); });
        dialog.addEventHandler(O().EventType.DialogEventReceived, function (arg) {
          reject(new OfficeError("the dialog closed", arg.error, "DialogClosed"));
        });
      });
      return { message: first, close: function () { try { dialog.close(); } catch (err) { /* already closed */ } } };
    });
  }

  function messageParent(message) {
    O().context.ui.messageParent(message);
  }

  /** Call `handler` whenever a pinned task pane moves to another item. Resolves false where it can't. */
  function onItemChanged(handler) {
    const box = mailbox();
    if (!box || typeof box.addHandlerAsync !== "function") return Promise.resolve(false);
    return settle(function (cb) { box.addHandlerAsync(O().EventType.ItemChanged, handler, cb); })
      .then(function () { return true; }, function () { return false; });
  }

  return {
    OfficeError: OfficeError, settle: settle, ready: ready, item: item, mode: mode, isMessage: isMessage,
    language: language, host: host, supports: supports, userEmail: userEmail, bodyType: bodyType, getBody: getBody,
    setBody: setBody, subject: subject, recipients: recipients, save: save, restId: restId, setHeaders: setHeaders,
    removeHeaders: removeHeaders, allHeaders: allHeaders, attachments: attachments, sessionGet: sessionGet,
    sessionSet: sessionSet, sessionRemove: sessionRemove, notify: notify, ssoToken: ssoToken, openDialog: openDialog,
    messageParent: messageParent, onItemChanged: onItemChanged,
  };
});
