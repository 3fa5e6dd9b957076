"""/auth/microsoft/start, /auth/microsoft/callback and /auth/microsoft/sso: the Outlook add-in's sign-in.

The dialog path ends at /auth/token (web/auth.py) like the extension's; the SSO path answers with an API token
of the same shape directly.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..services.api_tokens import AuthError, issue_token
from ..services.client_redirects import ADDIN
from ..services.microsoft_signin import InteractionRequired, MicrosoftSignIn
from .auth_responses import back_to_client, client_start, error_page, token_response
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
    try:
        signin = MicrosoftSignIn(rt)
        with rt.db.transaction() as session:
            url = signin.start(session, **client_start(request.args), prompt=request.args.get("prompt"))
    except AuthError as exc:
        return error_page(400 if exc.code != "unavailable" else 503, "Sign-in could not start", exc.message)
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
        return error_page(400, "Sign-in failed", exc.message)
    # 303: the browser follows a form post with a GET.
    return back_to_client(target, status=303, sender_id=signin.signed_in_user_id)


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
    except InteractionRequired as exc:
        response = jsonify({"error": {"code": exc.code, "message": exc.message, "claims": exc.claims}})
        response.status_code = 403
        response.headers["Cache-Control"] = "no-store"
        return response
    except AuthError as exc:
        raise ApiError(_SSO_STATUS.get(exc.code, 400), exc.code, exc.message) from None
    return token_response(issued, user)
