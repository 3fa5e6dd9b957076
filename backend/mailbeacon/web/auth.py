"""/auth/google/start, /auth/google/callback and /auth/token: sign-in and the API-token hand-off to our clients."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request

from ..services.api_tokens import AuthError, issue_token, redeem_code
from ..services.google_signin import GoogleSignIn
from .auth_responses import back_to_client, client_start, error_page, token_response
from .errors import ApiError

bp = Blueprint("auth", __name__)


def _rt():
    return current_app.extensions["mailbeacon"]


@bp.get("/auth/google/start")
def google_start():
    rt = _rt()
    try:
        signin = GoogleSignIn(rt)
        with rt.db.transaction() as session:
            url = signin.start(session, **client_start(request.args))
    except AuthError as exc:
        return error_page(400, "Sign-in could not start", exc.message)
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
        return error_page(400, "Sign-in failed", exc.message)
    return back_to_client(target, sender_id=signin.signed_in_user_id)


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
    if failure is not None:
        raise ApiError(400, failure.code, failure.message)
    return token_response(issued, user)
