"""The HTML a person sees at the stand-in's authorize endpoint: pick an account, accept or cancel.

It is plain server-rendered HTML with no script, so it works in any browser and in a headless one
driven by a test. Every original authorize parameter travels back as a hidden field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

from .microsoft_directory import AppRegistration, User

_STYLE = """
body{font-family:"Segoe UI",system-ui,sans-serif;background:#f2f2f2;margin:0;color:#1b1b1b}
main{max-width:440px;margin:48px auto;background:#fff;padding:36px 44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:24px;font-weight:600;margin:0 0 12px}
.badge{font-size:12px;color:#666;text-transform:uppercase;letter-spacing:.06em}
ul.scopes{padding-left:20px;color:#333}
button.account{display:block;width:100%;text-align:left;padding:12px;margin:8px 0;border:1px solid #ccc;
 background:#fff;cursor:pointer;font-size:15px}
button.account:hover{background:#f3f7fc;border-color:#0067b8}
.kind{display:block;font-size:12px;color:#666}
button.cancel{margin-top:16px;background:none;border:none;color:#0067b8;cursor:pointer;font-size:14px}
.notice{background:#fff4ce;padding:8px 12px;font-size:14px}
"""


def _hidden_fields(params: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in params.items()
        if k not in ("account", "decision")
    )


def render_consent_page(
    *,
    action: str,
    params: Mapping[str, str],
    app: AppRegistration,
    accounts: Iterable[User],
    scopes: Iterable[str],
    notice: str | None = None,
) -> str:
    hidden = _hidden_fields(params)
    account_buttons = "".join(
        f'<button class="account" type="submit" name="account" value="{escape(user.oid)}">'
        f"{escape(user.display_name)} &lt;{escape(user.upn)}&gt;"
        f'<span class="kind">{"Work or school account" if user.kind == "work" else "Personal account"}</span>'
        "</button>"
        for user in accounts
    ) or "<p>No stand-in account may sign in to this application through this authority.</p>"
    scope_items = "".join(f"<li>{escape(scope)}</li>" for scope in scopes) or "<li>Sign you in</li>"
    notice_html = f'<p class="notice">{escape(notice)}</p>' if notice else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title>
<style>{_STYLE}</style></head>
<body><main>
<p class="badge">Microsoft identity platform stand-in</p>
<h1>Pick an account</h1>
{notice_html}
<p><strong>{escape(app.display_name)}</strong> (<code>{escape(app.client_id)}</code>) wants to:</p>
<ul class="scopes">{scope_items}</ul>
<form method="post" action="{escape(action)}">
{hidden}<input type="hidden" name="decision" value="accept">
{account_buttons}
</form>
<form method="post" action="{escape(action)}">
{hidden}<input type="hidden" name="decision" value="cancel">
<button class="cancel" type="submit">Cancel</button>
</form>
</main></body></html>"""


def render_error_page(code: int, message: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title>
<style>{_STYLE}</style></head>
<body><main><p class="badge">Microsoft identity platform stand-in</p>
<h1>Sorry, but we're having trouble signing you in.</h1>
<p id="error">AADSTS{code}: {escape(message)}</p>
</main></body></html>"""


def render_form_post(redirect_uri: str, fields: Mapping[str, str]) -> str:
    """`response_mode=form_post`: a page that posts the response to the client at once."""
    inputs = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items())
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Working...</title></head>
<body onload="document.forms[0].submit()">
<form id="form_post" method="post" action="{escape(redirect_uri)}">{inputs}
<noscript><button>Continue</button></noscript></form>
</body></html>"""
