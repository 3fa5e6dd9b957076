"""The demo's Outlook sender: Jordan signs in through the add-in's dialog flow at the Microsoft stand-in (TLS, its
own CA), sends a saved item through Graph, and the recipient's Outlook copy carries the tracking back to Jordan only.
"""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from mailbeacon.demo import DemoError
from mailbeacon.demo.sender import OutlookSender, _SourceAddressAdapter
from mailbeacon.demo.standins import DEMO_MICROSOFT_CLIENT_ID
from mailbeacon.storage.models import ApiToken, MailAccount, TrackedMessage

from ..factories import CHROME_UA, wait_until
from .support import feed, mail_url, send, sent_and_delivered, state, tracking_urls, visible_click_url, wait_for_status


def test_both_senders_are_signed_in_through_their_clients_flows_with_ordinary_api_tokens(demo):
    with demo.runtime.db.session() as s:
        accounts = {a.provider: a for a in s.scalars(select(MailAccount))}
        assert set(accounts) == {"gmail", "outlook"}
        outlook = accounts["outlook"]
        assert outlook.address == demo.outlook_sender and outlook.status == "connected"
        assert outlook.encrypted_secret.startswith("v1.")  # the msal cache, refresh token inside, encrypted
        assert accounts["gmail"].address == demo.gmail_sender and accounts["gmail"].user_id != outlook.user_id
        tokens = {t.client: t for t in s.scalars(select(ApiToken))}
    # The add-in's token, handed off through /addin/signed-in.html and /auth/token like the add-in's dialog.
    assert set(tokens) == {"extension", "addin"}
    assert tokens["addin"].user_id == outlook.user_id and tokens["addin"].revoked_at is None
    assert tokens["extension"].revoked_at is None
    config = demo.runtime.config
    assert config.microsoft_client_id == DEMO_MICROSOFT_CLIENT_ID
    assert config.microsoft_authority == demo.microsoft_url and config.microsoft_ca_bundle == demo.microsoft.ca_bundle
    app = demo.microsoft.state.directory.apps[DEMO_MICROSOFT_CLIENT_ID]
    assert app.redirect_uris == (f"{demo.backend_url}/auth/microsoft/callback",)
    jordan = demo.microsoft.state.user(demo.outlook_sender)
    assert jordan.kind == "work" and jordan.display_name == "Jordan Sender"


def test_the_microsoft_stand_in_is_trusted_only_through_its_own_ca(demo):
    # Without the stand-in's CA (the system's trust store only) the TLS handshake fails: the TLS is real.
    untrusting = OutlookSender(demo.backend_url, source_address=demo.sender_address, ca_bundle=True)
    with pytest.raises(DemoError, match="^sign-in failed: SSLError$"):
        untrusting.sign_in(login_hint=demo.outlook_sender)
    untrusting.close()


def test_a_microsoft_sign_in_the_stand_in_cannot_approve_stops_with_the_step_and_its_reason(demo):
    stranger = OutlookSender(demo.backend_url, source_address=None, ca_bundle=demo.microsoft.ca_bundle)
    with pytest.raises(DemoError) as refused:
        stranger.sign_in(login_hint="nobody@contoso.onmicrosoft.com")
    assert str(refused.value).startswith("the Microsoft stand-in did not approve the sign-in (HTTP 200:")
    assert "No stand-in account matches 'nobody@contoso.onmicrosoft.com'" in str(refused.value)
    stranger.close()


def test_an_outlook_send_goes_through_graph_into_the_recipients_outlook_inbox_tracked(demo, http):
    message, document = sent_and_delivered(http, demo, "outlook")
    assert message["provider"] == "outlook"
    assert message["tracking"] == {"opens": True, "clicks": True, "skipped_reason": None}
    [sent] = demo.microsoft.state.sent_messages(demo.outlook_sender)
    assert sent["toRecipients"] == [{"emailAddress": {"address": demo.recipient_email,
                                                      "name": demo.recipient_email}}]
    assert message["provider_message_id"] == sent["id"]  # the immutable id the backend sent through Graph
    pixel, clicks = tracking_urls(sent["body"]["content"], demo.backend_url)
    assert len(clicks) == 2 and f'href="{demo.url}pricing' not in sent["body"]["content"]
    # The recipient's frame shows their delivered copy: the same pixel and links, nothing of the sender's copy.
    assert tracking_urls(document, demo.backend_url) == (pixel, clicks)
    assert "<script" not in document and '<base target="_blank">' in document
    assert document.count("<html") == 1  # Exchange's whole-document body is unwrapped into the frame's own
    assert demo.google.state.sent_messages() == []  # nothing went through Gmail
    [entry] = state(http, demo)["inbox"]
    assert (entry["service"], entry["mailbox"], entry["from"]) == ("outlook", demo.recipient_email, "Jordan Sender")


