"""The sender's own browser is marked at sign-in, and a click it makes on the sender's own tracked link is filed
as `self` (the issue's "the sender's own cookie on a click"), never as the recipient."""

from http.cookies import SimpleCookie

from sqlalchemy import select

from mailbeacon.config import Config
from mailbeacon.jobs import context
from mailbeacon.runtime import Runtime
from mailbeacon.storage.models import Hit, User
from mailbeacon.tracking import tokens
from mailbeacon.web.app import build_app, pipeline_of

from ..factories import CHROME_UA, make_message, wait_until
from ..gmail_support import (SENDER, callback_path, gmail_env, google, google_round_trip,  # noqa: F401
                             sign_in, start_sign_in)


def _set_cookie(response) -> SimpleCookie:
    jar = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        jar.load(header)
    return jar


def _embedded(gmail_env):  # noqa: F811
    """The backend as one process runs it (hits stored in-process), whatever this pass's queue."""
    env = {k: v for k, v in gmail_env.items() if k != "MAILBEACON_REDIS_URL"}
    rt = Runtime(Config.from_env(env))
    context.use_runtime(rt)
    return rt, build_app(runtime=rt)


def _stored_hits(rt, message_id, *, count):
    """The message's hits once the embedded worker has stored `count` of them."""
    def rows():
        with rt.db.session() as s:
            return s.execute(select(Hit.ip_prefix, Hit.kind, Hit.reason).where(Hit.message_id == message_id)).all()

    wait_until(lambda: len(rows()) == count, timeout=15)
    return rows()


def _user_id(rt, email):
    with rt.db.session() as s:
        return s.scalar(select(User.id).where(User.email == email))


def test_google_sign_in_marks_the_browser_for_click_urls_only(gmail_env):  # noqa: F811
    rt, app = _embedded(gmail_env)
    try:
        client = app.test_client()
        response, _verifier = start_sign_in(client)
        handed = client.get(callback_path(google_round_trip(response.headers["Location"])))
        assert handed.status_code == 302
        cookie = _set_cookie(handed)["mb_sender"]
        assert cookie["path"] == "/c/" and cookie["httponly"] and cookie["secure"]
        assert cookie["samesite"] == "Lax" and int(cookie["max-age"]) >= 300 * 24 * 3600
        claims = tokens.verify(cookie.value, keyring=rt.keyring, purpose="sender")
        assert claims is not None and claims.message_id == _user_id(rt, SENDER)
        # The cookie names the user and nothing else: no address, no token of the API.
        assert SENDER not in cookie.value and len(cookie.value) < 40
    finally:
        pipeline_of(app).stop()
        rt.close()


def test_a_failed_sign_in_marks_nothing(gmail_env):  # noqa: F811
    rt, app = _embedded(gmail_env)
    try:
        client = app.test_client()
        response, _verifier = start_sign_in(client)
        back = google_round_trip(response.headers["Location"])
        forged = client.get(callback_path(back.replace("state=", "state=x")))
        assert forged.status_code == 400 and "mb_sender" not in _set_cookie(forged)
    finally:
        pipeline_of(app).stop()
        rt.close()


def test_a_click_from_the_browser_that_signed_in_is_the_sender_and_from_another_is_a_person(gmail_env, session):  # noqa: F811,E501
    rt, app = _embedded(gmail_env)
    try:
        sender_browser = app.test_client()
        sign_in(sender_browser)  # the test client keeps the cookie, as the browser does
        mine = make_message(session, sender=SENDER, urls=["https://example.com/pricing"])
        path = "/c/" + tokens.sign("click", mine.id, 0, keyring=rt.keyring)
        own = sender_browser.get(path, headers={"User-Agent": CHROME_UA}, environ_base={"REMOTE_ADDR": "198.51.100.70"})
        assert own.status_code == 302
        recipient = app.test_client().get(path, headers={"User-Agent": CHROME_UA},
                                          environ_base={"REMOTE_ADDR": "203.0.113.80"})
        assert recipient.status_code == 302

        by_ip = {row.ip_prefix: row for row in _stored_hits(rt, mine.id, count=2)}
        assert by_ip["198.51.100.0/24"].kind == "self" and "cookie" in by_ip["198.51.100.0/24"].reason
        assert by_ip["203.0.113.0/24"].kind == "human"
    finally:
        pipeline_of(app).stop()
        rt.close()


def test_the_cookie_of_one_sender_does_not_make_their_click_on_someone_elses_mail_self(gmail_env, session):  # noqa: F811,E501
    rt, app = _embedded(gmail_env)
    try:
        browser = app.test_client()
        sign_in(browser)
        theirs = make_message(session, sender="colleague@example.com", urls=["https://example.com/x"])
        browser.get("/c/" + tokens.sign("click", theirs.id, 0, keyring=rt.keyring),
                    headers={"User-Agent": CHROME_UA}, environ_base={"REMOTE_ADDR": "198.51.100.71"})

        assert [row.kind for row in _stored_hits(rt, theirs.id, count=1)] == ["human"]
    finally:
        pipeline_of(app).stop()
        rt.close()
