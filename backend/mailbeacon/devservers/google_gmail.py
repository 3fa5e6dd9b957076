"""Gmail REST v1 handlers for the routes google-api-python-client builds from its discovery document."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from . import google_mime as mime
from . import google_scopes as scopes
from .google_errors import forbidden, insufficient_scope, invalid_argument, invalid_json, json_response, unauthenticated
from .google_grants import Grant
from .google_http import CallContext, bearer_token
from .google_mailbox import MESSAGE_FORMATS, Draft, Mailbox, StoredMessage, check_message_id
from .google_state import Account
from .google_uploads import read_message_input, start_resumable

_MESSAGE_FIELDS = {
    "id", "threadId", "labelIds", "snippet", "historyId", "internalDate", "payload", "sizeEstimate", "raw",
    "classificationLabelValues",
}
_DRAFT_FIELDS = {"id", "message"}
_METADATA_ONLY = {
    scopes.GMAIL_METADATA,
    "https://www.googleapis.com/auth/gmail.addons.current.message.metadata",
}
RAW_REQUIRED = "'raw' RFC822 payload message string or uploading message via /upload/* URL required"
_SYSTEM_LABELS = (
    "CHAT", "SENT", "INBOX", "IMPORTANT", "TRASH", "DRAFT", "SPAM", "CATEGORY_FORUMS", "CATEGORY_UPDATES",
    "CATEGORY_PERSONAL", "CATEGORY_PROMOTIONS", "CATEGORY_SOCIAL", "STARRED", "UNREAD",
)


# -- authorisation ---------------------------------------------------------------------------------


def authorize(ctx: CallContext, user_id: str) -> tuple[Account, Grant]:
    """Bearer token → grant; then the method's scopes; then ``userId`` must be ``me`` or the owner."""
    token = bearer_token(ctx.request)
    if not token:
        raise unauthenticated(ctx.issuer, token_present=False)
    with ctx.state.lock:
        found = ctx.state.tokens.authenticate(token)
    if found is None:
        raise unauthenticated(ctx.issuer, token_present=True)
    grant = found[0]
    accepted = scopes.method_scopes(ctx.operation)
    if not grant.scopes & set(accepted):
        method = ctx.operation.split(".")[-1]
        raise insufficient_scope(ctx.issuer, list(accepted), method[:1].upper() + method[1:])
    account = ctx.state.user(grant.email)
    assert account is not None
    if user_id != "me" and user_id.casefold() != account.email.casefold():
        raise forbidden(f"Delegation denied for {account.email}")
    return account, grant


def _metadata_only(ctx: CallContext, grant: Grant) -> bool:
    usable = grant.scopes & set(scopes.method_scopes(ctx.operation))
    return bool(usable) and usable <= _METADATA_ONLY


def _format(ctx: CallContext, grant: Grant) -> str:
    fmt = ctx.request.args.get("format", "full")
    if fmt not in MESSAGE_FORMATS:
        raise invalid_argument(
            f"Invalid value at 'format' (type.googleapis.com/caribou.api.proto.MessageFormat), \"{fmt}\""
        )
    if fmt in ("full", "raw") and _metadata_only(ctx, grant):
        raise forbidden(f"Metadata scope doesn't allow format {fmt.upper()}")
    return fmt


def start_upload(ctx: CallContext, view_args: dict[str, Any]) -> Response:
    authorize(ctx, view_args["userId"])
    return start_resumable(ctx.state, ctx.request, ctx.operation, view_args)


# -- reading the request ---------------------------------------------------------------------------


