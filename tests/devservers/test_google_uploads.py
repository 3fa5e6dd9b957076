"""Media uploads (``/upload/gmail/v1/...``) from google-api-python-client, over TLS as the client requires.

The client builds upload URLs from the discovery document's https root and swaps in only the host of
``api_endpoint``, so these tests run the stand-in with ``tls=True``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from mailbeacon.devservers.google import RunningStandin, serve_google_standin

from .test_google_gmail import SENDER, message
from .test_google_signin import credentials_for, decode, encode, gmail_for, sign_in

EIGHT_BIT = message(body="Gr\u00fc\u00dfe, \u00e9t\u00e9 \u2014 \u20ac100\r\n.\r\nFrom the team\r\n")


@pytest.fixture(scope="module")
def tls_google() -> Iterator[RunningStandin]:
    with serve_google_standin(auto_approve=True, tls=True) as google:
        yield google


@pytest.fixture
def gmail(tls_google: RunningStandin) -> Any:
    tls_google.state.reset()
    return gmail_for(tls_google, credentials_for(tls_google, sign_in(tls_google, login_hint=SENDER))).users()


def media(
    raw: bytes, *, resumable: bool = False, chunksize: int = 1024 * 1024, mimetype: str = "message/rfc822"
) -> Any:
    return MediaIoBaseUpload(io.BytesIO(raw), mimetype=mimetype, resumable=resumable, chunksize=chunksize)


def fetched_raw(gmail: Any, draft_id: str) -> bytes:
    return decode(gmail.drafts().get(userId="me", id=draft_id, format="raw").execute()["message"]["raw"])


def test_tls_base_url_is_https_with_a_throwaway_ca(tls_google: RunningStandin) -> None:
    assert tls_google.base_url.startswith("https://127.0.0.1:")
    assert tls_google.ca_path is not None and tls_google.ca_path.read_bytes().startswith(b"-----BEGIN CERTIFICATE")


def test_simple_media_upload_keeps_eight_bit_bytes_exactly(gmail: Any) -> None:
    draft = gmail.drafts().create(userId="me", media_body=media(EIGHT_BIT)).execute()

    assert fetched_raw(gmail, draft["id"]) == EIGHT_BIT


def test_multipart_upload_carries_metadata_and_message(gmail: Any) -> None:
    original = gmail.messages().send(userId="me", body={"raw": encode(message())}).execute()
    reply = message("Re: Pricing for next quarter", message_id="<reply@mailbeacon.test>")

    draft = gmail.drafts().create(
        userId="me", body={"message": {"threadId": original["threadId"]}}, media_body=media(reply)
    ).execute()

    assert draft["message"]["threadId"] == original["threadId"]
    assert fetched_raw(gmail, draft["id"]) == reply


def test_resumable_upload_in_several_chunks_sends_the_whole_message(gmail: Any, tls_google: RunningStandin) -> None:
    big = EIGHT_BIT + b"x" * (600 * 1024) + b"\r\n"
    request = gmail.messages().send(userId="me", body={}, media_body=media(big, resumable=True, chunksize=256 * 1024))

    chunks, response = 0, None
    while response is None:
        _, response = request.next_chunk()
        chunks += 1

    assert chunks == 3
    assert response["labelIds"] == ["SENT"]
    assert tls_google.state.sent_messages()[0].raw == big


def test_resumable_draft_update_replaces_the_draft(gmail: Any) -> None:
    draft = gmail.drafts().create(userId="me", media_body=media(message("First"))).execute()

    gmail.drafts().update(userId="me", id=draft["id"], media_body=media(EIGHT_BIT, resumable=True)).execute()

    assert fetched_raw(gmail, draft["id"]) == EIGHT_BIT


def test_uploading_something_that_is_not_a_message_is_refused(gmail: Any) -> None:
    with pytest.raises(HttpError) as failure:
        gmail.drafts().create(userId="me", media_body=media(b"%PDF-1.7", mimetype="message/rfc822")).execute()

    assert failure.value.status_code == 400


def test_uploading_a_media_type_other_than_message_is_refused(gmail: Any) -> None:
    with pytest.raises(HttpError) as failure:
        gmail.messages().send(userId="me", media_body=media(message(), mimetype="text/plain")).execute()

    assert failure.value.status_code == 400
    assert "Valid media types: [message/*]" in failure.value.reason
