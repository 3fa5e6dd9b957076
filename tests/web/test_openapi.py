"""The OpenAPI document is valid, describes what the API really answers, and generated requests never get a 500."""

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from mailbeacon.runtime import Runtime
from mailbeacon.services.record_hits import record_batch
from mailbeacon.tracking.networks import Networks
from mailbeacon.web.app import build_app
from mailbeacon.web.openapi import document

from ..api_support import account_id_of, add_account, token_id_of, user_with_token
from ..factories import CHROME_UA, make_message


def test_the_document_is_valid_openapi_3_1(client):
    served = client.get("/api/v1/openapi.json").get_json()
    assert served["openapi"] == "3.1.0"
    validate(served)


def _validator_for(schema_ref: dict):
    doc = document()
    return Draft202012Validator({**schema_ref, "components": doc["components"]})


def _response_schema(path: str, method: str, status: int) -> dict:
    return document()["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]


@pytest.fixture
def populated(rt, session):
    """A user with something behind every operation: an opened and clicked message, a spare token and account,
    and a Gmail and an Outlook send already accepted under a key (a send accepted again under its key answers from
    the database: a first send would start a job that talks to Google or Microsoft)."""
    from mailbeacon.services.api_tokens import issue_token
    from mailbeacon.storage.models import TrackedMessage, User

    user_id, auth = user_with_token(rt, "doc@example.com")
    outlook = add_account(rt, user_id, provider="outlook", address="doc@contoso.example")
    message = make_message(session, sender="doc@example.com", urls=["https://example.com/x"],
                           recipients=["a@example.org", "b@example.org"], thread_id="18cafe0000000001")
    record_batch(rt, [{"uid": "d1", "at": time.time(), "type": "open", "message_id": message.id, "method": "GET",
                       "user_agent": CHROME_UA, "ip": "198.51.100.9", "headers": {}},
                      {"uid": "d2", "at": time.time() + 60, "type": "click", "message_id": message.id, "link": 0,
                       "method": "GET", "user_agent": CHROME_UA, "ip": "198.51.100.9", "headers": {}}],
                 networks=Networks.load(None))
    with rt.db.transaction() as s:
        s.add(TrackedMessage(user_id=user_id, account_id=account_id_of(rt, user_id), provider="gmail",
                             status="queued", provider_draft_id="r-1234", idempotency_key="gmail-send-0001"))
        queued = TrackedMessage(user_id=user_id, account_id=outlook, provider="outlook", status="queued",
                                provider_draft_id="A" * 40, idempotency_key="outlook-send-0001")
        s.add(queued)
        spare = issue_token(s, s.get(User, user_id), client="addin")
        s.flush()
        ids = {"message": message.public_id, "outlook_message": queued.public_id, "token": spare.row.id,
               "account": outlook}
    return auth, ids


SEEN = {"to": ["a@example.org"], "cc": [], "bcc": [], "subject": "Hi"}
PREPARE = {"subject": "Hi", "to": ["a@example.org"],
           "body": {"content_type": "html", "content": '<p>Hi, <a href="https://example.com/">see</a></p>'}}

# (method, path, the document's path, status, JSON body, authorised?): at least one success and one error for every
# operation but the stream's endless success (test_every_operation_is_checked_with_a_success_and_an_error).
CASES = [
    ("get", "/api/v1/me", "/api/v1/me", 200, None, True),
    ("get", "/api/v1/me", "/api/v1/me", 401, None, False),
    ("delete", "/api/v1/me", "/api/v1/me", 204, None, True),
    ("delete", "/api/v1/me", "/api/v1/me", 401, None, False),
    ("get", "/api/v1/messages", "/api/v1/messages", 200, None, True),
    ("get", "/api/v1/messages?filter=clicked&q=pricing&limit=5", "/api/v1/messages", 200, None, True),
    ("get", "/api/v1/messages?filter=bad", "/api/v1/messages", 400, None, True),
    ("post", "/api/v1/messages", "/api/v1/messages", 202,
     {"draft_id": "r-1234", "seen": SEEN, "idempotency_key": "gmail-send-0001"}, True),
    ("post", "/api/v1/messages", "/api/v1/messages", 400, {"seen": SEEN}, True),
    ("get", "/api/v1/messages/{message}", "/api/v1/messages/{id}", 200, None, True),
    ("get", "/api/v1/messages/nope", "/api/v1/messages/{id}", 404, None, True),
    ("post", "/api/v1/messages/status", "/api/v1/messages/status", 200, {"thread_ids": ["18cafe0000000001", "x"]},
     True),
    ("post", "/api/v1/messages/status", "/api/v1/messages/status", 400, {"thread_ids": ["x"] * 101}, True),
    ("post", "/api/v1/messages/{message}/viewing", "/api/v1/messages/{id}/viewing", 204, None, True),
    ("post", "/api/v1/messages/nope/viewing", "/api/v1/messages/{id}/viewing", 404, None, True),
    ("post", "/api/v1/viewing", "/api/v1/viewing", 200, {"thread_id": "18cafe0000000001"}, True),
    ("post", "/api/v1/viewing", "/api/v1/viewing", 400, {}, True),
    ("get", "/api/v1/settings", "/api/v1/settings", 200, None, True),
    ("get", "/api/v1/settings", "/api/v1/settings", 401, None, False),
    ("patch", "/api/v1/settings", "/api/v1/settings", 200, {"notifications": {"every_open": True}}, True),
    ("patch", "/api/v1/settings", "/api/v1/settings", 400, {"tracking": {"opens": "yes"}}, True),
    ("get", "/api/v1/notifications", "/api/v1/notifications", 200, None, True),
    ("get", "/api/v1/notifications?limit=0", "/api/v1/notifications", 400, None, True),
    ("get", "/api/v1/notifications/unread-count", "/api/v1/notifications/unread-count", 200, None, True),
    ("get", "/api/v1/notifications/unread-count", "/api/v1/notifications/unread-count", 401, None, False),
    ("post", "/api/v1/notifications/read", "/api/v1/notifications/read", 200, {"all": True}, True),
    ("post", "/api/v1/notifications/read", "/api/v1/notifications/read", 400, {}, True),
    ("get", "/api/v1/tokens", "/api/v1/tokens", 200, None, True),
    ("get", "/api/v1/tokens", "/api/v1/tokens", 401, None, False),
    ("delete", "/api/v1/tokens/{token}", "/api/v1/tokens/{token_id}", 204, None, True),
    ("delete", "/api/v1/tokens/987654321", "/api/v1/tokens/{token_id}", 404, None, True),
    ("delete", "/api/v1/accounts/{account}", "/api/v1/accounts/{account_id}", 204, None, True),
    ("delete", "/api/v1/accounts/987654321", "/api/v1/accounts/{account_id}", 404, None, True),
    ("post", "/api/v1/outlook/messages", "/api/v1/outlook/messages", 202,
     {"item_id": "A" * 40, "seen": SEEN, "idempotency_key": "outlook-send-0001"}, True),
    ("post", "/api/v1/outlook/messages", "/api/v1/outlook/messages", 400, {"item_id": "../me/sendMail", "seen": SEEN},
     True),
    ("post", "/api/v1/messages/prepare", "/api/v1/messages/prepare", 200, PREPARE, True),
    ("post", "/api/v1/messages/prepare", "/api/v1/messages/prepare", 400, {"subject": "Hi"}, True),
    ("post", "/api/v1/messages/{outlook_message}/prepared-sent", "/api/v1/messages/{id}/prepared-sent", 200, None,
     True),
    ("post", "/api/v1/messages/nope/prepared-sent", "/api/v1/messages/{id}/prepared-sent", 404, None, True),
    ("get", "/api/v1/stream", "/api/v1/stream", 401, None, False),
]


def assert_documented(response, template: str, method: str) -> None:
    """The status is one the document lists for the operation, and the body is what it says for that status."""
    documented = document()["paths"][template][method]["responses"].get(str(response.status_code))
    assert documented is not None, f"{method.upper()} {template} answered {response.status_code}, not documented"
    content = documented.get("content")
    if content is None:
        assert response.data == b"", response.data[:200]
        return
    assert response.mimetype in content, (response.mimetype, list(content))
    schema = {**content[response.mimetype]["schema"], "components": document()["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(response.get_json()), key=str)
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("method,path,template,status,body,authorised", CASES,
                         ids=[f"{c[0].upper()} {c[1]} {c[3]}" for c in CASES])
def test_real_responses_match_the_document(client, populated, method, path, template, status, body, authorised):
    auth, ids = populated
    kwargs = {"headers": auth if authorised else {}}
    if body is not None:
        kwargs["json"] = body
    response = getattr(client, method)(path.format(**ids), **kwargs)
    assert response.status_code == status, response.get_json()
    assert_documented(response, template, method)


def test_every_operation_is_checked_with_a_success_and_an_error():
    statuses: dict[tuple[str, str], set[int]] = {}
    for method, _path, template, status, _body, _authorised in CASES:
        statuses.setdefault((method, template), set()).add(status)
    for template, operations in document()["paths"].items():
        for method in operations:
            seen = statuses.get((method, template), set())
            assert any(s >= 400 for s in seen), f"no error response of {method.upper()} {template} is checked"
            if template != "/api/v1/stream":  # its success never ends; test_stream.py reads it from a socket
                assert any(200 <= s < 300 for s in seen), f"no success of {method.upper()} {template} is checked"


def test_a_response_with_a_status_the_document_lacks_is_caught(client, populated):
    # 204 is documented for DELETE /me; a 200 with a body, for one, is not what a client was promised.
    auth, _ids = populated
    response = client.get("/api/v1/me", headers=auth)
    with pytest.raises(AssertionError, match="not documented"):
        assert_documented(response, "/api/v1/me", "delete")


def test_a_response_that_breaks_the_document_is_caught():
    # The check above must be able to fail: a summary without its counts is not a MessageSummary.
    bad = {"messages": [{"id": "x", "subject": "s"}], "next_cursor": None}
    assert list(_validator_for(_response_schema("/api/v1/messages", "get", 200)).iter_errors(bad))


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory, database_template):
    """One app and one user for all generated requests (a fresh database per operation would be slow)."""
    import shutil

    from mailbeacon.config import Config

    from ..conftest import PUBLIC_URL, TEST_SECRET

    tmp = tmp_path_factory.mktemp("fuzz")
    if database_template["kind"] == "sqlite":
        shutil.copyfile(database_template["path"], tmp / "db.sqlite")
        url = f"sqlite:///{tmp / 'db.sqlite'}"
    else:
        url = database_template["url"]
    rt = Runtime(Config.from_env({"MAILBEACON_DATABASE_URL": url, "MAILBEACON_PUBLIC_URL": PUBLIC_URL,
                                  "MAILBEACON_SECRET_KEY": TEST_SECRET, "MAILBEACON_SPOOL_DIR": str(tmp / "spool"),
                                  "MAILBEACON_API_RATE_PER_MINUTE": "1000000"}))
    _uid, auth = user_with_token(rt, f"fuzz-{time.time_ns()}@example.com")
    app = build_app(runtime=rt)
    yield app, auth
    rt.close()


schema = schemathesis.openapi.from_dict(document())


@schema.exclude(method="DELETE").exclude(path="/api/v1/stream").parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_generated_requests_never_get_a_server_error(case, fuzz_target):
    app, auth = fuzz_target
    case.headers = {**(case.headers or {}), **auth}
    response = case.call(app=app)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    # Auth is ours (a valid token on every case), so the checks that probe missing or invalid auth don't apply.
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                             response_schema_conformance])


@schema.include(method="DELETE").parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_generated_deletes_never_get_a_server_error(case, fuzz_target):
    """Each example deletes as a user made for it alone: whatever it deletes (that user, one of their accounts,
    a token) is theirs, and the shared fuzz user the other operations use keeps working. Generated ids are mostly
    someone else's or nobody's, so each example is sent once more with the throw-away user's own ids."""
    app, auth = fuzz_target
    rt = app.extensions["mailbeacon"]
    user_id, throwaway = user_with_token(rt, f"throwaway-{time.time_ns()}@example.com")
    own = {"token_id": token_id_of(rt, user_id), "account_id": account_id_of(rt, user_id)}
    case.headers = {**(case.headers or {}), **throwaway}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    response = case.call(app=app)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    case.validate_response(response, checks=checks)
    if case.path_parameters:
        case.path_parameters = {name: own[name] for name in case.path_parameters}
        response = case.call(app=app)
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
        case.validate_response(response, checks=checks)
    assert app.test_client().get("/api/v1/me", headers=auth).status_code == 200