def _check_fields(value: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_json(f"Invalid value at '{where}', expected an object.")
    for name in value:
        if name not in allowed:
            raise invalid_json(f"Unknown name \"{name}\" at '{where}': Cannot find field.")
    return value


def _incoming(ctx: CallContext, *, draft: bool) -> tuple[bytes | None, str | None, dict[str, Any]]:
    """(raw bytes or None, threadId, the top-level JSON) from a JSON body or any upload protocol."""
    given = ctx.upload or read_message_input(ctx.request)
    if draft:
        body = _check_fields(given.metadata, _DRAFT_FIELDS, "draft")
        message = _check_fields(body.get("message"), _MESSAGE_FIELDS, "draft.message")
        field_path = "draft.message.raw"
    else:
        body = message = _check_fields(given.metadata, _MESSAGE_FIELDS, "message")
        field_path = "message.raw"
    thread_id = message.get("threadId") or None
    if thread_id is not None and not isinstance(thread_id, str):
        raise invalid_json(f"Invalid value at '{field_path[:-4]}.thread_id' (TYPE_STRING), {thread_id}")
    if given.media is not None:
        return given.media, thread_id, body
    if message.get("raw"):
        return mime.decode_raw(message["raw"], field_path), thread_id, body
    return None, thread_id, body


def _checked_raw(raw: bytes | None, *, send: bool) -> bytes:
    if raw is None:
        raise invalid_argument(RAW_REQUIRED)
    mime.validate_structure(raw)
    mime.recipients(mime.parse(raw), required=send)
    return raw


def _page(ctx: CallContext, items: list[Any]) -> tuple[list[Any], str | None]:
    raw_max = ctx.request.args.get("maxResults", "100")
    if not raw_max.isdigit():
        raise invalid_argument(f"Invalid value at 'max_results' (TYPE_UINT32), \"{raw_max}\"")
    size = min(max(int(raw_max), 1), 500)
    token = ctx.request.args.get("pageToken", "0") or "0"
    if not token.isdigit():
        raise invalid_argument("Invalid pageToken")
    start = int(token)
    following = start + size
    return items[start:following], (str(following) if following < len(items) else None)


def _listing(key: str, items: list[Any], next_token: str | None, total: int) -> dict[str, Any]:
    # Gmail leaves the list key out entirely when nothing matches.
    result: dict[str, Any] = {key: items} if items else {}
    if next_token:
        result["nextPageToken"] = next_token
    result["resultSizeEstimate"] = total
    return result


def _mailbox(ctx: CallContext, account: Account) -> Mailbox:
    return ctx.state.mailbox(account.email)


def _draft_summary(draft: Draft) -> dict[str, Any]:
    message = draft.message
    return {"id": draft.id, "message": {"id": message.id, "threadId": message.thread_id, "labelIds": message.label_ids}}


def _sent_summary(message: StoredMessage) -> dict[str, Any]:
    return {"id": message.id, "threadId": message.thread_id, "labelIds": list(message.label_ids)}


def _search_args(ctx: CallContext, grant: Grant) -> tuple[str, list[str], bool]:
    query = ctx.request.args.get("q", "")
    if query and _metadata_only(ctx, grant):
        raise forbidden("Metadata scope does not support 'q' parameter")
    return query, ctx.request.args.getlist("labelIds"), ctx.request.args.get("includeSpamTrash") == "true"


# -- handlers --------------------------------------------------------------------------------------


def get_profile(ctx: CallContext, userId: str) -> Response:
    account, _ = authorize(ctx, userId)
    with ctx.state.lock:
        return json_response(_mailbox(ctx, account).profile())


def labels_list(ctx: CallContext, userId: str) -> Response:
    authorize(ctx, userId)
    labels = [{"id": name, "name": name, "type": "system"} for name in _SYSTEM_LABELS]
    return json_response({"labels": labels})


def drafts_create(ctx: CallContext, userId: str) -> Response:
    account, _ = authorize(ctx, userId)
    raw, thread_id, _ = _incoming(ctx, draft=True)
    raw = _checked_raw(raw, send=False)
    with ctx.state.lock:
        return json_response(_draft_summary(_mailbox(ctx, account).create_draft(raw, thread_id)))


def drafts_get(ctx: CallContext, userId: str, id: str) -> Response:
    account, grant = authorize(ctx, userId)
    fmt = _format(ctx, grant)
    with ctx.state.lock:
        message = _mailbox(ctx, account).read_draft(id)
        return json_response({"id": id, "message": message.resource(fmt)})


def drafts_list(ctx: CallContext, userId: str) -> Response:
    account, grant = authorize(ctx, userId)
    query, _, include_spam_trash = _search_args(ctx, grant)
    with ctx.state.lock:
        mailbox = _mailbox(ctx, account)
        matching = {message.id for message in mailbox.search(query, [], include_spam_trash)}
        drafts = [draft for draft in mailbox.drafts_newest_first() if draft.message.id in matching]
        page, next_token = _page(ctx, drafts)
        entries = [{"id": d.id, "message": {"id": d.message.id, "threadId": d.message.thread_id}} for d in page]
        return json_response(_listing("drafts", entries, next_token, len(drafts)))


def drafts_update(ctx: CallContext, userId: str, id: str) -> Response:
    account, _ = authorize(ctx, userId)
    raw, thread_id, _ = _incoming(ctx, draft=True)
    raw = _checked_raw(raw, send=False)
    with ctx.state.lock:
        draft = _mailbox(ctx, account).update_draft(id, raw, thread_id, ctx.state.faults.stale_draft_reads)
        return json_response(_draft_summary(draft))


def drafts_delete(ctx: CallContext, userId: str, id: str) -> Response:
    account, _ = authorize(ctx, userId)
    with ctx.state.lock:
        _mailbox(ctx, account).delete_draft(id)
    return Response(b"", status=204)


def drafts_send(ctx: CallContext, userId: str) -> Response:
    account, _ = authorize(ctx, userId)
    raw, thread_id, body = _incoming(ctx, draft=True)
    draft_id = body.get("id")
    if not draft_id or not isinstance(draft_id, str):
        raise invalid_argument("Invalid draft")
    with ctx.state.lock:
        mailbox = _mailbox(ctx, account)
        draft = mailbox.draft(draft_id)
        if raw is not None:  # sending with a new body first replaces the draft's message
            _checked_raw(raw, send=True)
            mailbox.update_draft(draft_id, raw, thread_id or draft.message.thread_id, 0)
        return json_response(_sent_summary(ctx.state.send_draft(account.email, draft_id)))


def messages_send(ctx: CallContext, userId: str) -> Response:
    account, _ = authorize(ctx, userId)
    raw, thread_id, _ = _incoming(ctx, draft=False)
    raw = _checked_raw(raw, send=True)
    return json_response(_sent_summary(ctx.state.send_message(account.email, raw, thread_id)))


def messages_get(ctx: CallContext, userId: str, id: str) -> Response:
    account, grant = authorize(ctx, userId)
    fmt = _format(ctx, grant)
    with ctx.state.lock:
        message = _mailbox(ctx, account).message(id)
        return json_response(message.resource(fmt, ctx.request.args.getlist("metadataHeaders")))


def messages_list(ctx: CallContext, userId: str) -> Response:
    account, grant = authorize(ctx, userId)
    query, label_ids, include_spam_trash = _search_args(ctx, grant)
    with ctx.state.lock:
        found = _mailbox(ctx, account).search(query, label_ids, include_spam_trash)
    page, next_token = _page(ctx, found)
    return json_response(_listing("messages", [m.reference() for m in page], next_token, len(found)))


def attachments_get(ctx: CallContext, userId: str, messageId: str, id: str) -> Response:
    account, _ = authorize(ctx, userId)
    check_message_id(messageId)
    located = mime.parse_attachment_id(id)
    with ctx.state.lock:
        message = _mailbox(ctx, account).message(messageId)
        content = mime.find_part_content(message.parsed, located[1]) if located and located[0] == messageId else None
    if content is None:
        raise invalid_argument("Invalid attachment token")
    return json_response({"attachmentId": id, "size": len(content), "data": mime.encode_raw(content)})


def threads_get(ctx: CallContext, userId: str, id: str) -> Response:
    account, grant = authorize(ctx, userId)
    fmt = _format(ctx, grant)
    with ctx.state.lock:
        return json_response(
            _mailbox(ctx, account).thread_resource(id, fmt, ctx.request.args.getlist("metadataHeaders"))
        )


def threads_list(ctx: CallContext, userId: str) -> Response:
    account, grant = authorize(ctx, userId)
    query, label_ids, include_spam_trash = _search_args(ctx, grant)
    with ctx.state.lock:
        mailbox = _mailbox(ctx, account)
        threads = mailbox.thread_summaries(mailbox.search(query, label_ids, include_spam_trash))
    page, next_token = _page(ctx, threads)
    return json_response(_listing("threads", page, next_token, len(threads)))


HANDLERS = {
    "users.getProfile": get_profile,
    "users.labels.list": labels_list,
    "users.drafts.create": drafts_create,
    "users.drafts.get": drafts_get,
    "users.drafts.list": drafts_list,
    "users.drafts.update": drafts_update,
    "users.drafts.delete": drafts_delete,
    "users.drafts.send": drafts_send,
    "users.messages.send": messages_send,
    "users.messages.get": messages_get,
    "users.messages.list": messages_list,
    "users.messages.attachments.get": attachments_get,
    "users.threads.get": threads_get,
    "users.threads.list": threads_list,
}
