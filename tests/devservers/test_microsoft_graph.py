"""Graph mail through plain requests over TLS: drafts, sending, ids, headers, $filter, faults."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
from mailbeacon.devservers.microsoft import serve_microsoft_standin

WORK = "sam.seller@contoso.onmicrosoft.com"
RECIPIENT = "rita.recipient@fabrikam.onmicrosoft.com"
IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}
HEADER_ID = "String {00020386-0000-0000-C000-000000000046} Name X-Mailbeacon-Id"


@pytest.fixture(scope="module")
def running():
    with serve_microsoft_standin() as standin:
        yield standin


@pytest.fixture
def ms(running):
    running.state.reset()
    return running


class Graph:
    """A thin Graph client: a bearer token, the stand-in's CA, and the base URL."""

    def __init__(self, ms, token: str) -> None:
        self.base = ms.graph_url
        self.session = ms.http_session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        url = path if path.startswith("https://") else f"{self.base}{path}"
        return self.session.request(method, url, **kwargs)


@pytest.fixture
def graph(ms) -> Graph:
    return Graph(ms, ms.state.mint_access_token(WORK))


def draft_payload(**overrides):
    payload = {
        "subject": "Pricing",
        "body": {"contentType": "html", "content": "<p>Hello <a href='https://example.com/?a=1&amp;b=2'>x</a></p>"},
        "toRecipients": [{"emailAddress": {"address": RECIPIENT, "name": "Rita"}}],
    }
    payload.update(overrides)
    return payload


def create_draft(graph: Graph, headers=None, **overrides) -> dict:
    response = graph("POST", "/me/messages", json=draft_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def header_filter(value: str) -> str:
    return f"singleValueExtendedProperties/Any(ep: ep/id eq '{HEADER_ID}' and ep/value eq '{value}')"


def test_me_answers_the_user_the_token_was_issued_to(ms, graph):
    me = graph("GET", "/me").json()

    assert me["userPrincipalName"] == WORK
    assert me["id"] == ms.state.user(WORK).oid
    assert me["displayName"] == "Sam Seller"


@pytest.mark.parametrize("kind", ["missing", "expired", "sso-audience", "forged"])
def test_requests_without_a_good_graph_token_get_401_with_a_challenge(ms, kind):
    tokens = {
        "missing": "",
        "expired": ms.state.mint_access_token(WORK, lifetime=60),
        "sso-audience": ms.state.mint_sso_token(WORK).token,
        "forged": ms.state.mint_sso_token(WORK, forged=True, audience="00000003-0000-0000-c000-000000000000").token,
    }
    if kind == "expired":
        ms.state.clock.advance(61)

    response = Graph(ms, tokens[kind])("GET", "/me/messages")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_token_without_a_mail_permission_gets_403_access_denied(ms):
    graph = Graph(ms, ms.state.mint_access_token(WORK, scopes=["User.Read"]))

    response = graph("GET", "/me/messages")

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "ErrorAccessDenied"
    assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])


def test_with_immutable_ids_a_draft_keeps_its_id_through_patch_and_send(ms, graph):
    draft = create_draft(graph, headers=IMMUTABLE)
    message_id = draft["id"]
    assert draft["isDraft"] is True

    patched = graph("PATCH", f"/me/messages/{message_id}", headers=IMMUTABLE, json={
        "subject": "Pricing (tracked)",
        "body": {"contentType": "html", "content": "<p>tracked body<img src='https://t.example/o/x'></p>"},
        "categories": ["Tracked"],
    })
    assert patched.status_code == 200, patched.text
    sent = graph("POST", f"/me/messages/{message_id}/send")
    assert sent.status_code == 202 and sent.content == b""

    after = graph("GET", f"/me/messages/{message_id}", headers=IMMUTABLE)
    assert after.status_code == 200
    body = after.json()
    assert after.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    assert body["id"] == message_id
    assert body["isDraft"] is False and body["sentDateTime"]
    assert body["parentFolderId"] == graph("GET", "/me/mailFolders/sentitems").json()["id"]
    assert body["subject"] == "Pricing (tracked)" and body["categories"] == ["Tracked"]
    assert "tracked body" in body["body"]["content"]