def test_the_recipients_open_and_click_reach_the_outlook_sender_as_human_and_never_the_gmail_sender(demo, http):
    gmail_message, _ = sent_and_delivered(http, demo, "gmail", subject="From Alex")
    outlook_message, document = sent_and_delivered(http, demo, "outlook", subject="From Jordan")
    # Each sender's panel lists only their own mail.
    assert [m["id"] for m in feed(http, demo, "gmail")["messages"]] == [gmail_message["id"]]
    assert [m["id"] for m in feed(http, demo, "outlook")["messages"]] == [outlook_message["id"]]

    pixel, _ = tracking_urls(document, demo.backend_url)
    assert http.get(pixel, headers={"User-Agent": CHROME_UA}).status_code == 200  # from the recipient's address
    click = http.get(visible_click_url(document, demo.backend_url), headers={"User-Agent": CHROME_UA},
                     allow_redirects=False)
    assert click.status_code == 302 and click.headers["Location"] == f"{demo.url}pricing?plan=pro&seats=5"

    notes = wait_until(lambda: len(n := feed(http, demo, "outlook")["notifications"]) == 2 and n)
    assert [(n["event"], n["kind"]) for n in notes] == [("click", "human"), ("open", "human")]
    assert {n["message_id"] for n in notes} == {outlook_message["id"]}
    [shown] = feed(http, demo, "outlook")["messages"]
    assert [(h["type"], h["kind"]) for h in shown["timeline"]] == [("open", "human"), ("click", "human")]
    gmail_view = feed(http, demo, "gmail")
    assert gmail_view["notifications"] == [] and gmail_view["messages"][0]["timeline"] == []
    with demo.runtime.db.session() as s:
        stored = s.scalar(select(TrackedMessage).where(TrackedMessage.public_id == outlook_message["id"]))
        assert (stored.human_open_count, stored.human_click_count) == (1, 1)


def test_a_send_the_backend_refuses_keeps_the_outlook_item_and_the_next_try_updates_it(demo, http):
    refused = send(http, demo, "outlook", idempotency_key="short")  # the API wants 8 to 128 characters
    assert refused.status_code == 502 and "idempotency_key" in refused.json()["error"]["message"]
    item_id = refused.json()["draft_id"]
    again = send(http, demo, "outlook", draft_id=item_id, subject="Pricing, again")
    assert again.status_code == 202 and again.json()["draft_id"] == item_id  # saveAsync on the same item
    assert wait_for_status(http, demo, again.json()["message"]["id"], "outlook")["status"] == "sent"
    [sent] = demo.microsoft.state.sent_messages(demo.outlook_sender)
    assert sent["subject"] == "Pricing, again"
    with demo.microsoft.state.lock:
        left = [m for m in demo.microsoft.state.mailbox(demo.outlook_sender).messages.values() if m.is_draft]
    assert left == []  # one item, updated and sent: no stray draft from the refused try


def test_the_recipient_frame_never_serves_the_outlook_senders_own_copy(demo, http):
    sent_and_delivered(http, demo, "outlook")
    [sent] = demo.microsoft.state.sent_messages(demo.outlook_sender)
    for mailbox in (demo.outlook_sender, demo.recipient_email):
        entry = {"service": "outlook", "mailbox": mailbox, "id": sent["id"]}
        assert http.get(mail_url(demo, entry)).status_code == 404


def test_an_open_from_the_senders_address_is_jordans_own(demo, http):
    _message, document = sent_and_delivered(http, demo, "outlook")
    pixel, _ = tracking_urls(document, demo.backend_url)
    # The add-in's requests came from the senders' address, so an open from there is Jordan's own.
    assert demo.sender_address == "127.0.0.2"
    from_sender = requests.Session()
    from_sender.trust_env = False
    from_sender.mount("http://", _SourceAddressAdapter(demo.sender_address))
    assert from_sender.get(pixel, headers={"User-Agent": CHROME_UA}).status_code == 200
    hit = wait_until(lambda: (h := feed(http, demo, "outlook")["messages"][0]["timeline"]) and h[0])
    assert hit["kind"] == "self" and feed(http, demo, "outlook")["notifications"] == []
    from_sender.close()
