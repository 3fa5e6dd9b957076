"""Driving a running demo over HTTP as its page does: send as one of its senders, read the state, open a mail."""

from __future__ import annotations

import re

from ..factories import wait_until

BODY = "Hi Sam,\n\nThe new prices: {url}pricing?plan=pro&seats=5 (see there).\n\n{signature}"
SIGNATURES = {"gmail": "Alex", "outlook": "Jordan"}


def send(http, demo, send_as: str = "gmail", **overrides):
    form = {"send_as": send_as, "to": demo.recipient_email, "subject": "Pricing for next quarter",
            "body": BODY.format(url=demo.url, signature=SIGNATURES.get(send_as, "")), "track_opens": True,
            "track_clicks": True, **overrides}
    return http.post(demo.url + "demo/send", json=form)


def state(http, demo) -> dict:
    response = http.get(demo.url + "demo/state")
    assert response.status_code == 200
    return response.json()


def feed(http, demo, sender: str = "gmail") -> dict:
    """What one sender's panel shows: that sender's messages and notifications, read with their own token."""
    return state(http, demo)["senders"][sender]


def wait_for_status(http, demo, public_id: str, sender: str = "gmail") -> dict:
    def finished():
        found = [m for m in feed(http, demo, sender)["messages"] if m["id"] == public_id]
        return found and found[0]["status"] in ("sent", "failed") and found[0]
    return wait_until(finished, timeout=30)


def mail_url(demo, entry: dict) -> str:
    return demo.url + f"demo/mail/{entry['service']}/{entry['mailbox']}/{entry['id']}"


def sent_and_delivered(http, demo, send_as: str = "gmail", **overrides) -> tuple[dict, str]:
    """Send the default message as one sender; return its feed entry and the recipient's delivered HTML."""
    queued = send(http, demo, send_as, **overrides)
    assert queued.status_code == 202, queued.text
    message = wait_for_status(http, demo, queued.json()["message"]["id"], send_as)
    assert message["status"] == "sent", message
    subject = overrides.get("subject", "Pricing for next quarter")
    [entry] = [e for e in state(http, demo)["inbox"] if e["service"] == send_as and e["subject"] == subject]
    document = http.get(mail_url(demo, entry))
    assert document.status_code == 200
    return message, document.text


def tracking_urls(document: str, backend_url: str) -> tuple[str, list[str]]:
    [pixel] = re.findall(re.escape(backend_url) + r"/o/[A-Za-z0-9_-]+", document)
    clicks = re.findall(r'href="(' + re.escape(backend_url) + r'/c/[A-Za-z0-9_-]+)"', document)
    return pixel, clicks


def visible_click_url(document: str, backend_url: str) -> str:
    # The honeypot link sits in a hidden block after the text; the person's link is the first one.
    return tracking_urls(document, backend_url)[1][0]