def test_without_immutable_ids_sending_gives_the_message_a_new_id(ms, graph):
    draft = create_draft(graph)
    assert graph("POST", f"/me/messages/{draft['id']}/send").status_code == 202

    old = graph("GET", f"/me/messages/{draft['id']}")
    sent = graph("GET", "/me/mailFolders/sentitems/messages").json()["value"]

    assert old.status_code == 404
    assert old.json()["error"]["code"] == "ErrorItemNotFound"
    assert len(sent) == 1
    assert sent[0]["id"] != draft["id"]
    assert sent[0]["internetMessageId"] == draft["internetMessageId"]


def test_html_bodies_come_back_normalised_the_way_exchange_stores_them(ms, graph):
    draft = create_draft(graph)

    content = graph("GET", f"/me/messages/{draft['id']}").json()["body"]["content"]

    assert content.startswith("<html><head>")
    assert "<p>Hello <a href='https://example.com/?a=1&amp;b=2'>x</a></p>" in content


def test_select_returns_only_what_was_asked_plus_the_id(ms, graph):
    draft = create_draft(graph)

    body = graph("GET", f"/me/messages/{draft['id']}", params={"$select": "subject,toRecipients"}).json()

    assert set(body) == {"@odata.context", "@odata.etag", "id", "subject", "toRecipients"}


def test_selecting_an_unknown_property_is_a_400(ms, graph):
    draft = create_draft(graph)

    response = graph("GET", f"/me/messages/{draft['id']}", params={"$select": "subject,nonsense"})

    assert response.status_code == 400
    assert "nonsense" in response.json()["error"]["message"]


def test_custom_headers_of_a_draft_survive_sending_beside_the_standard_ones(ms, graph):
    draft = create_draft(graph, headers=IMMUTABLE,
                         internetMessageHeaders=[{"name": "X-Mailbeacon-Id", "value": "m-123"}])
    graph("POST", f"/me/messages/{draft['id']}/send")

    sent = graph("GET", f"/me/messages/{draft['id']}", headers=IMMUTABLE,
                 params={"$select": "internetMessageHeaders"}).json()
    headers = {h["name"]: h["value"] for h in sent["internetMessageHeaders"]}

    assert headers["X-Mailbeacon-Id"] == "m-123"
    assert headers["Message-ID"] == draft["internetMessageId"]
    assert RECIPIENT in headers["To"]


def test_graph_refuses_a_custom_header_without_the_x_prefix(ms, graph):
    response = graph("POST", "/me/messages", json=draft_payload(
        internetMessageHeaders=[{"name": "Tracking", "value": "1"}]))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidInternetMessageHeader"


def test_an_extended_property_patch_adds_an_internet_header_to_an_existing_draft(ms, graph):
    draft = create_draft(graph, headers=IMMUTABLE)
    patched = graph("PATCH", f"/me/messages/{draft['id']}",
                    json={"singleValueExtendedProperties": [{"id": HEADER_ID, "value": "m-456"}]})
    assert patched.status_code == 200
    graph("POST", f"/me/messages/{draft['id']}/send")

    expanded = graph("GET", f"/me/messages/{draft['id']}", headers=IMMUTABLE, params={
        "$expand": f"singleValueExtendedProperties($filter=id eq '{HEADER_ID}')",
        "$select": "internetMessageHeaders",
    }).json()

    assert expanded["singleValueExtendedProperties"] == [
        {"id": "String {00020386-0000-0000-c000-000000000046} Name X-Mailbeacon-Id", "value": "m-456"}
    ]
    assert {"name": "X-Mailbeacon-Id", "value": "m-456"} in expanded["internetMessageHeaders"]


def test_the_extended_property_filter_finds_a_natively_sent_message(ms, graph):
    ms.state.simulate_native_send(WORK, subject="other", to=[RECIPIENT], html="<p>a</p>",
                                  headers={"X-Mailbeacon-Id": "m-other"})
    wanted = ms.state.simulate_native_send(WORK, subject="tracked", to=[RECIPIENT], html="<p>b</p>",
                                           headers={"X-Mailbeacon-Id": "m-789"})

    found = graph("GET", "/me/mailFolders/sentitems/messages", headers=IMMUTABLE,
                  params={"$filter": header_filter("m-789"), "$select": "subject,internetMessageId"}).json()

    assert [m["id"] for m in found["value"]] == [wanted.immutable_id]
    assert found["value"][0]["subject"] == "tracked"


