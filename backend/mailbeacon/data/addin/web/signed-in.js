/* mailbeacon add-in: the sign-in dialog's landing page.
 *
 * The backend redirects here with ?code=…&state=… (or ?error=…&state=…). The page passes them to the task pane
 * with messageParent and takes the code out of its own address at once, so it stays in no history or log.
 * The code is useless without the PKCE verifier, which never left the task pane.
 */
(function (root) {
  "use strict";
  const mb = root.mailbeacon;
  const params = new URLSearchParams(root.location.search);
  const answer = { type: "mailbeacon.signin", state: params.get("state") || "" };
  if (params.get("code")) answer.code = params.get("code");
  else {
    answer.error = params.get("error") || "no_code";
    answer.error_description = params.get("error_description") || "";
  }
  if (root.history && root.history.replaceState) root.history.replaceState(null, "", root.location.pathname);

  const parsed = new Promise(function (resolve) {
    if (root.document.readyState !== "loading") resolve();
    else root.document.addEventListener("DOMContentLoaded", resolve, { once: true });
  });
  Promise.all([mb.office.ready(), parsed]).then(function () {
    const s = mb.i18n.strings(mb.office.language());
    root.document.documentElement.lang = s.language;
    root.document.getElementById("message").textContent = s.t(answer.code ? "signedIn.done" : "signedIn.failed");
    mb.office.messageParent(JSON.stringify(answer));
  });
})(globalThis);
