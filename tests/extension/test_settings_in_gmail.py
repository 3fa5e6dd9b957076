"""Account settings made on the options page reach every Gmail tab at once: a kind of tracking turned off hides its
toggle, and new defaults are where new compose windows start."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..factories import wait_until
from .gmail_steps import api, open_compose

pytestmark = pytest.mark.browser


def set_setting(signed_in, name: str, on: bool) -> None:
    signed_in["options"].bring_to_front()  # a background tab gets no animation frames, and clicks wait for them
    box = signed_in["options"].locator(f'[data-setting="{name}"]')
    if box.is_checked() != on:
        box.click()
    section, key = name.split(".")
    wait_until(lambda: api(signed_in, "GET", "/api/v1/settings")[section][key] is on)
    expect(box).to_be_checked(checked=on)


def test_settings_from_the_options_page_shape_the_compose_toggles(signed_in, gmail):
    options = signed_in["options"]
    options.reload()
    options.locator("#settings").wait_for()
    try:
        set_setting(signed_in, "tracking.clicks", False)
        set_setting(signed_in, "composer_defaults.track_opens", False)

        gmail.bring_to_front()
        compose = open_compose(gmail)
        assert compose.locator('[data-mb-toggle="clicks"]').is_hidden()
        opens = compose.locator('[data-mb-toggle="opens"]')
        assert opens.is_visible() and opens.get_attribute("aria-checked") == "false"
    finally:
        set_setting(signed_in, "tracking.clicks", True)
        set_setting(signed_in, "composer_defaults.track_opens", True)
    # Turned back on: the open window shows the toggle again, without a reload.
    gmail.bring_to_front()
    expect(compose.locator('[data-mb-toggle="clicks"]')).to_be_visible()
