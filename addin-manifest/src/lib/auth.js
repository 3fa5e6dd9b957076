/* mailbeacon add-in: who is signed in, and the two ways of signing in.
 *
 * Single sign-on first, where the tenant allows it: Office hands us a token for our own API
 * (Office.auth.getAccessToken) and the backend trades it for one of our API tokens (/auth/microsoft/sso). Where
 * that fails — SSO not supported by this Outlook, not consented, a personal account, an MFA demand we can't
 * satisfy silently — the dialog: an Office dialog opens /auth/microsoft/start on our origin with a PKCE challenge,
 * the person signs in at Microsoft, and our landing page (signed-in.html) passes the one-time code back with
 * messageParent; the code and our PKCE verifier buy the API token at /auth/token.
 *
 * The session (API token, its expiry and id, the user) is kept in lib/storage.js so the send handler can use it.
 */
(function (root, factory) {
  "use strict";
  const mod = factory(root);
  (root.mailbeacon = root.mailbeacon || {}).auth = mod;
  if (typeof module === "object" && module.exports) module.exports = mod;
})(typeof globalThis !== "undefined" ? globalThis : this, function (root) {
  "use strict";

  const SESSION = "session";
  const EXPIRY_MARGIN_MS = 5 * 60 * 1000;
  const CLIENT_NAME = "Outlook add-in";
  const SIGNED_IN_PATH = "/addin/signed-in.html";

  function mb() {
    return root.mailbeacon;
  }

  class SignInError extends Error {
    constructor(code, message) {
      super(message || code);
      this.name = "SignInError";
      this.code = code;
    }
  }

  function base64url(bytes) {
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return root.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomString(bytes) {
    const buffer = new Uint8Array(bytes);
    root.crypto.getRandomValues(buffer);
    return base64url(buffer);
  }

  async function pkceChallenge(verifier) {
    const digest = await root.crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    return base64url(new Uint8Array(digest));
  }

  function query(params) {
    return Object.keys(params).filter(function (k) { return params[k]; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
  }

  function createAuth(options) {
    const settings = options || {};
    const base = (settings.base || mb().api.defaultBase() || "").replace(/\/+$/, "");
    const anonymous = mb().api.createClient({ base: base, fetch: settings.fetch });

    async function current() {
      const session = await mb().storage.get(SESSION);
      if (!session || !session.access_token) return null;
      const expires = Date.parse(session.expires_at || "");
      if (!isNaN(expires) && expires - EXPIRY_MARGIN_MS < Date.now()) return null;
      return session;
    }

    async function token() {
      const session = await current();
      return session ? session.access_token : null;
    }

    function forget() {
      return mb().storage.remove(SESSION);
    }

    async function remember(answer) {
      const session = {
        access_token: answer.access_token, expires_at: answer.expires_at, token_id: answer.token_id,
        user: answer.user || {},
      };
      await mb().storage.set(SESSION, session);
      return session;
    }

    /** Office SSO traded for our token. `interactive` lets Office prompt (the task pane); the send handler can't. */
    async function singleSignOn(interactive) {
      const ask = interactive
        ? { allowSignInPrompt: true, allowConsentPrompt: true, forMSGraphAccess: true }
        : { allowSignInPrompt: false, allowConsentPrompt: false, forMSGraphAccess: true };
      const ssoToken = await mb().office.ssoToken(ask);
      try {
        return await remember(await anonymous.exchangeSsoToken(ssoToken, CLIENT_NAME));
      } catch (err) {
        // An MFA or consent demand comes with Entra's claims challenge: Office can satisfy it in the task pane.
        const claims = err && err.status === 403 && err.details && err.details.claims;
        if (!interactive || !claims) throw err;
        const retried = await mb().office.ssoToken(Object.assign({}, ask, { authChallenge: claims }));
        return remember(await anonymous.exchangeSsoToken(retried, CLIENT_NAME));
      }
    }

    async function dialogSignIn() {
      const verifier = randomString(48);
      const state = randomString(24);
      const redirectUri = base + SIGNED_IN_PATH;
      const url = base + "/auth/microsoft/start?" + query({
        redirect_uri: redirectUri, state: state, code_challenge: await pkceChallenge(verifier),
        code_challenge_method: "S256", login_hint: mb().office.userEmail(),
      });
      let dialog;
      try {
        dialog = await mb().office.openDialog(url, { height: 60, width: 30, promptBeforeOpen: false });
      } catch (err) {
        throw new SignInError("dialog_blocked", err.message);
      }
      let raw;
      try {
        raw = await dialog.message;
      } catch (err) {
        throw new SignInError("cancelled", err.message);
      } finally {
        dialog.close();
      }
      let answer;
      try {
        answer = JSON.parse(raw);
      } catch (err) {
        throw new SignInError("bad_answer", "the sign-in window sent something unexpected");
      }
      if (!answer || answer.state !== state) throw new SignInError("state_mismatch", "the sign-in answer isn't ours");
      if (answer.error) throw new SignInError(answer.error, answer.error_description || answer.error);
      return remember(await anonymous.exchangeCode({
        code: answer.code, code_verifier: verifier, redirect_uri: redirectUri, name: CLIENT_NAME,
      }));
    }

    async function signOut() {
      const session = await mb().storage.get(SESSION);
      await forget();
      if (session && session.token_id) {
        const owner = mb().api.createClient({ base: base, fetch: settings.fetch,
          getToken: function () { return session.access_token; } });
        await owner.revokeToken(session.token_id).catch(function () { return null; });
      }
    }

    return { base: base, current: current, token: token, forget: forget, singleSignOn: singleSignOn,
      dialogSignIn: dialogSignIn, signOut: signOut };
  }

  return { createAuth: createAuth, SignInError: SignInError, SIGNED_IN_PATH: SIGNED_IN_PATH };
});
