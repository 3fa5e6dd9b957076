"""Microsoft Graph v1.0 mail endpoints under `/v1.0`, checking bearer tokens the way Graph does.

A request needs an access token this stand-in issued for Graph (`aud` = Graph's app id), not expired
by the stand-in's clock, whose `scp` carries a permission the operation needs; otherwise the answer is
Graph's 401 `InvalidAuthenticationToken` or 403 `ErrorAccessDenied`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from .microsoft_directory import GRAPH_APP_ID, GRAPH_RESOURCE, User
from .microsoft_mailbox import Mailbox
from .microsoft_messages import EXPANDABLE, ORDERABLE, SELECTABLE, StoredMessage
from .microsoft_odata import GraphError, parse_count, parse_expand, parse_filter, parse_orderby, parse_select
from .microsoft_state import Fault, MicrosoftState
from .microsoft_tokens import TokenRejected

READ_MAIL = {"mail.read", "mail.readwrite", "mail.readbasic"}
WRITE_MAIL = {"mail.readwrite"}
SEND_MAIL = {"mail.send"}
READ_USER = {"user.read", "user.readwrite", "user.readbasic.all"}
READ_SETTINGS = {"mailboxsettings.read", "mailboxsettings.readwrite"}
WRITE_SETTINGS = {"mailboxsettings.readwrite"}
_FAULT_CODES = {
    429: ("ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry later."),
}


def _preferences() -> set[str]:
    values = request.headers.getlist("Prefer")
    return {item.strip().replace(" ", "").lower() for value in values for item in value.split(",") if item.strip()}


def _error_response(error: GraphError) -> Response:
    client_request_id = request.headers.get("client-request-id") or str(uuid.uuid4())
    request_id = str(uuid.uuid4())
    response = jsonify({"error": {
        "code": error.code,
        "message": error.message,
        "innerError": {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": client_request_id,
        },
    }})
    response.status_code = error.status
    response.headers.update({"request-id": request_id, "client-request-id": client_request_id, **error.headers})
    return response


def _fault_error(fault: Fault) -> GraphError:
    code, message = _FAULT_CODES.get(fault.status, ("generalException", "An unspecified error has occurred."))
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    return GraphError(fault.status, code, message, headers)


def _json_body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise GraphError(400, "RequestBodyRead", "The request body is not valid JSON.")
    return body


def build_graph_blueprint(state: MicrosoftState) -> Blueprint:
    bp = Blueprint("microsoft_graph", __name__)

    def authenticate(needed: set[str]) -> User:
        header = request.headers.get("Authorization", "")
        challenge = {"WWW-Authenticate": (
            f'Bearer realm="", authorization_uri="{state.base_url}/common/oauth2/authorize", '
            f'client_id="{GRAPH_APP_ID}"'
        )}
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", challenge)
        try:
            claims = state.tokens.verify(header[7:].strip(), now=state.clock.now())
        except TokenRejected as rejected:
            message = ("Lifetime validation failed, the token is expired." if rejected.reason == "expired"
                       else "IDX14100: JWT is not well formed." if rejected.reason == "malformed"
                       else "Access token validation failure.")
            raise GraphError(401, "InvalidAuthenticationToken", message, challenge) from rejected
        if claims.get("aud") not in (GRAPH_APP_ID, GRAPH_RESOURCE):
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.",
                             challenge)
        user = state.directory.users.get(str(claims.get("oid")))
        if user is None:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.", challenge)
        granted = {s.lower() for s in str(claims.get("scp", "")).split()}
        if not granted & needed:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return user

    def handle(operation: str, needed: set[str], work: Callable[[User, Mailbox], Response]) -> Response:
        fault = state.before_call(operation)
        try:
            if fault is not None:
                raise _fault_error(fault)
            with state.lock:
                user = authenticate(needed)
                return work(user, state.mailbox(user))
        except GraphError as error:
            return _error_response(error)

    def render(message: StoredMessage, status: int = 200, *, select=None, expand=None) -> Response:
        prefs = _preferences()
        immutable = 'idtype="immutableid"' in prefs
        text_body = 'outlook.body-content-type="text"' in prefs
        body = message.to_graph(select=select, expand=expand or {}, immutable=immutable, text_body=text_body)
        body = {"@odata.context": f"{state.base_url}/v1.0/$metadata#users('{message.owner_address}')/messages/$entity",
                **body}
        response = jsonify(body)
        response.status_code = status
        applied = [p for p, on in (('IdType="ImmutableId"', immutable),
                                   ('outlook.body-content-type="text"', text_body)) if on]
        if applied:
            response.headers["Preference-Applied"] = ", ".join(applied)
        return response

    def listing(mailbox: Mailbox, folder_key: str | None) -> Response:
        args = request.args
        select = parse_select(args.get("$select"), SELECTABLE)
        expand = parse_expand(args.get("$expand"), EXPANDABLE)
        wanted = parse_filter(args["$filter"]) if args.get("$filter") else None
        order = parse_orderby(args.get("$orderby"), ORDERABLE)
        top = parse_count("$top", args.get("$top"), 10, 1000)
        skip = parse_count("$skip", args.get("$skip"), 0, 10**9)
        items = mailbox.listing(folder_key)
        if wanted is not None:
            items = [m for m in items if wanted.matches(m.filter_view())]
        for name, descending in reversed(order):
            items.sort(key=lambda m: _sort_key(m.filter_view()[name]), reverse=descending)
        prefs = _preferences()
        immutable = 'idtype="immutableid"' in prefs
        page = items[skip:skip + top]
        body: dict[str, Any] = {
            "@odata.context": f"{state.base_url}/v1.0/$metadata#users('{mailbox.user.upn}')/messages",
            "value": [m.to_graph(select=select, expand=expand, immutable=immutable) for m in page],
        }
        if args.get("$count", "").lower() == "true":
            body["@odata.count"] = len(items)
        if skip + top < len(items):
            query = {**args.to_dict(), "$skip": str(skip + top)}
            body["@odata.nextLink"] = f"{state.base_url}{request.path}?{urlencode(query)}"
        response = jsonify(body)
        if immutable:
            response.headers["Preference-Applied"] = 'IdType="ImmutableId"'
        return response

    @bp.get("/me")
    def me():
        def work(user: User, _: Mailbox) -> Response:
            return jsonify({
                "@odata.context": f"{state.base_url}/v1.0/$metadata#users/$entity",
                "businessPhones": [], "displayName": user.display_name, "givenName": user.given_name,
                "jobTitle": None, "mail": user.upn, "mobilePhone": None, "officeLocation": None,
                "preferredLanguage": "en-US", "surname": user.surname, "userPrincipalName": user.upn,
                "id": user.oid,
            })
        return handle("graph.me", READ_USER, work)

    @bp.get("/me/messages")
    def list_all_messages():
        return handle("graph.messages.list", READ_MAIL, lambda u, box: listing(box, None))

    @bp.get("/me/mailFolders/<folder>/messages")
    def list_folder_messages(folder: str):
        return handle("graph.messages.list", READ_MAIL,
                      lambda u, box: listing(box, box.folder(folder).well_known_name))

    @bp.get("/me/mailFolders")
    def list_folders():
        def work(_: User, box: Mailbox) -> Response:
            folders = [f.to_graph(*_counts(box, f.well_known_name)) for f in box.folders.values()]
            return jsonify({"value": folders})
        return handle("graph.folders.list", READ_MAIL, work)

    @bp.get("/me/mailFolders/<folder>")
    def get_folder(folder: str):
        def work(_: User, box: Mailbox) -> Response:
            found = box.folder(folder)
            return jsonify(found.to_graph(*_counts(box, found.well_known_name)))
        return handle("graph.folders.get", READ_MAIL, work)

    @bp.post("/me/messages")
    @bp.post("/me/mailFolders/drafts/messages")
    def create_message():
        def work(_: User, box: Mailbox) -> Response:
            draft = box.create_draft(_json_body(), state.clock.now(), unsynced_requests=state.draft_sync_lag)
            return render(draft, 201)
        return handle("graph.messages.create", WRITE_MAIL, work)

    @bp.get("/me/messages/<message_id>")
    def get_message(message_id: str):
        def work(_: User, box: Mailbox) -> Response:
            select = parse_select(request.args.get("$select"), SELECTABLE)
            expand = parse_expand(request.args.get("$expand"), EXPANDABLE)
            return render(box.find(message_id), select=select, expand=expand)
        return handle("graph.messages.get", READ_MAIL, work)

    @bp.patch("/me/messages/<message_id>")
    def update_message(message_id: str):
        def work(_: User, box: Mailbox) -> Response:
            message = box.find(message_id)
            box.update(message, _json_body(), state.clock.now())
            return render(message)
        return handle("graph.messages.update", WRITE_MAIL, work)

    @bp.delete("/me/messages/<message_id>")
    def delete_message(message_id: str):
        def work(_: User, box: Mailbox) -> Response:
            box.move(box.find(message_id), "deleteditems")  # Graph's DELETE moves to Deleted Items
            return Response(status=204)
        return handle("graph.messages.delete", WRITE_MAIL, work)

    @bp.post("/me/messages/<message_id>/send")
    def send_message(message_id: str):
        def work(_: User, box: Mailbox) -> Response:
            state.deliver(box.find(message_id))
            return Response(status=202)
        return handle("graph.messages.send", SEND_MAIL, work)

    @bp.post("/me/messages/<message_id>/move")
    def move_message(message_id: str):
        def work(_: User, box: Mailbox) -> Response:
            body = _json_body()
            destination = box.folder(str(body.get("destinationId", "")) if isinstance(body, dict) else "")
            message = box.find(message_id)
            box.move(message, destination.well_known_name)
            return render(message, 201)
        return handle("graph.messages.move", WRITE_MAIL, work)

    @bp.post("/me/sendMail")
    def send_mail():
        def work(_: User, box: Mailbox) -> Response:
            body = _json_body()
            if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
                raise GraphError(400, "ErrorInvalidRequest", "The request must contain a message.")
            draft = box.create_draft(body["message"], state.clock.now())
            state.deliver(draft)
            if body.get("saveToSentItems") is False:
                box.move(draft, "deleteditems")
            return Response(status=202)
        return handle("graph.messages.send", SEND_MAIL, work)

    @bp.get("/me/outlook/masterCategories")
    def list_categories():
        return handle("graph.categories.list", READ_SETTINGS, lambda u, box: jsonify({
            "@odata.context": f"{state.base_url}/v1.0/$metadata#users('{u.upn}')/outlook/masterCategories",
            "value": [dict(c) for c in box.categories],
        }))

    @bp.post("/me/outlook/masterCategories")
    def create_category():
        def work(_: User, box: Mailbox) -> Response:
            response = jsonify(box.add_category(_json_body()))
            response.status_code = 201
            return response
        return handle("graph.categories.create", WRITE_SETTINGS, work)

    return bp


def build_userinfo_blueprint(state: MicrosoftState) -> Blueprint:
    """Graph's OIDC userinfo endpoint, which the discovery document points at."""
    bp = Blueprint("microsoft_userinfo", __name__)

    @bp.get("/oidc/userinfo")
    def userinfo():
        header = request.headers.get("Authorization", "")
        try:
            with state.lock:
                claims = state.tokens.verify(header[7:].strip(), now=state.clock.now())
                user = state.directory.users.get(str(claims.get("oid")))
            if user is None or claims.get("aud") != GRAPH_APP_ID:
                raise TokenRejected("audience")
        except TokenRejected:
            return _error_response(GraphError(401, "InvalidAuthenticationToken", "Access token validation failure."))
        return jsonify({"sub": claims["sub"], "name": user.display_name, "family_name": user.surname,
                        "given_name": user.given_name, "email": user.upn})

    return bp


def _counts(box: Mailbox, folder_key: str) -> tuple[int, int]:
    inside = [m for m in box.messages.values() if m.folder == folder_key]
    return len(inside), sum(1 for m in inside if not m.is_read)


def _sort_key(value: Any) -> tuple[bool, Any]:
    return (value is None, value.casefold() if isinstance(value, str) else value)
