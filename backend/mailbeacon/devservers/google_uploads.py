"""Google's upload protocols for ``/upload/gmail/v1/...``: media, multipart/related and resumable.

google-api-python-client picks one of these whenever ``media_body=`` is given. Note that it builds
the upload URL from the discovery document's https root and only swaps in the host of
``api_endpoint``, so uploads reach the stand-in only when it serves TLS (``serve_google_standin(tls=True)``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from .google_errors import GoogleApiError, invalid_argument, not_found
from .google_http import MessageInput, json_body
from .google_state import GoogleState

_RANGE = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$")


def is_upload(request: Request) -> bool:
    return request.path.startswith("/upload/")


def _check_media_type(content_type: str | None) -> None:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if not media_type.startswith("message/"):
        raise invalid_argument(
            f"Media type '{media_type or 'none'}' is not supported. Valid media types: [message/*]",
            reason="badContent",
        )


def _split_multipart(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """Split a multipart body without re-encoding anything (the media part stays byte-exact)."""
    delimiter = re.compile(rb"(?:^|\r?\n)--" + re.escape(boundary.encode("latin-1")) + rb"(--)?[ \t]*(?:\r?\n|$)")
    parts: list[tuple[dict[str, str], bytes]] = []
    matches = list(delimiter.finditer(body))
    for current, following in zip(matches, matches[1:]):
        if current.group(1):  # the closing delimiter
            break
        chunk = body[current.end() : following.start()]
        head_end = re.search(rb"\r?\n\r?\n", chunk)
        if chunk.startswith((b"\r\n", b"\n")):
            head, content = b"", chunk.split(b"\n", 1)[1]
        elif head_end:
            head, content = chunk[: head_end.start()], chunk[head_end.end() :]
        else:
            head, content = chunk, b""
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if value:
                headers[name.strip().lower()] = value.strip()
        parts.append((headers, content))
    return parts


def _multipart_input(request: Request) -> MessageInput:
    boundary = request.mimetype_params.get("boundary")
    if request.mimetype != "multipart/related" or not boundary:
        raise invalid_argument("Invalid multipart request with 0 mime parts.", reason="badRequest")
    parts = _split_multipart(request.get_data(), boundary)
    if len(parts) != 2:
        raise invalid_argument(f"Invalid multipart request with {len(parts)} mime parts.", reason="badRequest")
    (_, metadata_bytes), (media_headers, media) = parts
    _check_media_type(media_headers.get("content-type"))
    fake = Request.from_values(data=metadata_bytes, content_type="application/json")
    return MessageInput(json_body(fake), media)


def read_message_input(request: Request) -> MessageInput:
    """The message sent with a JSON, media or multipart request (resumable is handled separately)."""
    if not is_upload(request):
        return MessageInput(json_body(request))
    upload_type = request.args.get("uploadType")
    if upload_type == "media":
        _check_media_type(request.content_type)
        return MessageInput({}, request.get_data())
    if upload_type == "multipart":
        return _multipart_input(request)
    raise invalid_argument(f"Invalid upload type: {upload_type or '(none)'}", reason="badRequest")


def is_resumable_start(request: Request) -> bool:
    return is_upload(request) and request.args.get("uploadType") == "resumable" and "upload_id" not in request.args


@dataclass
class UploadSession:
    id: str
    operation: str
    view_args: dict[str, Any]
    metadata: dict[str, Any]
    total: int | None
    received: bytearray = field(default_factory=bytearray)


def start_resumable(state: GoogleState, request: Request, operation: str, view_args: dict[str, Any]) -> Response:
    content_type = request.headers.get("X-Upload-Content-Type")
    if content_type:
        _check_media_type(content_type)
    length = request.headers.get("X-Upload-Content-Length")
    session = UploadSession(
        id=secrets.token_urlsafe(32),
        operation=operation,
        view_args=dict(view_args),
        metadata=json_body(request),
        total=int(length) if length and length.isdigit() else None,
    )
    with state.lock:
        state.uploads[session.id] = session
    location = f"{request.base_url}?uploadType=resumable&upload_id={session.id}"
    return Response(b"", status=200, headers={"Location": location, "X-GUploader-UploadID": session.id})


def continue_resumable(state: GoogleState, request: Request) -> UploadSession | Response:
    """Take one chunk. Returns the finished session, or the 308 that asks for the next chunk."""
    with state.lock:
        session = state.uploads.get(request.args.get("upload_id", ""))
    if session is None:
        return not_found().response()
    match = _RANGE.match(request.headers.get("Content-Range", f"bytes 0-0/{len(request.get_data())}").strip())
    data = request.get_data()
    if match is None:
        return GoogleApiError(400, "Failed to parse Content-Range header.", "badRequest", "INVALID_ARGUMENT").response()
    start, _, total = match.groups()
    if total != "*":
        session.total = int(total)
    if start is not None and int(start) == len(session.received):
        session.received.extend(data)
    if session.total is not None and len(session.received) >= session.total:
        with state.lock:
            state.uploads.pop(session.id, None)
        return session
    headers = {"Range": f"bytes=0-{len(session.received) - 1}"} if session.received else {}
    return Response(b"", status=308, headers=headers)


def finished_input(session: UploadSession) -> MessageInput:
    return MessageInput(session.metadata, bytes(session.received[: session.total]))
