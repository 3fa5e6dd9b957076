"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json and checked against real responses."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .. import __version__

bp = Blueprint("openapi", __name__)

_TS = {"type": ["string", "null"], "format": "date-time"}
_STR_OR_NULL = {"type": ["string", "null"]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    texts = {400: "The request is malformed.", 401: "No valid API token.", 404: "Not found (or not yours).",
             409: "The account is not in a state to do this.", 429: "Rate limited; see Retry-After.",
             503: "The database can't be reached just now; see Retry-After."}
    return {str(c): _json(_ref("Error"), texts[c]) for c in codes}


_AUTH_ERRORS = (401, 429, 503)

SCHEMAS: dict = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
    "Counts": {"type": "object", "required": ["count", "machine_count", "first_at", "last_at"], "properties": {
        "count": {"type": "integer", "minimum": 0}, "machine_count": {"type": "integer", "minimum": 0},
        "first_at": _TS, "last_at": _TS}},
    "MessageSummary": {"type": "object", "required": ["id", "subject", "recipients", "status", "opens", "clicks",
                                                       "opened", "clicked", "tracking"], "properties": {
        "id": {"type": "string"}, "subject": {"type": "string"},
        "recipients": {"type": "array", "items": {"type": "string"}},
        "provider": {"type": "string"}, "thread_id": _STR_OR_NULL, "status": {"type": "string"},
        "created_at": _TS, "sent_at": _TS,
        "tracking": {"type": "object", "properties": {"opens": {"type": "boolean"}, "clicks": {"type": "boolean"},
                                                       "skipped_reason": _STR_OR_NULL}},
        "opens": _ref("Counts"), "clicks": _ref("Counts"), "opened": {"type": "boolean"},
        "clicked": {"type": "boolean"}}},
    "TimelineEntry": {"type": "object", "required": ["at", "type", "kind", "reason", "machine"], "properties": {
        "at": {"type": "string", "format": "date-time"}, "type": {"enum": ["open", "click"]},
        "kind": {"enum": ["human", "proxy_open", "prefetch", "scanner", "preview", "self", "unknown"]},
        "reason": {"type": "string"}, "machine": {"type": "boolean"}, "self": {"type": "boolean"},
        "counted": {"type": "boolean"}, "device_class": _STR_OR_NULL, "client": _STR_OR_NULL,
        "place": _STR_OR_NULL, "link": {"type": ["integer", "null"]}, "url": _STR_OR_NULL}},
    "MessageDetail": {"allOf": [_ref("MessageSummary"), {"type": "object", "required": [
        "wording", "shared_pixel", "links", "timeline"], "properties": {
        "wording": {"type": "string"}, "shared_pixel": {"type": "boolean"}, "status_detail": _STR_OR_NULL,
        "provider_message_id": _STR_OR_NULL,
        "links": {"type": "array", "items": {"type": "object", "required": ["index", "url", "clicks"], "properties": {
            "index": {"type": "integer"}, "url": {"type": "string"}, "clicks": {"type": "integer"},
            "machine_clicks": {"type": "integer"}, "first_clicked_at": _TS, "last_clicked_at": _TS}}},
        "timeline": {"type": "array", "items": _ref("TimelineEntry")}}}]},
    "SendStatus": {"type": "object", "required": ["id", "status"], "properties": {
        "id": {"type": "string"}, "status": {"type": "string"}, "status_detail": _STR_OR_NULL,
        "provider": {"type": "string"}, "provider_message_id": _STR_OR_NULL, "thread_id": _STR_OR_NULL,
        "subject": {"type": "string"}, "recipients": {"type": "array", "items": {"type": "string"}},
        "sent_at": _TS, "tracking": {"type": "object"}}},
    "RowStatus": {"type": "object", "required": ["tracked"], "properties": {
        "tracked": {"type": "boolean"}, "messages": {"type": "array", "items": {"type": "string"}},
        "opened": {"type": "boolean"}, "clicked": {"type": "boolean"}, "open_count": {"type": "integer"},
        "click_count": {"type": "integer"}, "machine_open_count": {"type": "integer"},
        "first_opened_at": _TS, "last_opened_at": _TS, "last_clicked_at": _TS}},
    "Settings": {"type": "object", "required": ["tracking", "composer_defaults", "notifications", "outlook"],
                 "properties": {
        "tracking": {"type": "object", "properties": {"opens": {"type": "boolean"}, "clicks": {"type": "boolean"},
                                                       "notifications": {"type": "boolean"}}},
        "composer_defaults": {"type": "object", "properties": {
            "track_opens": {"type": "boolean"}, "track_clicks": {"type": "boolean"},
            "show_opens_toggle": {"type": "boolean"}, "show_clicks_toggle": {"type": "boolean"}}},
        "notifications": {"type": "object", "properties": {
            "every_open": {"type": "boolean"}, "clicks": {"type": "boolean"},
            "quiet_hours": {"type": "object", "properties": {"start": _STR_OR_NULL, "end": _STR_OR_NULL}},
            "timezone": {"type": "string"}}},
        "outlook": {"type": "object", "properties": {"opened_category": {"type": "boolean"}}}}},
    "SettingsPatch": {"type": "object", "additionalProperties": False, "properties": {
        "tracking": {"type": "object", "additionalProperties": False, "properties": {
            "opens": {"type": "boolean"}, "clicks": {"type": "boolean"}, "notifications": {"type": "boolean"}}},
        "composer_defaults": {"type": "object", "additionalProperties": False, "properties": {
            "track_opens": {"type": "boolean"}, "track_clicks": {"type": "boolean"}}},
        "notifications": {"type": "object", "additionalProperties": False, "properties": {
            "every_open": {"type": "boolean"}, "clicks": {"type": "boolean"},
            "quiet_hours": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["start", "end"],
                                                          "properties": {
                "start": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
                "end": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}}}]},
            "timezone": {"type": "string"}}},
        "outlook": {"type": "object", "additionalProperties": False,
                    "properties": {"opened_category": {"type": "boolean"}}}}},
    "Notification": {"type": "object", "required": ["id", "event", "created_at", "read"], "properties": {
        "id": {"type": "integer"}, "event": {"enum": ["open", "click"]},
        "created_at": {"type": "string", "format": "date-time"}, "read": {"type": "boolean"},
        "message_id": {"type": "string"}, "subject": {"type": "string"}, "kind": {"type": "string"},
        "recipients": {"type": "array", "items": {"type": "string"}}, "link": _STR_OR_NULL,
        "thread_id": _STR_OR_NULL, "at": {"type": "string"}, "quiet": {"type": "boolean"}}},
    "Token": {"type": "object", "required": ["id", "client", "created_at", "expires_at", "revoked", "current"],
              "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "client": _STR_OR_NULL,
                             "created_at": {"type": "string"}, "expires_at": {"type": "string"},
                             "last_used_at": _TS, "revoked": {"type": "boolean"}, "current": {"type": "boolean"}}},
    "Me": {"type": "object", "required": ["email", "accounts", "defaults", "stream_url"], "properties": {
        "email": {"type": "string"}, "name": _STR_OR_NULL, "stream_url": {"type": "string"},
        "tracking_base_url": {"type": "string"},
        "accounts": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "provider": {"type": "string"}, "address": {"type": "string"},
            "status": {"type": "string"}, "status_reason": _STR_OR_NULL}}},
        "defaults": {"type": "object", "properties": {"track_opens": {"type": "boolean"},
                                                      "track_clicks": {"type": "boolean"}}}}},
}

