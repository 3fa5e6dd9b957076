/* A stand-in for Office.js (https://appsforoffice.microsoft.com/lib/1/hosted/office.js) in Outlook, for tests.
 *
 * The test's browser serves this file in place of the real one. It implements the parts of the Office API that
 * mailbeacon's pages call, with Office's shapes: callbacks receiving an AsyncResult {status, value | error,
 * asyncContext}, numeric error codes, enums by their string values, and event.completed on a send event.
 *
 * Outlook itself is played by the test (tests/addin_web/office_host.py): everything an Outlook client keeps —
 * the item being composed, its headers and session data, the mailbox behind it, single sign-on — is asked of it
 * through the `__officeHost(op, args)` binding, so the task pane, the event runtime and the sign-in dialog all see
 * one item, as they do in Outlook. Items that Office exposes as plain properties (itemId, subject in read mode)
 * come from a snapshot taken at start and on ItemChanged.
 *
 * Test hooks live on window.__officeStandin: fire(name) raises a launch event in this runtime, completions holds
 * what event.completed was given, itemChanged() re-reads the item and calls the ItemChanged handlers.
 */
(function () {
  "use strict";

  const SUCCEEDED = "succeeded";
  const FAILED = "failed";

  function host(op, args) {
    return window.__officeHost(op, args || {}).then(function (answer) {
      if (answer && answer.error) throw answer.error;
      return answer ? answer.ok : undefined;
    });
  }

  function asResult(callback, asyncContext, promise) {
    promise.then(function (value) {
      if (callback) callback({ status: SUCCEEDED, value: value, asyncContext: asyncContext });
    }, function (error) {
      const failure = { code: error.code, name: error.name || "", message: error.message || String(error) };
      if (callback) callback({ status: FAILED, error: failure, value: undefined, asyncContext: asyncContext });
    });
  }

  /** An Office async method: positional arguments, then optional options (asyncContext), then the callback. */
  function method(op, positional, fixed) {
    return function () {
      const args = Array.prototype.slice.call(arguments);
      const callback = typeof args[args.length - 1] === "function" && args.length > positional.length ? args.pop() : null;
      const named = Object.assign({}, fixed || {});
      positional.forEach(function (name, i) { named[name] = args[i]; });
      const options = args[positional.length] && typeof args[positional.length] === "object" ? args[positional.length] : {};
      named.options = options;
      asResult(callback, options.asyncContext, host(op, named));
    };
  }

  const associated = {};
  const itemChangedHandlers = [];
  const completions = [];
  let snapshot = null;

  const Office = {
    AsyncResultStatus: { Succeeded: SUCCEEDED, Failed: FAILED },
    CoercionType: { Html: "html", Text: "text" },
    HostType: { Outlook: "Outlook" },
    PlatformType: { PC: "PC", OfficeOnline: "OfficeOnline", Mac: "Mac", iOS: "iOS", Android: "Android" },
    EventType: {
      ItemChanged: "olkItemSelectedChanged",
      DialogMessageReceived: "dialogMessageReceived",
      DialogEventReceived: "dialogEventReceived",
    },
    MailboxEnums: {
      ItemType: { Message: "message", Appointment: "appointment" },
      ItemNotificationMessageType: {
        InformationalMessage: "informationalMessage", ErrorMessage: "errorMessage",
        ProgressIndicator: "progressIndicator", InsightMessage: "insightMessage",
      },
      RestVersion: { v1_0: "v1.0", v2_0: "v2.0", Beta: "beta" },
      SendModeOverride: { PromptUser: "promptUser" },
    },
    actions: {
      associate: function (name, handler) { associated[name] = handler; },
    },
    context: null,
    auth: {
      getAccessToken: function (options) { return host("auth.token", { options: options || {} }); },
    },
  };

  function composeItem(snap) {
    const item = { itemType: snap.itemType, itemId: snap.itemId || undefined, conversationId: snap.conversationId || undefined };
    item.body = {
      getAsync: method("body.get", ["coercionType"]),
      setAsync: method("body.set", ["data"]),
      getTypeAsync: method("body.getType", []),
    };
    item.subject = { getAsync: method("subject.get", []), setAsync: method("subject.set", ["subject"]) };
    ["to", "cc", "bcc"].forEach(function (field) {
      item[field] = { getAsync: method("recipients.get", [], { field: field }) };
    });
    item.saveAsync = method("save", []);
    item.getAttachmentsAsync = method("attachments.get", []);
    item.internetHeaders = {
      setAsync: method("headers.set", ["headers"]),
      getAsync: method("headers.get", ["names"]),
      removeAsync: method("headers.remove", ["names"]),
    };
    item.sessionData = {
      getAsync: method("session.get", ["name"]),
      setAsync: method("session.set", ["name", "value"]),
      removeAsync: method("session.remove", ["name"]),
      getAllAsync: method("session.all", []),
      clearAsync: method("session.clear", []),
    };
    return item;
  }

  function readItem(snap) {
    return {
      itemType: snap.itemType, itemId: snap.itemId, conversationId: snap.conversationId, subject: snap.subject,
      internetMessageId: snap.internetMessageId, dateTimeCreated: new Date(snap.dateTimeCreated),
      to: snap.to, cc: snap.cc || [], from: snap.from, attachments: snap.attachments || [],
      getAllInternetHeadersAsync: method("headers.all", []),
    };
  }

  function buildItem(snap) {
    if (!snap) return null;
    const item = snap.mode === "compose" ? composeItem(snap) : readItem(snap);
    item.notificationMessages = {
      addAsync: method("notifications.add", ["key", "message"]),
      replaceAsync: method("notifications.replace", ["key", "message"]),
      removeAsync: method("notifications.remove", ["key"]),
      getAllAsync: method("notifications.all", []),
    };
    return item;
  }

  function versionAtLeast(have, want) {
    const a = String(have).split(".").map(Number);
    const b = String(want || "1.1").split(".").map(Number);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0);
    }
    return true;
  }

  function displayDialogAsync(url, options, callback) {
    if (typeof options === "function") {
      callback = options;
      options = {};
    }
    const popup = window.open(url, "_blank", "popup=yes,width=480,height=640");
    if (!popup) {
      callback({ status: FAILED, error: { code: 12009, name: "DialogBlocked", message: "The dialog was blocked." } });
      return;
    }
    const handlers = {};
    let closedByAddIn = false;
    function onMessage(event) {
      if (event.source !== popup || !event.data || event.data.__officeDialogMessage !== true) return;
      if (event.origin !== window.location.origin) return; // Office delivers messages only from the add-in's domain
      if (handlers[Office.EventType.DialogMessageReceived]) {
        handlers[Office.EventType.DialogMessageReceived]({ type: Office.EventType.DialogMessageReceived,
          message: event.data.message, origin: event.origin });
      }
    }
    window.addEventListener("message", onMessage);
    const watcher = setInterval(function () {
      if (!popup.closed) return;
      clearInterval(watcher);
      window.removeEventListener("message", onMessage);
      if (!closedByAddIn && handlers[Office.EventType.DialogEventReceived]) {
        handlers[Office.EventType.DialogEventReceived]({ type: Office.EventType.DialogEventReceived, error: 12006 });
      }
    }, 100);
    callback({ status: SUCCEEDED, value: {
      addEventHandler: function (type, handler) { handlers[type] = handler; },
      close: function () { closedByAddIn = true; popup.close(); },
      messageChild: function () {},
    } });
  }

  function buildContext(init) {
    snapshot = init.item;
    return {
      displayLanguage: init.displayLanguage,
      contentLanguage: init.displayLanguage,
      diagnostics: init.diagnostics,
      requirements: {
        isSetSupported: function (name, version) { return name === "Mailbox" && versionAtLeast(init.mailboxVersion, version); },
      },
      ui: {
        displayDialogAsync: displayDialogAsync,
        messageParent: function (message) {
          window.opener.postMessage({ __officeDialogMessage: true, message: String(message) }, "*");
        },
      },
      mailbox: {
        item: buildItem(init.item),
        userProfile: init.userProfile,
        diagnostics: { hostName: init.diagnostics.hostName, hostVersion: init.diagnostics.hostVersion },
        convertToRestId: function (itemId) { return String(itemId).replace(/\//g, "-").replace(/\+/g, "_"); },
        convertToEwsId: function (itemId) { return String(itemId).replace(/-/g, "/").replace(/_/g, "+"); },
        addHandlerAsync: function (type, handler, options, callback) {
          if (typeof options === "function") callback = options;
          if (type === Office.EventType.ItemChanged) itemChangedHandlers.push(handler);
          if (callback) callback({ status: SUCCEEDED, value: undefined });
        },
      },
    };
  }

  // Like Office.js, initialise once the document is parsed, so pages may touch their whole DOM in onReady.
  const parsed = new Promise(function (resolve) {
    if (document.readyState !== "loading") resolve();
    else document.addEventListener("DOMContentLoaded", resolve, { once: true });
  });
  const ready = Promise.all([host("init", { url: window.location.href }), parsed]).then(function (results) {
    const init = results[0];
    Office.context = buildContext(init);
    const info = { host: "Outlook", platform: init.diagnostics.platform };
    if (typeof Office.initialize === "function") Office.initialize(info.host);
    return info;
  });

  Office.onReady = function (callback) {
    return ready.then(function (info) {
      if (callback) callback(info);
      return info;
    });
  };

  window.Office = Office;
  window.__officeStandin = {
    completions: completions,
    associated: associated,
    /** Raise a launch event (OnMessageSend) in this runtime, as Outlook does when the person selects Send. */
    fire: function (name) {
      return ready.then(function () {
        const handler = associated[name];
        if (!handler) throw new Error("no handler is associated with " + name);
        let done = false;
        handler({
          type: "olkMessageSend",
          completed: function (options) {
            if (done) throw new Error("event.completed was called twice");
            done = true;
            completions.push(options || {});
            host("event.completed", { options: options || {} });
          },
        });
      });
    },
    itemChanged: function () {
      return host("init", { url: window.location.href }).then(function (init) {
        snapshot = init.item;
        Office.context.mailbox.item = buildItem(init.item);
        itemChangedHandlers.forEach(function (handler) { handler({ type: Office.EventType.ItemChanged }); });
      });
    },
    snapshot: function () { return snapshot; },
  };
})();
