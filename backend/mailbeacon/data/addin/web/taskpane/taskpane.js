/* mailbeacon task pane: sign-in, then compose mode or read mode, decided from the item on screen.
 *
 * Sign-in tries Office single sign-on first (it may prompt here, unlike in the send handler); where the tenant or
 * the client doesn't allow it, the pane offers the dialog sign-in. A pinned pane follows the selection
 * (ItemChanged) and shows each item afresh.
 */
(function (root) {
  "use strict";

  function mb() {
    return root.mailbeacon;
  }

  function describe(s, err) {
    if (err && err.status === 0) return s.t("error.unreachable");
    return s.t("error.generic", { reason: (err && err.message) || String(err) });
  }

  function signInMessage(s, err) {
    const code = err && err.code;
    if (code === "cancelled") return s.t("signin.cancelled");
    if (code === "dialog_blocked") return s.t("signin.blocked");
    if (err && err.status === 0) return s.t("error.unreachable");
    return s.t("signin.failed", { reason: (err && err.message) || String(err) });
  }

  async function renderAccount(app, session) {
    const view = mb().view;
    view.show("settings", true);
    view.text("account", app.s.t("account.signedInAs", { email: (session.user && session.user.email) || "" }));
    const category = view.el("opened-category");
    const me = await app.api.me().catch(function () { return null; });
    if (me) {
      app.streamUrl = me.stream_url || null;
      const outlook = (me.accounts || []).filter(function (a) { return a.provider === "outlook"; })[0];
      if (outlook && outlook.status !== "connected") {
        view.notice(app.s.t("account.disconnected", { reason: outlook.status_reason || outlook.status }));
      }
    }
    const settings = await app.api.settings().catch(function () { return null; });
    if (settings) category.checked = Boolean(settings.outlook && settings.outlook.opened_category);
    category.onchange = function () {
      app.api.patchSettings({ outlook: { opened_category: category.checked } }).catch(function (err) {
        category.checked = !category.checked;
        view.notice(describe(app.s, err));
      });
    };
    view.el("signout-button").onclick = async function () {
      mb().read.stop();
      await app.auth.signOut();
      view.show("settings", false);
      showSignIn(app, null);
    };
  }

  async function showItem(app) {
    const view = mb().view;
    const session = await app.auth.current();
    if (!session) return showSignIn(app, null);
    view.notice("");
    try {
      await renderAccount(app, session);
      if (mb().office.mode() === "compose") {
        mb().read.stop();
        await mb().compose.show(app);
      } else {
        await mb().read.show(app);
      }
    } catch (err) {
      if (err && err.status === 401) return showSignIn(app, null);
      view.notice(describe(app.s, err));
    }
  }

  function showSignIn(app, note) {
    const view = mb().view;
    view.section("signin");
    view.text("signin-note", note || "");
    view.show("signin-note", Boolean(note));
    view.show("signin-error", false);
    const button = view.el("signin-button");
    button.disabled = false;
    button.onclick = async function () {
      button.disabled = true;
      button.textContent = app.s.t("signin.working");
      view.show("signin-error", false);
      try {
        await app.auth.dialogSignIn();
        await showItem(app);
      } catch (err) {
        view.text("signin-error", signInMessage(app.s, err));
        view.show("signin-error", true);
      } finally {
        button.disabled = false;
        button.textContent = app.s.t("signin.button");
      }
    };
    view.ready("signin");
  }

  function documentReady() {
    if (root.document.readyState !== "loading") return Promise.resolve();
    return new Promise(function (resolve) { root.document.addEventListener("DOMContentLoaded", resolve, { once: true }); });
  }

  async function main() {
    const office = mb().office;
    // The scripts run from <head>: Office may be ready before the body below them has been parsed.
    await Promise.all([office.ready(), documentReady()]);
    const s = mb().i18n.strings(office.language());
    mb().view.translate(s);
    const auth = mb().auth.createAuth();
    const app = { s: s, auth: auth, streamUrl: null };
    app.describe = function (err) { return describe(s, err); };
    app.api = mb().api.createClient({ base: auth.base, getToken: auth.token, onUnauthorized: auth.forget });
    if (!office.supports("1.12")) mb().view.notice(s.t("app.tooOld"));
    office.onItemChanged(function () { showItem(app); });

    if (!(await auth.current())) {
      try {
        await auth.singleSignOn(true);
      } catch (err) {
        return showSignIn(app, err && err.status === 0 ? s.t("error.unreachable") : s.t("signin.ssoUnavailable"));
      }
    }
    return showItem(app);
  }

  main().catch(function (err) {
    mb().view.notice(String((err && err.message) || err));
  });
})(globalThis);
