"""run_demo(): the stand-ins, the backend and its worker, the signed-in senders and the page, over real sockets.

The Gmail sender's story is told here, and what both senders share (the page, its security, stopping); the
Outlook sender's is in test_demo_outlook.py."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from mailbeacon.demo import DemoError, run_demo
from mailbeacon.demo.feed import ApiFeed
from mailbeacon.demo.sender import GmailSender, _SourceAddressAdapter
from mailbeacon.demo.standins import DEMO_EXTENSION_ID
from mailbeacon.services.record_hits import sender_ip_hash
from mailbeacon.storage.models import ApiToken, Link, MailAccount, SenderActivity, TrackedMessage

from ..factories import CHROME_UA, wait_until
from .support import feed, mail_url, send, sent_and_delivered, state, tracking_urls, visible_click_url, wait_for_status


def test_the_demo_signs_its_gmail_sender_in_through_the_real_google_flow(demo, http):
    page = http.get(demo.url)
    assert page.status_code == 200 and "Alex Sender" in page.text and 'id="compose-form"' in page.text
    assert re.findall(r'name="send_as" type="radio" value="(\w+)"', page.text) == ["gmail", "outlook"]
    # No external assets, no inline script: the page works offline and runs only its own code.
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self';")
    assert re.findall(r'(?:src|href)="([^"]+)"', page.text) == ["/static/demo.css", "/static/demo.js"]
    config = demo.runtime.config
    assert config.public_url == demo.backend_url and DEMO_EXTENSION_ID in config.extension_ids
    assert config.embedded_queue
    with demo.runtime.db.session() as s:
        account = s.scalar(select(MailAccount).where(MailAccount.address == demo.gmail_sender))
        assert account.provider == "gmail" and account.status == "connected"
        assert account.encrypted_secret.startswith("v1.")
        [token] = s.scalars(select(ApiToken).where(ApiToken.user_id == account.user_id)).all()
        assert token.client == "extension" and token.revoked_at is None
    # The stand-in granted its consent to the demo's own OAuth client, as Google would.
    assert any(c["name"] == "mailbeacon demo" for c in demo.google.state.describe()["clients"])


def test_a_sign_in_the_backend_refuses_stops_with_the_step_and_its_reason(demo):
    stranger = GmailSender(demo.backend_url, source_address=None, extension_id="a" * 32)
    with pytest.raises(DemoError) as refused:
        stranger.sign_in(login_hint=demo.gmail_sender)
    assert str(refused.value) == ("the backend did not start the Google sign-in (HTTP 400: Sign-in could not start "
                                  "redirect_uri is not one of this server's registered clients)")
    stranger.close()


def test_a_send_goes_out_tracked_through_the_stand_in_into_the_recipients_inbox(demo, http):
    message, document = sent_and_delivered(http, demo)
    assert message["tracking"] == {"opens": True, "clicks": True, "skipped_reason": None}
    assert message["wording"] == "Not opened yet (as far as a pixel can tell)."
    [sent] = demo.google.state.sent_messages()
    assert sent.sender == demo.gmail_sender and sent.recipients == (demo.recipient_email,)
    html = email.message_from_bytes(sent.raw, policy=email.policy.default).get_body(("html",)).get_content()
    pixel, clicks = tracking_urls(html, demo.backend_url)
    assert pixel and len(clicks) == 2  # the person's link and the hidden trap link
    assert f"{demo.url}pricing" not in re.sub(r">[^<]*<", "><", html)  # no href left pointing straight at it
    with demo.runtime.db.session() as s:
        urls = [link.url for link in s.scalars(select(Link).order_by(Link.position)) if not link.is_honeypot]
    assert urls == [f"{demo.url}pricing?plan=pro&seats=5"]  # stored as written: no &amp;, no "(see"
    assert tracking_urls(document, demo.backend_url) == (pixel, clicks)  # the recipient got what was sent
    assert "<script" not in document and '<base target="_blank">' in document


def test_the_senders_requests_reach_the_backend_from_the_senders_own_address(demo, http):
    sent_and_delivered(http, demo)
    assert demo.sender_address == "127.0.0.2"
    with demo.runtime.db.session() as s:
        hashes = set(s.scalars(select(SenderActivity.ip_hash)).all())
    assert hashes == {sender_ip_hash(demo.runtime, "127.0.0.2")}


def test_every_hit_shows_the_classifiers_verdict_and_only_a_persons_hits_notify(demo, http):
    message, document = sent_and_delivered(http, demo)
    pixel, _ = tracking_urls(document, demo.backend_url)
    assert http.get(pixel, headers={"User-Agent": "python-requests/2.32"}).status_code == 200
    assert http.get(pixel, headers={"User-Agent": CHROME_UA}).status_code == 200
    click = http.get(visible_click_url(document, demo.backend_url), headers={"User-Agent": CHROME_UA},
                     allow_redirects=False)
    assert click.status_code == 302 and click.headers["Location"] == f"{demo.url}pricing?plan=pro&seats=5"

    def three_hits():
        messages = feed(http, demo)["messages"]
        return len(messages[0]["timeline"]) == 3 and messages[0]
    shown = wait_until(three_hits)
    timeline = shown["timeline"]
    assert [(h["type"], h["kind"]) for h in timeline] == [("open", "scanner"), ("open", "human"), ("click", "human")]
    assert "automated client" in timeline[0]["reason"] and "Chrome" in timeline[1]["reason"]
    assert timeline[2]["url"] == f"{demo.url}pricing?plan=pro&seats=5"
    assert (shown["opens"]["count"], shown["opens"]["machine_count"], shown["clicks"]["count"]) == (1, 1, 1)
    notes = wait_until(lambda: len(n := feed(http, demo)["notifications"]) == 2 and n)
    assert [(n["event"], n["kind"]) for n in notes] == [("click", "human"), ("open", "human")]
    assert notes[0]["recipients"] == [demo.recipient_email] and notes[0]["message_id"] == message["id"]
    # The feed says exactly what the database holds.
    with demo.runtime.db.session() as s:
        stored = s.scalar(select(TrackedMessage))
        assert (stored.human_open_count, stored.machine_open_count, stored.human_click_count) == (1, 1, 1)


def test_the_feed_refreshes_at_most_once_a_second_and_keeps_the_last_view_when_the_api_fails(demo, http):
    client = GmailSender(demo.backend_url, source_address=demo.sender_address, extension_id=DEMO_EXTENSION_ID)
    client.sign_in(login_hint=demo.gmail_sender)
    now = [100.0]
    feed = ApiFeed(client, clock=lambda: now[0])
    assert feed.snapshot() == {"messages": [], "notifications": []}
    sent_and_delivered(http, demo)
    assert feed.snapshot()["messages"] == []  # every tab polling within the same second shares one refresh
    now[0] += 1.0
    [message] = feed.snapshot()["messages"]
    assert message["status"] == "sent" and message["timeline"] == []
    with demo.runtime.db.transaction() as s:
        for token in s.scalars(select(ApiToken)):
            token.revoked_at = token.created_at
    now[0] += 1.0
    stale = feed.snapshot()
    assert stale["messages"] == [message] and "not valid" in stale["error"]
    client.close()


def test_an_open_from_the_senders_own_address_is_called_the_senders_own(demo, http):
    _message, document = sent_and_delivered(http, demo)
    pixel, _ = tracking_urls(document, demo.backend_url)
    from_sender = requests.Session()
    from_sender.trust_env = False
    from_sender.mount("http://", _SourceAddressAdapter(demo.sender_address))
    assert from_sender.get(pixel, headers={"User-Agent": CHROME_UA}).status_code == 200
    hit = wait_until(lambda: (h := feed(http, demo)["messages"][0]["timeline"]) and h[0])
    assert hit["kind"] == "self" and "sender's own" in hit["reason"]
    assert feed(http, demo)["notifications"] == []


def test_with_both_toggles_off_the_mail_goes_out_untracked(demo, http):
    queued = send(http, demo, track_opens=False, track_clicks=False)
    message = wait_for_status(http, demo, queued.json()["message"]["id"])
    assert message["status"] == "sent" and message["tracking"]["opens"] is False
    [sent] = demo.google.state.sent_messages()
    assert b"/o/" not in sent.raw and b"/c/" not in sent.raw


@pytest.mark.parametrize("form, wording", [
    ({"body": "   "}, "empty body"),
    ({"to": "sam at example"}, "not an email address"),
    ({"to": ""}, "Add a recipient"),
    ({"send_as": "yahoo"}, "Choose who sends it: gmail or outlook"),
])
def test_a_compose_the_backend_could_not_send_is_refused_with_a_reason(demo, http, form, wording):
    refused = send(http, demo, **form)
    assert refused.status_code == 400 and wording in refused.json()["error"]["message"]
    assert feed(http, demo)["messages"] == [] and demo.google.state.sent_messages() == []


def test_a_failed_send_is_reported_and_the_next_try_updates_the_same_draft(demo, http):
    demo.google.state.revoke_grant(demo.gmail_sender)
    first = send(http, demo).json()
    failed = wait_for_status(http, demo, first["message"]["id"])
    assert failed["status"] == "failed" and failed["status_detail"].lower().startswith("reconnect")
    # The backend now knows the account is disconnected and refuses at once, saying so.
    again = send(http, demo, draft_id=first["draft_id"], subject="Pricing, again")
    assert again.status_code == 502 and "reconnect" in again.json()["error"]["message"].lower()
    assert again.json()["draft_id"] == first["draft_id"]
    with demo.google.state.lock:
        drafts = demo.google.state.mailbox(demo.gmail_sender).drafts
        assert list(drafts) == [first["draft_id"]]
        assert b"Subject: Pricing, again" in drafts[first["draft_id"]].message.raw


def test_the_recipient_frame_serves_only_delivered_mail_under_a_locked_down_policy(demo, http):
    _message, _document = sent_and_delivered(http, demo)
    [entry] = state(http, demo)["inbox"]
    shown = http.get(mail_url(demo, entry))
    policy = shown.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox allow-popups" in policy and "script-src" not in policy
    [sent_copy] = demo.google.state.messages(demo.gmail_sender, "in:sent")
    assert http.get(demo.url + f"demo/mail/gmail/{demo.gmail_sender}/{sent_copy.id}").status_code == 404
    assert http.get(demo.url + f"demo/mail/gmail/{entry['mailbox']}/0123456789abcdef").status_code == 404
    assert http.get(demo.url + f"demo/mail/outlook/{entry['mailbox']}/{entry['id']}").status_code == 404


def test_only_the_demos_own_origin_can_drive_its_senders(demo, http):
    for sender in ("gmail", "outlook"):
        forged_origin = http.post(demo.url + "demo/send", headers={"Origin": "http://evil.example"},
                                  json={"send_as": sender, "to": demo.recipient_email, "subject": "x", "body": "y"})
        assert forged_origin.status_code == 403
    rebound = http.get(demo.url + "demo/state", headers={"Host": "evil.example"})
    assert rebound.status_code == 421
    with demo.runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(TrackedMessage)) == 0


def _refused(url: str) -> bool:
    host, port = url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return True
    return False


def test_stop_closes_every_server_and_removes_the_temporary_data():
    handle = run_demo()
    ca_bundle = Path(handle.microsoft.ca_bundle)
    assert handle.workdir.exists() and ca_bundle.is_file()
    assert handle.microsoft_url.startswith("https://")
    handle.stop()
    assert not handle.workdir.exists() and not ca_bundle.parent.exists()  # the TLS stand-in's CA is gone too
    assert all(_refused(url) for url in (handle.url, handle.backend_url, handle.google_url, handle.microsoft_url))
    handle.stop()  # twice is harmless


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_wildcard_host_is_refused_because_no_browser_can_open_it(host):
    with pytest.raises(DemoError, match="not an address a browser can open"):
        run_demo(host=host)
