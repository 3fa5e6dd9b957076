"""Gmail REST v1 on the stand-in, driven by google-api-python-client exactly as production code drives it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from mailbeacon.devservers.google import RunningStandin

from .test_google_signin import (  # noqa: F401  (fixtures)
    credentials_for,
    decode,
    encode,
    gmail_for,
    google,
    running_google,
    sign_in,
)

SENDER = "alex.sender@example.com"
RECIPIENT = "sam.recipient@example.net"


def message(
    subject: str = "Pricing for next quarter",
    *,
    to: str = RECIPIENT,
    extra_headers: str = "",
    body: str = "Hi Sam,\r\n\r\nThe numbers are attached in spirit.\r\n",
    message_id: str | None = "<pricing-1@mailbeacon.test>",
) -> bytes:
    headers = f"From: Alex Sender <{SENDER}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
    headers += "Date: Tue, 2 Dec 2025 10:00:00 +0000\r\n"
    if message_id:
        headers += f"Message-ID: {message_id}\r\n"
    headers += extra_headers
    return (headers + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode("utf-8")


@pytest.fixture
def gmail(google: RunningStandin) -> Any:
    return gmail_for(google, credentials_for(google, sign_in(google, login_hint=SENDER))).users()


def error_of(failure: pytest.ExceptionInfo[HttpError]) -> dict[str, Any]:
    return json.loads(failure.value.content)["error"]


def create_draft(gmail: Any, raw: bytes, thread_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": {"raw": encode(raw)}}
    if thread_id:
        body["message"]["threadId"] = thread_id
    return gmail.drafts().create(userId="me", body=body).execute()


# -- drafts ----------------------------------------------------------------------------------------


def test_draft_raw_comes_back_byte_for_byte(gmail: Any) -> None:
    raw = message(body="Caf\u00e9 cr\u00e8me\r\nA line that is long " + "x" * 300 + "\r\n\r\n-- \r\nAlex\n")

    draft = create_draft(gmail, raw)
    fetched = gmail.drafts().get(userId="me", id=draft["id"], format="raw").execute()

    assert decode(fetched["message"]["raw"]) == raw
    assert fetched["message"]["labelIds"] == ["DRAFT"]


def test_ids_have_gmail_shapes_and_messages_carry_gmail_fields(gmail: Any) -> None:
    draft = create_draft(gmail, message())
    fetched = gmail.drafts().get(userId="me", id=draft["id"], format="minimal").execute()["message"]

    assert re.fullmatch(r"r-?\d+", draft["id"])
    assert re.fullmatch(r"[0-9a-f]{16}", draft["message"]["id"])
    assert draft["message"]["threadId"] == draft["message"]["id"]
    assert fetched["snippet"] == "Hi Sam, The numbers are attached in spirit."
    assert int(fetched["historyId"]) > 0
    assert int(fetched["internalDate"]) > 1_600_000_000_000
    assert fetched["sizeEstimate"] == len(message())
    assert "payload" not in fetched and "raw" not in fetched


def test_draft_update_replaces_content_under_a_new_message_id(gmail: Any) -> None:
    draft = create_draft(gmail, message())

    updated = gmail.drafts().update(
        userId="me", id=draft["id"], body={"message": {"raw": encode(message("Revised pricing"))}}
    ).execute()
    fetched = gmail.drafts().get(userId="me", id=draft["id"], format="raw").execute()

    assert updated["id"] == draft["id"]
    assert updated["message"]["id"] != draft["message"]["id"]
    assert decode(fetched["message"]["raw"]) == message("Revised pricing")


def test_draft_send_removes_the_draft_and_labels_the_message_sent(gmail: Any, google: RunningStandin) -> None:
    draft = create_draft(gmail, message())

    sent = gmail.drafts().send(userId="me", body={"id": draft["id"]}).execute()

    assert sent["labelIds"] == ["SENT"]
    assert sent["id"] == draft["message"]["id"]
    with pytest.raises(HttpError) as failure:
        gmail.drafts().get(userId="me", id=draft["id"]).execute()
    assert failure.value.status_code == 404
    assert error_of(failure)["status"] == "NOT_FOUND"
    assert [m.gmail_id for m in google.state.sent_messages()] == [sent["id"]]
    assert google.state.sent_messages()[0].raw == message()


def test_reply_draft_with_thread_id_stays_in_the_thread_with_its_reply_headers(gmail: Any) -> None:
    original = gmail.messages().send(userId="me", body={"raw": encode(message())}).execute()
    reply_headers = "In-Reply-To: <pricing-1@mailbeacon.test>\r\nReferences: <pricing-1@mailbeacon.test>\r\n"
    reply = message(
        "Re: Pricing for next quarter", extra_headers=reply_headers, message_id="<pricing-2@mailbeacon.test>"
    )

    draft = create_draft(gmail, reply, thread_id=original["threadId"])
    sent = gmail.drafts().send(userId="me", body={"id": draft["id"]}).execute()
    thread = gmail.threads().get(userId="me", id=original["threadId"], format="metadata").execute()

    assert sent["threadId"] == original["threadId"]
    assert [m["id"] for m in thread["messages"]] == [original["id"], sent["id"]]
    headers = {h["name"]: h["value"] for h in thread["messages"][1]["payload"]["headers"]}
    assert headers["In-Reply-To"] == "<pricing-1@mailbeacon.test>"
    assert headers["References"] == "<pricing-1@mailbeacon.test>"


def test_thread_id_with_an_unrelated_subject_starts_a_new_thread(gmail: Any) -> None:
    original = gmail.messages().send(userId="me", body={"raw": encode(message())}).execute()

    other = gmail.messages().send(
        userId="me", body={"raw": encode(message("Lunch?", message_id=None)), "threadId": original["threadId"]}
    ).execute()

    assert other["threadId"] != original["threadId"]


def test_unknown_thread_id_is_rejected(gmail: Any) -> None:
    with pytest.raises(HttpError) as failure:
        create_draft(gmail, message(), thread_id="18c0ffee18c0ffee")

    assert failure.value.status_code == 400
    assert error_of(failure)["message"] == "Invalid thread_id value"


def test_drafts_list_and_delete(gmail: Any) -> None:
    first = create_draft(gmail, message("One"))
    second = create_draft(gmail, message("Two"))

    listed = gmail.drafts().list(userId="me").execute()
    gmail.drafts().delete(userId="me", id=first["id"]).execute()
    after = gmail.drafts().list(userId="me").execute()

    assert [d["id"] for d in listed["drafts"]] == [second["id"], first["id"]]
    assert [d["id"] for d in after["drafts"]] == [second["id"]]


def test_sending_a_draft_with_a_new_body_sends_the_new_body(gmail: Any, google: RunningStandin) -> None:
    draft = create_draft(gmail, message("Old"))

    gmail.drafts().send(userId="me", body={"id": draft["id"], "message": {"raw": encode(message("New"))}}).execute()

    assert google.state.sent_messages()[0].raw == message("New")


# -- validation, as Gmail does it ------------------------------------------------------------------


def test_bad_base64_raw_is_a_400_invalid_argument(gmail: Any) -> None:
    with pytest.raises(HttpError) as failure:
        gmail.drafts().create(userId="me", body={"message": {"raw": "not base64!!"}}).execute()

    error = error_of(failure)
    assert failure.value.status_code == 400
    assert error["code"] == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert "Base64 decoding failed" in error["message"]
    assert error["errors"][0]["domain"] == "global"


def test_standard_base64_alphabet_is_accepted_like_google_does(gmail: Any) -> None:
    import base64

    raw = message(body="\u00ff\u00fe\u00fd???>>>\r\n")
    draft = gmail.drafts().create(userId="me", body={"message": {"raw": base64.b64encode(raw).decode()}}).execute()

    assert decode(gmail.drafts().get(userId="me", id=draft["id"], format="raw").execute()["message"]["raw"]) == raw


def test_send_without_any_recipient_is_recipient_address_required(gmail: Any) -> None:
    raw = b"From: alex.sender@example.com\r\nSubject: Nobody\r\n\r\nHello?\r\n"

    with pytest.raises(HttpError) as failure:
        gmail.messages().send(userId="me", body={"raw": encode(raw)}).execute()

    assert failure.value.status_code == 400
    assert error_of(failure)["message"] == "Recipient address required"
    assert error_of(failure)["errors"][0]["reason"] == "invalidArgument"


@pytest.mark.parametrize("to", ["human@f", "e,m,a,i,l", "not an address"])
def test_unparseable_to_header_is_invalid_to_header(gmail: Any, to: str) -> None:
    with pytest.raises(HttpError) as failure:
        create_draft(gmail, message(to=to))

    assert error_of(failure)["message"] == "Invalid To header"


def test_bytes_that_are_not_a_message_are_rejected(gmail: Any) -> None:
    with pytest.raises(HttpError) as failure:
        create_draft(gmail, b"just some words, no headers\r\n")

    assert failure.value.status_code == 400


def test_missing_raw_is_rejected_with_gmails_words(gmail: Any) -> None:
    with pytest.raises(HttpError) as failure:
        gmail.messages().send(userId="me", body={"threadId": "18c0ffee18c0ffee"}).execute()

    assert "'raw' RFC822 payload message string" in error_of(failure)["message"]


def test_misspelt_json_field_is_an_unknown_name(gmail: Any) -> None:
    with pytest.raises(HttpError) as failure:
        gmail.drafts().create(userId="me", body={"message": {"raw": encode(message()), "threadID": "x"}}).execute()

    assert 'Unknown name "threadID"' in error_of(failure)["message"]


def test_missing_message_is_404(gmail: Any) -> None:
    with pytest.raises(HttpError) as failure:
        gmail.messages().get(userId="me", id="18c0ffee18c0ffee").execute()

    assert failure.value.status_code == 404
    assert error_of(failure)["errors"][0]["reason"] == "notFound"


# -- delivery --------------------------------------------------------------------------------------


def test_mail_to_a_stand_in_account_lands_in_its_inbox_without_the_bcc(gmail: Any, google: RunningStandin) -> None:
    raw = message(extra_headers="Bcc: secret@example.org\r\n")

    gmail.messages().send(userId="me", body={"raw": encode(raw)}).execute()
    delivered = google.state.messages(RECIPIENT)

    assert len(delivered) == 1
    assert delivered[0].label_ids == ["INBOX", "UNREAD", "CATEGORY_PERSONAL"]
    assert b"Bcc:" not in delivered[0].raw
    assert delivered[0].raw.startswith(b"Delivered-To: sam.recipient@example.net\r\n")
    assert google.state.sent_messages()[0].recipients == (RECIPIENT, "secret@example.org")
    assert b"Bcc: secret@example.org" in google.state.sent_messages()[0].raw


def test_mail_to_oneself_is_one_message_both_sent_and_in_the_inbox(gmail: Any) -> None:
    sent = gmail.messages().send(userId="me", body={"raw": encode(message(to=SENDER))}).execute()

    stored = gmail.messages().get(userId="me", id=sent["id"], format="minimal").execute()

    assert {"SENT", "INBOX"} <= set(stored["labelIds"])
    assert gmail.getProfile(userId="me").execute()["messagesTotal"] == 1


def test_updating_a_draft_with_the_thread_id_it_reported_keeps_that_thread(gmail: Any) -> None:
    draft = create_draft(gmail, message())
    reported = gmail.drafts().get(userId="me", id=draft["id"], format="minimal").execute()["message"]["threadId"]

    updated = gmail.drafts().update(
        userId="me", id=draft["id"], body={"message": {"raw": encode(message()), "threadId": reported}}
    ).execute()

    assert updated["message"]["threadId"] == reported


def test_updating_a_reply_draft_without_its_thread_id_leaves_the_thread(gmail: Any) -> None:
    original = gmail.messages().send(userId="me", body={"raw": encode(message())}).execute()
    reply = message("Re: Pricing for next quarter", message_id=None)
    draft = create_draft(gmail, reply, thread_id=original["threadId"])

    updated = gmail.drafts().update(userId="me", id=draft["id"], body={"message": {"raw": encode(reply)}}).execute()

    assert draft["message"]["threadId"] == original["threadId"]
    assert updated["message"]["threadId"] != original["threadId"]
