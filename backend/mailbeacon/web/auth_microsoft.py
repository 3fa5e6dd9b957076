"""/auth/microsoft/start, /auth/microsoft/callback and /auth/microsoft/sso: the Outlook add-in's sign-in.

The dialog path ends at /auth/token (web/auth.py) like the extension's; the SSO path answers with an API token
of the same shape directly.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..services.api_tokens import AuthError, issue_token
from ..services.client_redirects import ADDIN
from ..services.microsoft_signin import InteractionRequired, MicrosoftSignIn
from .auth import _error_page
from .errors import ApiError

bp = Blueprint("auth_microsoft", __name__)

# How an SSO refusal is answered: 401 means "this token is no good", 403 "go through the dialog", 503 "try again".
_SSO_STATUS = {"invalid_token": 401, "interaction_required": 403, "account_conflict": 409,
               "unavailable": 503, "not_configured": 503}


def _rt():
    return current_app.extensions["mailbeacon"]


@bp.get("/auth/microsoft/start")
def microsoft_start():
    rt = _rt()
    args = request.args
    try:
        signin = MicrosoftSignIn(rt)
        with rt.db.transaction() as session:
            url = signin.start(session, client_redirect_uri=args.get("redirect_uri", ""),
                               client_state=args.get("state", ""), code_challenge=args.get("code_challenge", ""),
                               code_challenge_method=args.get("code_challenge_method", "S256"),
                               login_hint=args.get("login_hint"), prompt=args.get("prompt"))
    except AuthError as exc:
        # Nothing is redirected anywhere on a bad request: the redirect URI itself may be the attack.
        return _error_page(400 if exc.code != "unavailable" else 503, "Sign-in could not start", exc.message)
    response = current_app.response_class(status=302)
    response.headers["Location"] = url
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/auth/microsoft/callback", methods=["GET", "POST"])
def microsoft_callback():
    """Microsoft's answer: a form post (what we ask for), or a query string when Microsoft errs early."""
    rt = _rt()
    params = (request.form if request.method == "POST" else request.args).to_dict()
    try:
        signin = MicrosoftSignIn(rt)
        with rt.db.transaction() as session:
            target = signin.finish(session, params=params)
    except AuthError as exc:
        return _error_page(400, "Sign-in failed", exc.message)
    # Location set on the response object: target is the add-in's allow-listed page plus our own parameters.
    response = current_app.response_class(status=303)  # 303: the browser follows a form post with a GET
    response.headers["Location"] = target
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/auth/microsoft/sso")
def microsoft_sso():
    """The add-in's Office SSO token (JSON {"sso_token": ..., "name": ...}) for one of our API tokens."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("sso_token"), str) or not body["sso_token"]:
        raise ApiError(400, "invalid_request", "send JSON {\"sso_token\": <the token from Office.auth.getAccessToken>}")
    name = body.get("name", "")
    rt = _rt()
    try:
        signin = MicrosoftSignIn(rt)
        with rt.db.transaction() as session:
            user = signin.single_sign_on(session, sso_token=body["sso_token"])
            issued = issue_token(session, user, client=ADDIN, name=str(name)[:100] if isinstance(name, str) else "",
                                 days=rt.config.api_token_days)
            payload = {"access_token": issued.token, "token_type": "Bearer",
                       "expires_at": issued.row.expires_at.isoformat(), "token_id": issued.row.id,
                       "user": {"email": user.email, "name": user.display_name}}
    except InteractionRequired as exc:
        response = jsonify({"error": {"code": exc.code, "message": exc.message, "claims": exc.claims}})
        response.status_code = 403
        response.headers["Cache-Control"] = "no-store"
        return response
    except AuthError as exc:
        raise ApiError(_SSO_STATUS.get(exc.code, 400), exc.code, exc.message) from None
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    return response
