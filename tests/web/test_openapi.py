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

from ..api_support import user_with_token
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
    user_id, auth = user_with_token(rt, "doc@example.com")
    message = make_message(session, sender="doc@example.com", urls=["https://example.com/x"],
                           recipients=["a@example.org", "b@example.org"])
    from mailbeacon.storage.models import TrackedMessage

    with rt.db.transaction() as s:
        s.get(TrackedMessage, message.id).provider_thread_id = "18cafe0000000001"
    record_batch(rt, [{"uid": "d1", "at": time.time(), "type": "open", "message_id": message.id, "method": "GET",
                       "user_agent": CHROME_UA, "ip": "198.51.100.9", "headers": {}},
                      {"uid": "d2", "at": time.time() + 60, "type": "click", "message_id": message.id, "link": 0,
                       "method": "GET", "user_agent": CHROME_UA, "ip": "198.51.100.9", "headers": {}}],
                 networks=Networks.load(None))
    return auth, message


@pytest.mark.parametrize("method,path,template,status,body", [
    ("get", "/api/v1/me", "/api/v1/me", 200, None),
    ("get", "/api/v1/messages", "/api/v1/messages", 200, None),
    ("get", "/api/v1/messages/{id}", "/api/v1/messages/{id}", 200, None),
    ("post", "/api/v1/messages/status", "/api/v1/messages/status", 200, {"thread_ids": ["18cafe0000000001", "x"]}),
    ("get", "/api/v1/settings", "/api/v1/settings", 200, None),
    ("patch", "/api/v1/settings", "/api/v1/settings", 200, {"notifications": {"every_open": True}}),
    ("get", "/api/v1/notifications", "/api/v1/notifications", 200, None),
    ("get", "/api/v1/notifications/unread-count", "/api/v1/notifications/unread-count", 200, None),
    ("post", "/api/v1/notifications/read", "/api/v1/notifications/read", 200, {"all": True}),
    ("get", "/api/v1/tokens", "/api/v1/tokens", 200, None),
    ("get", "/api/v1/messages/{id}", "/api/v1/messages/{id}", 404, None),
    ("get", "/api/v1/messages?filter=bad", "/api/v1/messages", 400, None),
])
def test_real_responses_match_the_document(client, populated, method, path, template, status, body):
    auth, message = populated
    real_path = path.replace("{id}", message.public_id if status != 404 else "nope")
    kwargs = {"headers": auth}
    if body is not None:
        kwargs["json"] = body
    response = getattr(client, method)(real_path, **kwargs)
    assert response.status_code == status, response.get_json()
    errors = sorted(_validator_for(_response_schema(template, method, status)).iter_errors(response.get_json()),
                    key=str)
    assert errors == [], [e.message for e in errors]


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