def test_a_natively_sent_copy_shows_up_only_once_outlook_has_synced_it(ms, graph):
    ms.state.simulate_native_send(WORK, subject="later", to=[RECIPIENT], html="<p>b</p>",
                                  headers={"X-Mailbeacon-Id": "m-late"}, visible_after_lists=2)
    params = {"$filter": header_filter("m-late")}

    seen = [len(graph("GET", "/me/mailFolders/sentitems/messages", params=params).json()["value"]) for _ in range(3)]

    assert seen == [0, 0, 1]


def test_internet_message_id_filter_finds_the_sent_copy(ms, graph):
    sent = ms.state.simulate_native_send(WORK, subject="hi", to=[RECIPIENT], text="plain",
                                         internet_message_id="<abc'1@example.com>")

    found = graph("GET", "/me/mailFolders/sentitems/messages",
                  params={"$filter": "internetMessageId eq '<abc''1@example.com>'"}).json()["value"]

    assert [m["internetMessageId"] for m in found] == [sent.internet_message_id]


def test_drafts_and_sent_items_list_only_their_own_messages(ms, graph):
    draft = create_draft(graph, subject="still a draft")
    ms.state.simulate_native_send(WORK, subject="gone out", to=[RECIPIENT], text="x")

    drafts = graph("GET", "/me/mailFolders/drafts/messages").json()["value"]
    sent = graph("GET", "/me/mailFolders/sentitems/messages").json()["value"]

    assert [m["id"] for m in drafts] == [draft["id"]]
    assert [m["subject"] for m in sent] == ["gone out"]


def test_paging_follows_next_links_until_every_message_was_seen(ms, graph):
    created = {create_draft(graph, subject=f"draft {n}", headers=IMMUTABLE)["id"] for n in range(7)}
    seen, url, pages = [], "/me/mailFolders/drafts/messages?$top=3&$select=subject", 0

    while url:
        page = graph("GET", url, headers=IMMUTABLE).json()
        seen += [m["id"] for m in page["value"]]
        url = page.get("@odata.nextLink")
        pages += 1

    assert pages == 3
    assert len(seen) == 7 and set(seen) == created


def test_a_just_created_draft_answers_404_until_it_has_synced(ms, graph):
    ms.state.set_draft_sync_lag(2)
    draft = create_draft(graph)

    statuses = [graph("GET", f"/me/messages/{draft['id']}").status_code for _ in range(3)]

    assert statuses == [404, 404, 200]


def test_an_injected_429_carries_retry_after_and_the_retry_succeeds(ms, graph):
    draft = create_draft(graph)
    ms.state.faults.fail_next("graph.messages.send", status=429, retry_after=3)

    throttled = graph("POST", f"/me/messages/{draft['id']}/send")
    retried = graph("POST", f"/me/messages/{draft['id']}/send")

    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert retried.status_code == 202
    assert len(ms.state.sent_messages(WORK)) == 1


def test_a_fault_on_a_prefix_covers_every_operation_beneath_it(ms, graph):
    ms.state.faults.fail_next("graph", times=2, status=503)

    statuses = [graph("GET", "/me").status_code, graph("GET", "/me/messages").status_code,
                graph("GET", "/me").status_code]

    assert statuses == [503, 503, 200]


def test_a_slowed_operation_outlasts_a_short_client_timeout(ms, graph):
    ms.state.faults.slow("graph.me", 2.0)

    with pytest.raises(requests.exceptions.ReadTimeout):
        graph("GET", "/me", timeout=0.3)


def test_sending_a_draft_without_recipients_is_refused(ms, graph):
    draft = create_draft(graph, toRecipients=[])

    response = graph("POST", f"/me/messages/{draft['id']}/send")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ErrorInvalidRecipients"


