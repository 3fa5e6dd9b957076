"""Reading Gmail through the stand-in: authorisation rules, search (``q``), formats and threads."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from googleapiclient.errors import HttpError

from mailbeacon.devservers.google import RunningStandin

from .test_google_gmail import RECIPIENT, SENDER, create_draft, error_of, gmail, message  # noqa: F401  (fixture)
from .test_google_signin import (  # noqa: F401  (fixtures)
    credentials_for,
    decode,
    encode,
    gmail_for,
    google,
    running_google,
    sign_in,
)

# -- authorisation ---------------------------------------------------------------------------------


def test_gmail_call_without_a_gmail_scope_is_403_insufficient_permissions(google: RunningStandin) -> None:
    users = gmail_for(google, credentials_for(google, sign_in(google, scope="openid email"))).users()

    with pytest.raises(HttpError) as failure:
        users.getProfile(userId="me").execute()

    assert failure.value.status_code == 403
    assert error_of(failure)["errors"][0]["reason"] == "insufficientPermissions"
    assert error_of(failure)["status"] == "PERMISSION_DENIED"
    assert 'error="insufficient_scope"' in failure.value.resp["www-authenticate"]


def test_send_only_scope_may_send_but_not_read(google: RunningStandin) -> None:
    scope = "https://www.googleapis.com/auth/gmail.send"
    users = gmail_for(google, credentials_for(google, sign_in(google, scope=scope))).users()

    users.messages().send(userId="me", body={"raw": encode(message())}).execute()
    with pytest.raises(HttpError) as failure:
        users.messages().list(userId="me").execute()

    assert failure.value.status_code == 403


def test_metadata_scope_cannot_read_raw_or_search(google: RunningStandin) -> None:
    scope = "https://www.googleapis.com/auth/gmail.metadata"
    users = gmail_for(google, credentials_for(google, sign_in(google, scope=scope, login_hint=SENDER))).users()
    google.state.receive_message(SENDER, message())
    message_id = google.state.messages(SENDER)[0].id

    metadata = users.messages().get(userId="me", id=message_id, format="metadata").execute()
    with pytest.raises(HttpError) as raw_failure:
        users.messages().get(userId="me", id=message_id, format="raw").execute()
    with pytest.raises(HttpError) as search_failure:
        users.messages().list(userId="me", q="pricing").execute()

    assert metadata["payload"]["headers"]
    assert raw_failure.value.status_code == 403
    assert search_failure.value.status_code == 403


def test_another_users_mailbox_is_delegation_denied(gmail: Any) -> None:
    with pytest.raises(HttpError) as failure:
        gmail.getProfile(userId=RECIPIENT).execute()

    assert failure.value.status_code == 403
    assert error_of(failure)["message"] == f"Delegation denied for {SENDER}"


def test_own_address_works_as_user_id(gmail: Any) -> None:
    assert gmail.getProfile(userId=SENDER).execute()["emailAddress"] == SENDER


def test_request_without_a_token_is_401_login_required(google: RunningStandin) -> None:
    response = requests.get(f"{google.base_url}/gmail/v1/users/me/profile", timeout=10)

    assert response.status_code == 401
    assert response.json()["error"]["errors"][0]["reason"] == "required"
    assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")


def test_request_with_a_bad_token_is_401_with_invalid_token(google: RunningStandin) -> None:
    response = requests.get(
        f"{google.base_url}/gmail/v1/users/me/profile", headers={"Authorization": "Bearer ya29.forged"}, timeout=10
    )

    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


# -- search, formats, threads ----------------------------------------------------------------------


def test_messages_list_finds_a_sent_message_by_rfc822msgid(gmail: Any) -> None:
    sent = gmail.messages().send(userId="me", body={"raw": encode(message())}).execute()
    gmail.messages().send(userId="me", body={"raw": encode(message("Other", message_id="<other@x.test>"))}).execute()

    with_brackets = gmail.messages().list(userId="me", q="rfc822msgid:<pricing-1@mailbeacon.test>").execute()
    without = gmail.messages().list(userId="me", q="rfc822msgid:pricing-1@mailbeacon.test").execute()
    nothing = gmail.messages().list(userId="me", q="rfc822msgid:<absent@x.test>").execute()

    assert with_brackets["messages"] == [{"id": sent["id"], "threadId": sent["threadId"]}]
    assert without["messages"] == with_brackets["messages"]
    assert nothing == {"resultSizeEstimate": 0}


def test_in_sent_in_drafts_and_label_ids_filter_messages(gmail: Any) -> None:
    draft = create_draft(gmail, message("Draft one", message_id="<d1@x.test>"))
    sent = gmail.messages().send(userId="me", body={"raw": encode(message())}).execute()

    def ids(**query: Any) -> list[str]:
        return [m["id"] for m in gmail.messages().list(userId="me", **query).execute().get("messages", [])]

    assert ids(q="in:sent") == [sent["id"]]
    assert ids(q="in:drafts") == [draft["message"]["id"]]
    assert ids(labelIds=["SENT"]) == [sent["id"]]
    assert ids(labelIds=["DRAFT"], q="subject:draft") == [draft["message"]["id"]]
    assert ids(q="-in:sent") == [draft["message"]["id"]]
    assert set(ids()) == {sent["id"], draft["message"]["id"]}


def test_gmail_adds_a_message_id_when_the_sender_gave_none(gmail: Any, google: RunningStandin) -> None:
    raw = message(message_id=None)

    sent = gmail.messages().send(userId="me", body={"raw": encode(raw)}).execute()
    stored = google.state.sent_messages()[0]

    assert stored.raw.endswith(raw)
    assert stored.rfc822_message_id and stored.rfc822_message_id.endswith("@mail.gmail.com")
    found = gmail.messages().list(userId="me", q=f"rfc822msgid:{stored.rfc822_message_id}").execute()
    assert found["messages"][0]["id"] == sent["id"]


def test_list_pages_through_results(gmail: Any) -> None:
    for number in range(5):
        gmail.messages().send(userId="me", body={"raw": encode(message(f"N{number}", message_id=None))}).execute()

    first = gmail.messages().list(userId="me", maxResults=2).execute()
    second = gmail.messages().list(userId="me", maxResults=2, pageToken=first["nextPageToken"]).execute()
    third = gmail.messages().list(userId="me", maxResults=2, pageToken=second["nextPageToken"]).execute()

    seen = [m["id"] for page in (first, second, third) for m in page["messages"]]
    assert len(seen) == len(set(seen)) == 5
    assert "nextPageToken" not in third


def test_metadata_format_returns_only_the_asked_headers(gmail: Any) -> None:
    sent = gmail.messages().send(userId="me", body={"raw": encode(message())}).execute()

    fetched = gmail.messages().get(
        userId="me", id=sent["id"], format="metadata", metadataHeaders=["Subject", "Message-ID"]
    ).execute()

    assert fetched["payload"]["headers"] == [
        {"name": "Subject", "value": "Pricing for next quarter"},
        {"name": "Message-ID", "value": "<pricing-1@mailbeacon.test>"},
    ]


def test_full_format_decodes_parts_and_offers_attachments(gmail: Any) -> None:
    raw = (
        "From: alex.sender@example.com\r\nTo: sam.recipient@example.net\r\nSubject: Files\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>See <b>this</b></p>\r\n"
        '--b1\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename="q3.csv"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nYSxiCjEsMgo=\r\n--b1--\r\n"
    ).encode()
    sent = gmail.messages().send(userId="me", body={"raw": encode(raw)}).execute()

    payload = gmail.messages().get(userId="me", id=sent["id"]).execute()["payload"]
    html_part, csv_part = payload["parts"]
    attachment = gmail.messages().attachments().get(
        userId="me", messageId=sent["id"], id=csv_part["body"]["attachmentId"]
    ).execute()

    assert payload["mimeType"] == "multipart/mixed"
    assert decode(html_part["body"]["data"]) == b"<p>See <b>this</b></p>"
    assert csv_part["filename"] == "q3.csv"
    assert decode(attachment["data"]) == b"a,b\n1,2\n"


def test_threads_list_summarises_each_thread_once(gmail: Any) -> None:
    first = gmail.messages().send(userId="me", body={"raw": encode(message())}).execute()
    gmail.messages().send(
        userId="me",
        body={"raw": encode(message("Re: Pricing for next quarter", message_id=None)), "threadId": first["threadId"]},
    ).execute()

    threads = gmail.threads().list(userId="me").execute()["threads"]

    assert [t["id"] for t in threads] == [first["threadId"]]
