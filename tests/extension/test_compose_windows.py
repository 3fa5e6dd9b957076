"""Compose windows in a real Chromium: toggles off leave Send to Gmail; a failed tracked send says why and sends
untracked on request; several windows at once and inline replies each get their own toggles; Ctrl+Enter is
taken over too; and a compose window Gmail built differently is left entirely to Gmail."""

from __future__ import annotations

import pytest

from ..factories import wait_until
from .conftest import SENDER, screenshot
from .gmail_steps import fill_compose, open_compose, sent_html, sent_with_subject, tracked_messages

pytestmark = pytest.mark.browser


def test_with_both_toggles_off_gmail_sends_as_usual(signed_in, gmail, google):
    fake, rt, base = signed_in["fake"], signed_in["rt"], signed_in["base"]
    native_before = len(fake.native_sends)
    compose = open_compose(gmail)
    fill_compose(compose, subject="Untracked hello")
    for kind in ("opens", "clicks"):
        toggle = compose.locator(f'[data-mb-toggle="{kind}"]')
        toggle.click()
        assert toggle.get_attribute("aria-checked") == "false"
    compose.locator("div.T-I.aoO").click()
    compose.wait_for(state="detached")
    assert len(fake.native_sends) == native_before + 1
    [sent] = sent_with_subject(google, "Untracked hello")
    assert f"{base}/o/" not in sent_html(sent.raw)
    assert tracked_messages(rt, "Untracked hello") == []


def test_a_failed_tracked_send_says_why_and_can_send_without_tracking(signed_in, gmail, google):
    fake, base = signed_in["fake"], signed_in["base"]
    compose = open_compose(gmail)
    fill_compose(compose, subject="Lost draft")
    wait_until(lambda: (compose.locator('input[name="draft"]').get_attribute("value") or "").startswith("#msg-a:"))
    draft_id = compose.locator('input[name="draft"]').get_attribute("value").removeprefix("#msg-a:")
    with google.state.lock:  # Gmail's server loses the draft behind the page's back
        google.state.mailbox(SENDER).delete_draft(draft_id)

    compose.locator("div.T-I.aoO").click()
    failure = compose.locator(".mb-send-failure[role='alert']")
    failure.wait_for()
    assert "Gmail no longer has this draft" in failure.inner_text()
    assert compose.locator('div.Am[contenteditable="true"]').inner_text().startswith("Hi Sam"), \
        "the message is still there, editable"
    screenshot(gmail, "05-send-failed")
    assert sent_with_subject(google, "Lost draft") == []

    native_before = len(fake.native_sends)
    failure.get_by_role("button", name="Send without tracking").click()
    compose.wait_for(state="detached")
    assert len(fake.native_sends) == native_before + 1
    [sent] = sent_with_subject(google, "Lost draft")
    assert f"{base}/o/" not in sent_html(sent.raw)


def test_every_compose_window_has_its_own_toggles_and_ctrl_enter_sends_tracked(signed_in, gmail, google):
    base = signed_in["base"]
    first = open_compose(gmail)
    fill_compose(first, subject="Stays open")
    second = open_compose(gmail)
    fill_compose(second, subject="Sent with the keyboard")
    first.locator('[data-mb-toggle="clicks"]').click()  # one window's choice is not another's
    assert second.locator('[data-mb-toggle="clicks"]').get_attribute("aria-checked") == "true"
    screenshot(gmail, "06-two-compose-windows")

    second.locator('div.Am[contenteditable="true"]').press("Control+Enter")
    second.wait_for(state="detached")
    [sent] = sent_with_subject(google, "Sent with the keyboard")
    assert f"{base}/o/" in sent_html(sent.raw)
    assert first.is_visible() and first.locator('[data-mb-toggle="clicks"]').get_attribute("aria-checked") == "false"

    # An inline reply in the conversation that was just sent gets toggles of its own.
    gmail.evaluate(f"location.hash = '#sent/{sent.thread_id}'")
    gmail.locator("span.ams.bkH").click()
    reply = gmail.locator(".ip.adB")
    reply.locator(".mb-toggles [data-mb-toggle='opens']").wait_for()
    assert reply.locator("[data-mb-toggle]").count() == 2
    screenshot(gmail, "07-inline-reply-toggles")

    # The first window, by keyboard on its Send button: tracked with its own choice (opens only).
    first.locator('div.Am[contenteditable="true"]').evaluate(
        "el => { el.innerHTML = 'See <a href=\"https://example.com/a\">this</a>.'; "
        "el.dispatchEvent(new Event('input', {bubbles: true})); }")
    first.locator("div.T-I.aoO").focus()
    gmail.keyboard.press("Enter")
    first.wait_for(state="detached")
    [kept] = sent_with_subject(google, "Stays open")
    html = sent_html(kept.raw)
    assert f"{base}/o/" in html and f"{base}/c/" not in html and 'href="https://example.com/a"' in html


def test_a_compose_window_gmail_built_differently_is_left_to_gmail(signed_in, google):
    # Gmail without the hidden draft input: the extension can't know the draft, so it adds nothing and steps aside.
    page = signed_in["context"].new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto("https://mail.google.com/mail/u/0/?variant=no-draft-input#inbox")
    page.wait_for_selector(".mb-nav-tracked")
    native_before = len(signed_in["fake"].native_sends)
    compose = open_compose(page, decorated=False)
    fill_compose(compose, subject="Gmail changed")
    open_compose(page, decorated=False)  # a second one: still one log line
    compose.locator("div.T-I.aoO").click()
    compose.wait_for(state="detached")
    assert page.locator(".mb-toggles").count() == 0
    assert len(signed_in["fake"].native_sends) == native_before + 1
    assert sent_with_subject(google, "Gmail changed")
    missing = [line for line in console if "[mailbeacon]" in line and "draftInput" in line]
    assert len(missing) == 1, console
    page.close()
