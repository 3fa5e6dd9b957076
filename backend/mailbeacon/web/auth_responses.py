"""What the Google and the Microsoft sign-in (web/auth.py, web/auth_microsoft.py) both answer: the page a failed
sign-in ends on, the redirect back to the client, and the API token the client is handed."""

from __future__ import annotations

import html

from flask import current_app, jsonify


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


def back_to_client(target: str, *, status: int = 302):
    """The end of a sign-in: to the client's allow-listed URL with our own parameters (the one-time code on it)."""
    response = current_app.response_class(status=status)
    # Location set on the response object, as it is: target was built by the sign-in service, not the request.
    response.headers["Location"] = target
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def token_response(issued, user):
    """One of our API tokens, in the same shape whichever way the client signed in."""
    response = jsonify({"access_token": issued.token, "token_type": "Bearer",
                        "expires_at": issued.row.expires_at.isoformat(), "token_id": issued.row.id,
                        "user": {"email": user.email, "name": user.display_name}})
    response.headers["Cache-Control"] = "no-store"
    return response