_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}


def document() -> dict:
    doc = _document()
    # Any request can be refused as malformed (for one, text with NUL characters, which PostgreSQL can't store).
    for operations in doc["paths"].values():
        for operation in operations.values():
            operation["responses"].setdefault("400", _json(_ref("Error"), "The request is malformed."))
    return doc


def _document() -> dict:
    auth = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "mailbeacon API", "version": __version__,
                 "description": "The JSON API the mailbeacon Chrome extension and Outlook add-in use. Every call "
                                "carries an API token (Authorization: Bearer); a user only ever sees their own "
                                "messages, hits and notifications."},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "security": auth,
        "paths": {
            "/api/v1/me": {
                "get": {"operationId": "me", "summary": "Who is signed in, their accounts and composer defaults",
                        "responses": {"200": _json(_ref("Me"), "The signed-in user."), **_errors(*_AUTH_ERRORS)}},
                "delete": {"operationId": "deleteMe", "summary": "Delete the user and all their tracking data",
                           "responses": {"204": {"description": "Deleted."}, **_errors(*_AUTH_ERRORS)}}},
            "/api/v1/messages": {
                "get": {"operationId": "listMessages", "summary": "Tracked mail, newest first",
                        "parameters": [
                            {"name": "filter", "in": "query", "schema": {
                                "enum": ["all", "tracked", "opened", "clicked", "not_opened"]}},
                            {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                            {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                         "maximum": 100}}],
                        "responses": {"200": _json({"type": "object", "required": ["messages", "next_cursor"],
                                                    "properties": {"messages": {"type": "array",
                                                                                "items": _ref("MessageSummary")},
                                                                   "next_cursor": _STR_OR_NULL}}, "A page."),
                                      **_errors(400, *_AUTH_ERRORS)}},
                "post": {"operationId": "sendMessage", "summary": "Send a Gmail draft tracked (202; a job sends it)",
                         "requestBody": {"required": True, "content": {"application/json": {"schema": {
                             "type": "object", "required": ["draft_id", "seen"], "properties": {
                                 "provider": {"enum": ["gmail"]}, "draft_id": {"type": "string"},
                                 "track_opens": {"type": "boolean"}, "track_clicks": {"type": "boolean"},
                                 "idempotency_key": {"type": "string", "minLength": 8, "maxLength": 128},
                                 "seen": {"type": "object", "properties": {
                                     "to": {"type": "array", "items": {"type": "string"}},
                                     "cc": {"type": "array", "items": {"type": "string"}},
                                     "bcc": {"type": "array", "items": {"type": "string"}},
                                     "subject": {"type": ["string", "null"]},
                                     "text_sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}}}}}}}},
                         "responses": {"202": _json(_ref("SendStatus"), "Accepted; poll or listen for the result."),
                                       **_errors(400, 409, *_AUTH_ERRORS)}}},
            "/api/v1/messages/{id}": {"get": {
                "operationId": "getMessage", "summary": "A message: recipients, timeline, links and their clicks",
                "parameters": [_ID],
                "responses": {"200": _json(_ref("MessageDetail"), "The message."), **_errors(404, *_AUTH_ERRORS)}}},
            "/api/v1/messages/status": {"post": {
                "operationId": "rowStatus", "summary": "Status of the list rows on screen (up to 100 threads)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["thread_ids"], "properties": {"thread_ids": {
                        "type": "array", "maxItems": 100, "items": {"type": "string", "minLength": 1,
                                                                    "maxLength": 255}}}}}}},
                "responses": {"200": _json({"type": "object", "required": ["rows"], "properties": {"rows": {
                    "type": "object", "additionalProperties": _ref("RowStatus")}}}, "Per row."),
                    **_errors(400, *_AUTH_ERRORS)}}},
            "/api/v1/messages/{id}/viewing": {"post": {
                "operationId": "viewingMessage", "summary": "The sender is looking at this message now",
                "parameters": [_ID],
                "responses": {"204": {"description": "Noted."}, **_errors(404, *_AUTH_ERRORS)}}},
            "/api/v1/viewing": {"post": {
                "operationId": "viewingThread", "summary": "The sender is looking at this thread now",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["thread_id"], "properties": {
                        "thread_id": {"type": "string", "minLength": 1, "maxLength": 255}}}}}},
                "responses": {"200": _json({"type": "object", "properties": {"messages": {"type": "integer"}}},
                                           "How many tracked messages that thread holds."),
                              **_errors(400, *_AUTH_ERRORS)}}},
            "/api/v1/settings": {
                "get": {"operationId": "getSettings", "summary": "Account settings and preferences",
                        "responses": {"200": _json(_ref("Settings"), "Settings."), **_errors(*_AUTH_ERRORS)}},
                "patch": {"operationId": "patchSettings", "summary": "Change some settings",
                          "requestBody": {"required": True, "content": {"application/json": {
                              "schema": _ref("SettingsPatch")}}},
                          "responses": {"200": _json(_ref("Settings"), "The settings now."),
                                        **_errors(400, *_AUTH_ERRORS)}}},
            "/api/v1/notifications": {"get": {
                "operationId": "listNotifications", "summary": "Notifications, newest first (or after an id)",
                "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                            "maximum": 100}},
                               {"name": "before", "in": "query", "schema": {"type": "integer"}},
                               {"name": "after", "in": "query", "schema": {"type": "integer"}},
                               {"name": "unread", "in": "query", "schema": {"enum": ["true", "false", "1", "0"]}}],
                "responses": {"200": _json({"type": "object", "required": ["notifications", "unread"], "properties": {
                    "notifications": {"type": "array", "items": _ref("Notification")},
                    "unread": {"type": "integer"}, "next_before": {"type": ["integer", "null"]}}}, "A page."),
                    **_errors(400, *_AUTH_ERRORS)}}},
            "/api/v1/notifications/unread-count": {"get": {
                "operationId": "unreadCount", "summary": "The bell",
                "responses": {"200": _json({"type": "object", "required": ["unread"],
                                            "properties": {"unread": {"type": "integer"}}}, "Unread."),
                              **_errors(*_AUTH_ERRORS)}}},
            "/api/v1/notifications/read": {"post": {
                "operationId": "markRead", "summary": "Mark some ({ids}) or all ({all: true}) read",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"ids": {"type": "array", "maxItems": 500,
                                                             "items": {"type": "integer"}},
                                                     "all": {"type": "boolean"}}}}}},
                "responses": {"200": _json({"type": "object", "required": ["marked", "unread"], "properties": {
                    "marked": {"type": "integer"}, "unread": {"type": "integer"}}}, "Done."),
                    **_errors(400, *_AUTH_ERRORS)}}},
            "/api/v1/tokens": {"get": {
                "operationId": "listTokens", "summary": "This user's API tokens",
                "responses": {"200": _json({"type": "object", "required": ["tokens"], "properties": {
                    "tokens": {"type": "array", "items": _ref("Token")}}}, "Tokens."), **_errors(*_AUTH_ERRORS)}}},
            "/api/v1/tokens/{token_id}": {"delete": {
                "operationId": "revokeToken", "summary": "Revoke one of this user's tokens",
                "parameters": [{"name": "token_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}],
                "responses": {"204": {"description": "Revoked."}, **_errors(404, *_AUTH_ERRORS)}}},
            "/api/v1/accounts/{account_id}": {"delete": {
                "operationId": "deleteAccount", "summary": "Disconnect an account and delete its tracking data",
                "parameters": [{"name": "account_id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 0}}],
                "responses": {"204": {"description": "Deleted."}, **_errors(404, *_AUTH_ERRORS)}}},
            "/api/v1/outlook/messages": {"post": {
                "operationId": "sendOutlookMessage",
                "summary": "Send a saved Outlook draft tracked through Graph (its REST id); 202, a job sends it",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["item_id", "seen"], "properties": {
                        "item_id": {"type": "string"}, "track_opens": {"type": "boolean"},
                        "track_clicks": {"type": "boolean"},
                        "idempotency_key": {"type": "string", "minLength": 8, "maxLength": 128},
                        "seen": {"type": "object", "properties": {
                            "to": {"type": "array", "items": {"type": "string"}},
                            "cc": {"type": "array", "items": {"type": "string"}},
                            "bcc": {"type": "array", "items": {"type": "string"}},
                            "subject": {"type": "string"},
                            "text_sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}}}}}}}},
                "responses": {"202": _json(_ref("SendStatus"), "Accepted."), **_errors(400, 409, *_AUTH_ERRORS)}}},
            "/api/v1/messages/prepare": {"post": {
                "operationId": "prepareMessage",
                "summary": "Classic Outlook: track a body; the add-in sets it and the X-Mailbeacon-Id header",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["body"], "properties": {
                        "subject": {"type": "string"},
                        "to": {"type": "array", "items": {"type": "string"}},
                        "cc": {"type": "array", "items": {"type": "string"}},
                        "bcc": {"type": "array", "items": {"type": "string"}},
                        "body": {"type": "object", "required": ["content_type", "content"], "properties": {
                            "content_type": {"enum": ["html", "text"]}, "content": {"type": "string"}}},
                        "track_opens": {"type": "boolean"}, "track_clicks": {"type": "boolean"},
                        "idempotency_key": {"type": "string", "minLength": 8, "maxLength": 128}}}}}},
                "responses": {"200": _json({"type": "object", "required": ["message", "body", "header"],
                                            "properties": {
                    "message": _ref("SendStatus"),
                    "body": {"type": "object", "properties": {"content_type": {"type": "string"},
                                                              "content": {"type": "string"}}},
                    "header": {"type": "object", "properties": {"name": {"type": "string"},
                                                                "value": {"type": "string"}}},
                    "report": {"type": "object"}}}, "The tracked body and the header to set."),
                    "413": _json(_ref("Error"), "The body is over the size limit."),
                    "422": _json(_ref("Error"), "Not a body that can be sent."),
                    **_errors(400, 409, *_AUTH_ERRORS)}}},
            "/api/v1/messages/{id}/prepared-sent": {"post": {
                "operationId": "preparedSent",
                "summary": "The add-in saw Outlook send a prepared message (a hint: Sent Items decides)",
                "parameters": [_ID],
                "responses": {"200": _json(_ref("SendStatus"), "No longer prepared."),
                              "202": _json(_ref("SendStatus"), "Looking for the sent copy now."),
                              **_errors(404, *_AUTH_ERRORS)}}},
            "/api/v1/stream": {"get": {
                "operationId": "stream", "summary": "Server-Sent Events: live notifications (resume with Last-Event-ID)",
                "parameters": [{"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "An endless text/event-stream.",
                                      "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                              **_errors(*_AUTH_ERRORS)}}},
        },
    }


@bp.get("/api/v1/openapi.json")
def openapi_json():
    response = jsonify(document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
