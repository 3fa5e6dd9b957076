"""Genuine tokens edited by hand and sent to the real app: a token signed for one message, link or purpose is good for
that one only. Each edit keeps the signature as it was and re-encodes the token canonically, which is all an
attacker holding one real token can do."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from mailbeacon.storage.models import Hit
from mailbeacon.tracking import tokens
from mailbeacon.web.app import pipeline_of
from mailbeacon.web.hits import PIXEL_GIF

from ..factories import CHROME_UA, make_message, wait_until

MAC_BYTES = 12  # the layout in tracking/tokens.py: header, key id, varint message id, [varint link index], MAC


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def edited(token: str, *, message_id: int | None = None, link_index: int | None = None) -> str:
    raw = _raw(token)
    payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    header = payload[:2]
    old_message, pos = _read_varint(payload, 2)
    fields = [old_message if message_id is None else message_id]
    if pos < len(payload):  # a click token's link index
        old_link, pos = _read_varint(payload, pos)
        fields.append(old_link if link_index is None else link_index)
    assert pos == len(payload)
    new_payload = header + b"".join(_varint(f) for f in fields)
    return base64.urlsafe_b64encode(new_payload + mac).rstrip(b"=").decode("ascii")


@pytest.fixture
def two_messages(session):
    a = make_message(session, urls=["https://example.com/a0", "https://example.com/a1"])
    b = make_message(session, sender="other@example.com", urls=["https://example.com/b0"])
    return a, b


def hits_of(rt, message) -> int:
    with rt.db.session() as s:
        return s.scalar(select(func.count()).select_from(Hit).where(Hit.message_id == message.id))


def wait_for_a_genuine_open(client, rt, app, message) -> None:
    """Send one genuine open after the requests under test and wait until it is stored: the embedded pipeline works
    its spool in order, so whatever the earlier requests handed on is stored by then too."""
    assert client.get("/o/" + tokens.sign("open", message.id, keyring=rt.keyring),
                      headers={"User-Agent": CHROME_UA}).status_code == 200
    pipeline = pipeline_of(app)
    wait_until(lambda: hits_of(rt, message) >= 1 and pipeline.spool.size() == 0)


def test_the_edit_helper_makes_a_token_of_the_right_shape(rt, two_messages):
    # The attacks below mean something only if an edit changes just the field it names.
    a, b = two_messages
    token = tokens.sign("click", a.id, 0, keyring=rt.keyring)
    assert edited(token) == token
    for edit in (edited(token, message_id=b.id), edited(token, link_index=1)):
        assert edit != token
        assert _raw(edit)[-MAC_BYTES:] == _raw(token)[-MAC_BYTES:]
    assert _raw(edited(token, message_id=b.id))[:2] == _raw(token)[:2]  # same version, purpose and key id


def test_a_click_token_edited_to_name_another_message_never_redirects_and_records_nothing(client, app, rt,
                                                                                          two_messages):
    a, b = two_messages
    swapped = edited(tokens.sign("click", a.id, 0, keyring=rt.keyring), message_id=b.id)
    response = client.get("/c/" + swapped, headers={"User-Agent": CHROME_UA})
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert b"not valid" in response.data
    wait_for_a_genuine_open(client, rt, app, a)
    assert hits_of(rt, b) == 0
    assert hits_of(rt, a) == 1


def test_a_click_token_edited_to_name_another_link_gets_404_and_records_nothing(client, app, rt, two_messages):
    a, _ = two_messages
    other_link = edited(tokens.sign("click", a.id, 0, keyring=rt.keyring), link_index=1)
    response = client.get("/c/" + other_link, headers={"User-Agent": CHROME_UA})
    assert response.status_code == 404
    assert "Location" not in response.headers
    wait_for_a_genuine_open(client, rt, app, a)
    assert hits_of(rt, a) == 1


def test_an_open_token_sent_to_the_click_path_gets_404_and_records_nothing(client, app, rt, two_messages):
    a, b = two_messages
    response = client.get("/c/" + tokens.sign("open", b.id, keyring=rt.keyring), headers={"User-Agent": CHROME_UA})
    assert response.status_code == 404
    assert "Location" not in response.headers
    wait_for_a_genuine_open(client, rt, app, a)
    assert hits_of(rt, b) == 0


def test_a_click_token_sent_to_the_pixel_path_gets_the_gif_and_records_nothing(client, app, rt, two_messages):
    a, b = two_messages
    response = client.get("/o/" + tokens.sign("click", b.id, 0, keyring=rt.keyring), headers={"User-Agent": CHROME_UA})
    assert response.status_code == 200
    assert response.data == PIXEL_GIF
    wait_for_a_genuine_open(client, rt, app, a)
    assert hits_of(rt, b) == 0
