"""/auth/google/start, /auth/google/callback and /auth/token: sign-in and the API-token hand-off to our clients."""

from __future__ import annotations

import html

from flask import Blueprint, current_app, jsonify, redirect, request

from ..services.api_tokens import AuthError, issue_token, redeem_code
from ..services.google_signin import GoogleSignIn
from .errors import ApiError

bp = Blueprint("auth", __name__)


def _rt():
    return current_app.extensions["mailbeacon"]


def _error_page(status: int, title: str, message: str):
    body = (f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>")
    response = current_app.response_class(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@bp.get("/auth/google/start")
def google_start():
    rt = _rt()
    args = request.args
    try:
        signin = GoogleSignIn(rt)
        with rt.db.transaction() as session:
            url = signin.start(session, client_redirect_uri=args.get("redirect_uri", ""),
                               client_state=args.get("state", ""), code_challenge=args.get("code_challenge", ""),
                               code_challenge_method=args.get("code_challenge_method", "S256"),
                               login_hint=args.get("login_hint"))
    except AuthError as exc:
        # Nothing is redirected anywhere on a bad request: the redirect URI itself may be the attack.
        return _error_page(400, "Sign-in could not start", exc.message)
    response = redirect(url, code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/auth/google/callback")
def google_callback():
    rt = _rt()
    try:
        signin = GoogleSignIn(rt)
        with rt.db.transaction() as session:
            target = signin.finish(session, state=request.args.get("state", ""), code=request.args.get("code"),
                                   error=request.args.get("error"))
    except AuthError as exc:
        return _error_page(400, "Sign-in failed", exc.message)
    # Location set on the response object: target is our client's allow-listed URL plus our own parameters.
    response = current_app.response_class(status=302)
    response.headers["Location"] = target
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/auth/token")
def exchange_code():
    """The client trades its one-time code and PKCE verifier for an API token (RFC 6749 §4.1.3 shaped)."""
    body = request.get_json(silent=True) if request.is_json else request.form
    if not body:
        raise ApiError(400, "invalid_request", "send JSON {code, code_verifier, redirect_uri}")
    rt = _rt()
    failure: AuthError | None = None
    with rt.db.transaction() as session:
        try:
            user, client = redeem_code(session, code=str(body.get("code", "")),
                                       code_verifier=str(body.get("code_verifier", "")),
                                       redirect_uri=str(body.get("redirect_uri", "")))
        except AuthError as exc:
            failure = exc  # handled inside the transaction, so the code stays spent: one attempt per code
        else:
            issued = issue_token(session, user, client=client, name=str(body.get("name", ""))[:100],
                                 days=rt.config.api_token_days)
            payload = {"access_token": issued.token, "token_type": "Bearer",
                       "expires_at": issued.row.expires_at.isoformat(), "token_id": issued.row.id,
                       "user": {"email": user.email, "name": user.display_name}}
    if failure is not None:
        raise ApiError(400, failure.code, failure.message)
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    return response
