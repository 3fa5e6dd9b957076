"""The stand-in's own control API under ``/_standin/`` (JSON), and a small mail viewer for the demo.

Everything here mirrors a :class:`~.google_state.GoogleState` method, so a test in another process
(or a person with curl) can steer the stand-in the way an in-process test does.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from . import google_mime as mime
from .google_errors import GoogleApiError, json_response
from .google_http import CallContext, json_body, render

# Mail in the viewer is shown as a mail client would: images load (so tracking pixels fire), no script.
VIEWER_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline' *; img-src * data: blob:; font-src *; "
    "frame-ancestors 'none'; form-action 'none'"
)


class AdminError(ValueError):
    pass


def _error(status: int, code: str, message: str) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status)


def _body(ctx: CallContext) -> dict[str, Any]:
    try:
        return json_body(ctx.request)
    except GoogleApiError as error:
        raise AdminError(error.message) from None


def _field(body: dict[str, Any], name: str, kind: type, default: Any = ...) -> Any:
    if name not in body or body[name] is None:
        if default is ...:
            raise AdminError(f"missing field {name!r}")
        return default
    value = body[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise AdminError(f"field {name!r} must be a {kind.__name__}")
    return value


def _raw(body: dict[str, Any]) -> bytes:
    if "mime" in body:
        return _field(body, "mime", str).encode("utf-8")
    try:
        return mime.decode_raw(_field(body, "raw", str), "raw")
    except GoogleApiError as error:
        raise AdminError(error.message) from None


def describe(ctx: CallContext) -> Response:
    return json_response(ctx.state.describe())


def settings(ctx: CallContext) -> Response:
    body = _body(ctx)
    if "autoApprove" in body:
        ctx.state.auto_approve = _field(body, "autoApprove", bool)
    if "accessTokenLifetime" in body:
        lifetime = _field(body, "accessTokenLifetime", int)
        if lifetime < 1:
            raise AdminError("accessTokenLifetime must be at least 1 second")
        ctx.state.access_token_lifetime = lifetime
    return describe(ctx)


def add_user(ctx: CallContext) -> Response:
    body = _body(ctx)
    account = ctx.state.add_user(_field(body, "email", str), _field(body, "name", str, None))
    return json_response({"email": account.email, "name": account.name, "sub": account.sub}, 201)


def register_client(ctx: CallContext) -> Response:
    body = _body(ctx)
    uris = _field(body, "redirectUris", list, None)
    if uris is not None and not all(isinstance(uri, str) for uri in uris):
        raise AdminError("redirectUris must be a list of strings")
    client = ctx.state.register_client(
        _field(body, "clientId", str),
        _field(body, "clientSecret", str),
        redirect_uris=uris,
        name=_field(body, "name", str, ""),
    )
    return json_response({"clientId": client.client_id, "redirectUris": client.redirect_uris, "name": client.name}, 201)


def fail_next(ctx: CallContext) -> Response:
    body = _body(ctx)
    ctx.state.fail_next(
        _field(body, "operation", str),
        times=_field(body, "times", int, 1),
        status=_field(body, "status", int, 429),
        retry_after=_field(body, "retryAfter", int, 1),
    )
    return describe(ctx)


def set_delay(ctx: CallContext) -> Response:
    body = _body(ctx)
    ctx.state.set_delay(_field(body, "seconds", float), _field(body, "operation", str, None))
    return describe(ctx)


def stale_drafts(ctx: CallContext) -> Response:
    ctx.state.set_stale_drafts(_field(_body(ctx), "reads", int))
    return describe(ctx)


def lose_response(ctx: CallContext) -> Response:
    body = _body(ctx)
    ctx.state.lose_next_response(
        _field(body, "operation", str, "users.drafts.send"),
        times=_field(body, "times", int, 1),
        mode=_field(body, "mode", str, "drop"),
    )
    return describe(ctx)


def revoke(ctx: CallContext) -> Response:
    body = _body(ctx)
    count = ctx.state.revoke_grant(_field(body, "email", str), _field(body, "clientId", str, None))
    return json_response({"revokedGrants": count})


def expire_tokens(ctx: CallContext) -> Response:
    count = ctx.state.expire_access_tokens(_field(_body(ctx), "email", str, None))
    return json_response({"expiredAccessTokens": count})


def save_draft(ctx: CallContext) -> Response:
    body = _body(ctx)
    draft_id = ctx.state.save_draft(
        _field(body, "email", str),
        _raw(body),
        draft_id=_field(body, "draftId", str, None),
        thread_id=_field(body, "threadId", str, None),
    )
    return json_response({"draftId": draft_id}, 201)


def deliver(ctx: CallContext) -> Response:
    body = _body(ctx)
    return json_response({"id": ctx.state.receive_message(_field(body, "email", str), _raw(body))}, 201)


def sent(ctx: CallContext) -> Response:
    return json_response({"messages": [message.as_json() for message in ctx.state.sent_messages()]})


def mailbox(ctx: CallContext, email: str) -> Response:
    messages = ctx.state.messages(email, ctx.request.args.get("q", ""), ctx.request.args.getlist("labelIds"))
    return json_response({"messages": [message.resource("raw") for message in messages]})


def reset(ctx: CallContext) -> Response:
    ctx.state.reset()
    return describe(ctx)


# -- the mail viewer -------------------------------------------------------------------------------


def mail_index(ctx: CallContext) -> Response:
    with ctx.state.lock:
        rows = [(account, len(ctx.state.mailbox(account.email).messages)) for account in ctx.state.users()]
    return render("mail_index.html", policy=VIEWER_POLICY, rows=rows)


def mail_list(ctx: CallContext, email: str) -> Response:
    account = ctx.state.user(email)
    if account is None:
        return _error(404, "not_found", f"no stand-in account {email}")
    return render("mail_list.html", policy=VIEWER_POLICY, account=account, messages=ctx.state.messages(email))


def _readable_body(message: Any) -> tuple[str | None, str]:
    html = text = None
    for part in message.parsed.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        if part.get_content_type() == "text/html" and html is None:
            html = mime.leaf_text(part)
        elif part.get_content_type() == "text/plain" and text is None:
            text = mime.leaf_text(part)
    return html, text or ""


def mail_message(ctx: CallContext, email: str, id: str) -> Response:
    account = ctx.state.user(email)
    if account is None:
        return _error(404, "not_found", f"no stand-in account {email}")
    with ctx.state.lock:
        message = ctx.state.mailbox(email).messages.get(id)
        if message is None:
            return _error(404, "not_found", f"no message {id} in {email}")
        if "UNREAD" in message.label_ids:  # opening it reads it, as in Gmail
            message.label_ids.remove("UNREAD")
    html, text = _readable_body(message)
    # Links open outside the sandboxed frame, the way a mail client hands them to the browser.
    srcdoc = '<base target="_blank">' + html if html is not None else None
    headers = [(name, mime.header(message.parsed, name) or "") for name in ("From", "To", "Cc", "Subject", "Date")]
    return render(
        "mail_message.html",
        policy=VIEWER_POLICY,
        account=account,
        message=message,
        headers=headers,
        srcdoc=srcdoc,
        text=text,
    )


HANDLERS = {
    "admin.describe": describe,
    "admin.settings": settings,
    "admin.add_user": add_user,
    "admin.register_client": register_client,
    "admin.fail_next": fail_next,
    "admin.set_delay": set_delay,
    "admin.stale_drafts": stale_drafts,
    "admin.lose_response": lose_response,
    "admin.revoke": revoke,
    "admin.expire_tokens": expire_tokens,
    "admin.save_draft": save_draft,
    "admin.deliver": deliver,
    "admin.sent": sent,
    "admin.mailbox": mailbox,
    "admin.reset": reset,
    "admin.mail_index": mail_index,
    "admin.mail_list": mail_list,
    "admin.mail_message": mail_message,
}


def run(ctx: CallContext, endpoint: str, args: dict[str, Any]) -> Response:
    try:
        return HANDLERS[endpoint](ctx, **args)
    except GoogleApiError as error:  # e.g. a raw message the mailbox refuses
        return _error(error.code, "rejected", error.message)
    except KeyError as error:
        return _error(404, "not_found", str(error.args[0]) if error.args else "not found")
    except ValueError as error:
        return _error(400, "bad_request", str(error))