def test_a_sent_message_takes_categories_but_not_a_new_body(ms, graph):
    draft = create_draft(graph, headers=IMMUTABLE)
    graph("POST", f"/me/messages/{draft['id']}/send")

    tagged = graph("PATCH", f"/me/messages/{draft['id']}", json={"categories": ["Opened"]})
    rewritten = graph("PATCH", f"/me/messages/{draft['id']}", json={"body": {"contentType": "text", "content": "x"}})

    assert tagged.status_code == 200 and tagged.json()["categories"] == ["Opened"]
    assert rewritten.status_code == 400
    assert rewritten.json()["error"]["code"] == "ErrorInvalidPropertyUpdateSentMessage"


def test_master_categories_are_listed_and_a_duplicate_name_is_refused(ms, graph):
    created = graph("POST", "/me/outlook/masterCategories", json={"displayName": "Opened", "color": "preset4"})
    duplicate = graph("POST", "/me/outlook/masterCategories", json={"displayName": "opened"})
    listed = graph("GET", "/me/outlook/masterCategories").json()["value"]

    assert created.status_code == 201
    assert duplicate.status_code == 409
    assert [(c["displayName"], c["color"]) for c in listed] == [("Opened", "preset4")]


def test_an_unknown_property_in_a_patch_is_refused_like_graph(ms, graph):
    draft = create_draft(graph)

    response = graph("PATCH", f"/me/messages/{draft['id']}", json={"subjekt": "typo"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "RequestBodyRead"


def test_a_malformed_id_is_a_400_and_an_unknown_one_a_404(ms, graph):
    malformed = graph("GET", f"/me/messages/{quote('not an id')}")
    unknown = graph("GET", "/me/messages/AAMkAGI2" + "A" * 60)

    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "ErrorInvalidIdMalformed")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "ErrorItemNotFound")


def test_sent_mail_is_readable_from_the_state_and_lands_in_a_standin_recipients_inbox(ms, graph):
    draft = create_draft(graph, internetMessageHeaders=[{"name": "X-Mailbeacon-Id", "value": "m-1"}])
    graph("POST", f"/me/messages/{draft['id']}/send")

    (sent,) = ms.state.sent_messages(WORK)
    inbox = Graph(ms, ms.state.mint_access_token(RECIPIENT))("GET", "/me/mailFolders/inbox/messages").json()["value"]

    assert sent["internetMessageId"] == draft["internetMessageId"]
    assert {"name": "X-Mailbeacon-Id", "value": "m-1"} in sent["internetMessageHeaders"]
    assert [m["internetMessageId"] for m in inbox] == [draft["internetMessageId"]]
    assert inbox[0]["isRead"] is False


def test_a_token_from_msal_sign_in_reads_the_mailbox(ms):
    ms.state.auto_approve = True
    result = ms.sign_in_with_msal(ms.msal_app(), ["Mail.ReadWrite"], account=WORK)

    response = Graph(ms, result["access_token"])("GET", "/me/messages")

    assert response.status_code == 200
    assert response.json()["value"] == []


def test_with_normalisation_switched_off_an_html_body_comes_back_as_written(ms, graph):
    ms.state.normalise_html = False
    draft = create_draft(graph)

    content = graph("GET", f"/me/messages/{draft['id']}").json()["body"]["content"]

    assert content == draft_payload()["body"]["content"]


def test_a_text_body_preference_converts_html_to_text(ms, graph):
    draft = create_draft(graph)

    response = graph("GET", f"/me/messages/{draft['id']}", headers={"Prefer": 'outlook.body-content-type="text"'})

    assert response.json()["body"] == {"contentType": "text", "content": "Hello x"}
    assert response.headers["Preference-Applied"] == 'outlook.body-content-type="text"'


def test_well_known_folders_are_listed_with_their_counts(ms, graph):
    create_draft(graph)

    folders = {f["displayName"]: f for f in graph("GET", "/me/mailFolders").json()["value"]}

    assert {"Inbox", "Drafts", "Sent Items", "Deleted Items"} <= set(folders)
    assert folders["Drafts"]["totalItemCount"] == 1


def test_the_userinfo_endpoint_from_discovery_answers_for_a_graph_token(ms, graph):
    config = ms.http_session().get(f"{ms.authority()}/v2.0/.well-known/openid-configuration").json()

    info = graph("GET", config["userinfo_endpoint"]).json()

    assert info["email"] == WORK and info["name"] == "Sam Seller"
