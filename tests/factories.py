"""Small builders for rows the tests need, without going through a provider."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from mailbeacon.storage.models import Link, TrackedMessage, User


def make_message(session, *, sender="sender@example.com", recipients=("ayse@example.org",), urls=(),
                 honeypot=False, sent_seconds_ago=3600, subject="Quarterly pricing", account_id=None,
                 thread_id=None, track_opens=True) -> TrackedMessage:
    user = session.query(User).filter_by(email=sender).one_or_none()
    if user is None:
        user = User(email=sender)
        session.add(user)
        session.flush()
    sent = datetime.now(timezone.utc) - timedelta(seconds=sent_seconds_ago)
    message = TrackedMessage(user_id=user.id, account_id=account_id, provider_thread_id=thread_id, subject=subject,
                             recipients=list(recipients), track_opens=track_opens, track_clicks=bool(urls),
                             status="sent", sent_at=sent, created_at=sent)
    session.add(message)
    session.flush()
    for i, url in enumerate(urls):
        session.add(Link(message_id=message.id, position=i, url=url))
    if honeypot:
        session.add(Link(message_id=message.id, position=len(urls), url="https://honeypot.invalid/",
                         is_honeypot=True))
    session.commit()
    return message


def wait_until(predicate, timeout=15.0, interval=0.05, describe=None):
    """Poll until predicate() is truthy (returns its value) or fail after `timeout` — a bound, not a speed test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f": {describe()}" if describe is not None else ""
            raise AssertionError(f"condition not met within {timeout}s{detail}")
        time.sleep(interval)


CHROME_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/131.0.0.0 Safari/537.36")
GMAIL_PROXY_UA = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
