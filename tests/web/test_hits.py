import pytest

from mailbeacon.storage.models import Link, TrackedMessage, User
from mailbeacon.tracking import tokens
from mailbeacon.web.hits import PIXEL_GIF, location_header_value

TRICKY_URLS = [
    "https://example.com/reset?token=a%2Fb%3D&user=42",
    "https://Example.COM/Path/%7Euser/",
    "https://example.com/a?x=[1]&y={2}#frag|ment",
    "https://example.com/search?q={{first_name}}&u=%%EMAIL%%&m=*|MC_UID|*",
    "http://example.com:8080/p;param?q=a+b&r=%20",
    "https://example.com/?redirect=https%3A%2F%2Fother.example%2F",
]


@pytest.fixture
def message(session):
    user = User(email="sender@example.com")
    session.add(user)
    session.flush()
    msg = TrackedMessage(user_id=user.id, subject="Hi", recipients=["a@example.org"], track_opens=True,
                         track_clicks=True)
    session.add(msg)
    session.flush()
    for i, url in enumerate(TRICKY_URLS + ["https://bücher.example/straße?q=ü"]):
        session.add(Link(message_id=msg.id, position=i, url=url))
    session.commit()
    return msg


def click(rt, message_id, index):
    return "/c/" + tokens.sign("click", message_id, index, keyring=rt.keyring)


@pytest.mark.parametrize("index", range(len(TRICKY_URLS)))
def test_click_redirects_to_the_destination_byte_for_byte(client, rt, message, index):
    response = client.get(click(rt, message.id, index))
    assert response.status_code == 302
    assert response.headers["Location"] == TRICKY_URLS[index]
    assert "no-store" in response.headers["Cache-Control"]


def test_non_ascii_destination_is_percent_encoded_only_where_http_requires(client, rt, message):
    response = client.get(click(rt, message.id, len(TRICKY_URLS)))
    assert response.status_code == 302
    assert response.headers["Location"] == "https://b%C3%BCcher.example/stra%C3%9Fe?q=%C3%BC"


def test_click_is_never_a_permanent_redirect(client, rt, message):
    for method in ("get", "head"):
        response = getattr(client, method)(click(rt, message.id, 0))
        assert response.status_code in (302, 307)


def test_click_on_forged_token_never_redirects(client, rt, message):
    good = tokens.sign("click", message.id, 0, keyring=rt.keyring)
    forged = good[:-1] + ("A" if good[-1] != "A" else "B")
    for path in (f"/c/{forged}", "/c/" + "A" * 26, "/c/%2F%2Fevil.example", "/c//evil.example",
                 f"/c/{good}%0D%0ALocation:%20https://evil.example", f"/c/{good[:10]}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Location" not in response.headers
        assert b"not valid" in response.data


def test_click_ignores_destinations_offered_by_the_request(client, rt, message):
    response = client.get(click(rt, message.id, 0) + "?url=https://evil.example&redirect=//evil.example")
    assert response.status_code == 302
    assert response.headers["Location"] == TRICKY_URLS[0]


def test_click_token_for_a_link_that_does_not_exist_gets_404(client, rt, message):
    assert client.get(click(rt, message.id, 99)).status_code == 404
    assert client.get(click(rt, message.id + 1000, 0)).status_code == 404


def test_open_token_used_as_click_gets_404(client, rt, message):
    token = tokens.sign("open", message.id, keyring=rt.keyring)
    assert client.get(f"/c/{token}").status_code == 404


def test_pixel_is_the_43_byte_gif_uncacheable_and_cookieless(client, rt, message):
    response = client.get("/o/" + tokens.sign("open", message.id, keyring=rt.keyring))
    assert response.status_code == 200
    assert response.data == PIXEL_GIF and len(response.data) == 43
    assert response.headers["Content-Type"] == "image/gif"
    assert response.headers["Cache-Control"] == "no-store, no-cache, must-revalidate, max-age=0"
    assert "Set-Cookie" not in response.headers


def test_pixel_with_a_bad_token_still_gets_the_gif(client):
    for path in ("/o/garbage", "/o/" + "A" * 30, "/o/%00%0d%0a"):
        response = client.get(path)
        assert response.status_code == 200 and response.data == PIXEL_GIF


def test_pixel_answers_head_without_a_body(client, rt, message):
    response = client.head("/o/" + tokens.sign("open", message.id, keyring=rt.keyring))
    assert response.status_code == 200 and response.data == b""


def test_location_header_value_leaves_ascii_alone():
    assert location_header_value("https://x.example/%41[a]{b}") == "https://x.example/%41[a]{b}"
    assert location_header_value("https://x.example/a b\r\n") == "https://x.example/a%20b%0D%0A"


def test_other_paths_get_json_errors_of_one_shape(client):
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.get_json() == {"error": {"code": "not_found", "message": response.get_json()["error"]["message"]}}
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_the_honeypot_link_records_the_hit_but_redirects_nowhere(client, rt, session):
    from ..factories import make_message

    message = make_message(session, urls=["https://example.com/a"])
    session.add(Link(message_id=message.id, position=1, url="", is_honeypot=True))
    session.commit()
    response = client.get(click(rt, message.id, 1))
    assert response.status_code == 204 and "Location" not in response.headers
