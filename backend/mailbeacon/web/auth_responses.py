"""What the Google and the Microsoft sign-in (web/auth.py, web/auth_microsoft.py) both answer: the page a failed
sign-in ends on, the redirect back to the client, and the API token the client is handed."""

from __future__ import annotations

import html

from flask import current_app, jsonify

from ..tracking import tokens

SENDER_COOKIE_DAYS = 365  # Chrome caps a cookie's life at 400 days


def error_page(status: int, title: str, message: str):
    """A page of our own, never a redirect: on a bad request the redirect URI itself may be the attack."""
    body = (f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>")
    response = current_app.response_class(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


def client_start(args) -> dict[str, str | None]:
    """What a client starts a sign-in with (its redirect URI, state and PKCE challenge), from the query string."""
    return {"client_redirect_uri": args.get("redirect_uri", ""), "client_state": args.get("state", ""),
            "code_challenge": args.get("code_challenge", ""),
            "code_challenge_method": args.get("code_challenge_method", "S256"), "login_hint": args.get("login_hint")}


def back_to_client(target: str, *, status: int = 302, sender_id: int | None = None):
    """The end of a sign-in: to the client's allow-listed URL with our own parameters (the one-time code on it).

    A signed-in sender's browser also gets the sender cookie (see mark_sender_browser)."""
    response = current_app.response_class(status=status)
    # Location set on the response object, as it is: target was built by the sign-in service, not the request.
    response.headers["Location"] = target
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    if sender_id is not None:
        mark_sender_browser(response, sender_id)
    return response


def mark_sender_browser(response, user_id: int) -> None:
    """Mark the browser that just signed in as this sender's, on the tracking host itself.

    Sign-in is the one time the sender's own browser (the extension's sign-in window, the add-in's dialog) loads a
    page of ours at the top level. When that browser later follows one of the sender's own tracked links (testing
    it, or reading their Sent folder) the cookie comes with the click, and the worker files the click as `self`.
    It holds the user id under our MAC, nothing else; only click URLs (/c/) get it back (Lax: top-level
    navigations, which is how a link in a mail leaves for the browser), and scripts can't read it.
    """
    rt = current_app.extensions["mailbeacon"]
    response.set_cookie(tokens.SENDER_COOKIE, tokens.sign("sender", user_id, keyring=rt.keyring),
                        max_age=SENDER_COOKIE_DAYS * 24 * 3600, path="/c/",
                        secure=rt.config.public_url.startswith("https://"), httponly=True, samesite="Lax")


def token_response(issued, user):
    """One of our API tokens, in the same shape whichever way the client signed in."""
    response = jsonify({"access_token": issued.token, "token_type": "Bearer",
                        "expires_at": issued.row.expires_at.isoformat(), "token_id": issued.row.id,
                        "user": {"email": user.email, "name": user.display_name}})
    response.headers["Cache-Control"] = "no-store"
    return response
