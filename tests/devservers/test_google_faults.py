"""The stand-in's fault switches, observed the way the backend will meet them: through the real clients."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from mailbeacon.devservers.google import RunningStandin

from .test_google_gmail import SENDER, create_draft, message
from .test_google_signin import (  # noqa: F401  (fixtures)
    credentials_for,
    decode,
    encode,
    gmail_for,
    google,
    running_google,
    sign_in,
)


@pytest.fixture
def credentials(google: RunningStandin) -> Any:
    return credentials_for(google, sign_in(google, login_hint=SENDER))


@pytest.fixture
def gmail(google: RunningStandin, credentials: Any) -> Any:
    return gmail_for(google, credentials).users()


def test_injected_429_then_success_with_the_clients_own_retries(gmail: Any, google: RunningStandin) -> None:
    google.state.fail_next("users.getProfile", times=1, status=429, retry_after=7)

    # googleapiclient ignores Retry-After and sleeps rand() * 2 s before its one retry.
    profile = gmail.getProfile(userId="me").execute(num_retries=1)

    assert profile["emailAddress"] == SENDER


def test_injected_429_without_retries_carries_retry_after_and_googles_reason(
    gmail: Any, google: RunningStandin
) -> None:
    google.state.fail_next("getProfile", status=429, retry_after=7)

    with pytest.raises(HttpError) as failure:
        gmail.getProfile(userId="me").execute()
    recovered = gmail.getProfile(userId="me").execute()

    assert failure.value.status_code == 429
    assert failure.value.resp["retry-after"] == "7"
    error = json.loads(failure.value.content)["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["errors"][0]["reason"] == "rateLimitExceeded"
    assert recovered["emailAddress"] == SENDER


@pytest.mark.parametrize("status", [500, 503])
def test_injected_server_errors_fail_n_times_then_recover(gmail: Any, google: RunningStandin, status: int) -> None:
    google.state.fail_next("users.drafts.create", times=2, status=status)

    statuses = []
    for _ in range(2):
        with pytest.raises(HttpError) as failure:
            create_draft(gmail, message())
        statuses.append(failure.value.status_code)
    draft = create_draft(gmail, message())

    assert statuses == [status, status]
    assert draft["id"]
    assert len(gmail.drafts().list(userId="me").execute()["drafts"]) == 1  # failed calls created nothing


def test_unknown_operation_names_are_refused_rather_than_ignored(google: RunningStandin) -> None:
    with pytest.raises(ValueError, match="unknown stand-in operation"):
        google.state.fail_next("users.drafts.sned")


def test_token_endpoint_faults_use_oauth_error_bodies(google: RunningStandin) -> None:
    token = sign_in(google)
    google.state.fail_next("oauth.token", status=503)

    response = requests.post(
        f"{google.base_url}/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=("mailbeacon-dev.apps.googleusercontent.com", "mailbeacon-dev-secret"),
        timeout=10,
    )

    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_delay_is_applied_before_answering(gmail: Any, google: RunningStandin) -> None:
    slept: list[float] = []
    google.state.sleep = slept.append
    google.state.set_delay(2.5, "users.getProfile")

    gmail.getProfile(userId="me").execute()
    gmail.drafts().list(userId="me").execute()
    google.state.set_delay(0, "users.getProfile")
    gmail.getProfile(userId="me").execute()

    assert slept == [2.5]


def test_stale_drafts_serve_the_previous_version_for_n_reads(gmail: Any, google: RunningStandin) -> None:
    google.state.set_stale_drafts(2)
    draft = create_draft(gmail, message("Before"))
    google.state.save_draft(SENDER, message("After"), draft_id=draft["id"])  # the compose window autosaves

    reads = [
        decode(gmail.drafts().get(userId="me", id=draft["id"], format="raw").execute()["message"]["raw"])
        for _ in range(3)
    ]

    assert reads == [message("Before"), message("Before"), message("After")]


def test_stale_reads_also_follow_the_apis_own_updates(gmail: Any, google: RunningStandin) -> None:
    draft = create_draft(gmail, message("Before"))
    google.state.set_stale_drafts(1)

    gmail.drafts().update(userId="me", id=draft["id"], body={"message": {"raw": encode(message("After"))}}).execute()
    first = gmail.drafts().get(userId="me", id=draft["id"], format="raw").execute()["message"]
    second = gmail.drafts().get(userId="me", id=draft["id"], format="raw").execute()["message"]

    assert decode(first["raw"]) == message("Before")
    assert decode(second["raw"]) == message("After")


def test_lost_response_by_dropped_connection_sends_the_mail_anyway(gmail: Any, google: RunningStandin) -> None:
    draft = create_draft(gmail, message())
    google.state.lose_next_response("users.drafts.send", mode="drop")

    # httplib2 resends once on a dropped connection; the draft is gone by then, so the client sees 404.
    with pytest.raises(HttpError) as failure:
        gmail.drafts().send(userId="me", body={"id": draft["id"]}).execute()

    assert failure.value.status_code == 404
    assert [m.raw for m in google.state.sent_messages()] == [message()]


def test_lost_response_as_500_sends_once_and_a_retry_finds_no_draft(gmail: Any, google: RunningStandin) -> None:
    draft = create_draft(gmail, message())
    google.state.lose_next_response("drafts.send", mode="500")

    with pytest.raises(HttpError) as lost:
        gmail.drafts().send(userId="me", body={"id": draft["id"]}).execute()
    with pytest.raises(HttpError) as retried:
        gmail.drafts().send(userId="me", body={"id": draft["id"]}).execute()

    assert lost.value.status_code == 500
    assert retried.value.status_code == 404
    assert len(google.state.sent_messages()) == 1
    found = gmail.messages().list(userId="me", q="rfc822msgid:<pricing-1@mailbeacon.test>").execute()
    assert found["resultSizeEstimate"] == 1  # how a careful client learns the send did happen


def test_expired_access_token_is_refreshed_automatically_by_google_auth(
    gmail: Any, google: RunningStandin, credentials: Any
) -> None:
    before = credentials.token
    google.state.expire_access_tokens(SENDER)

    profile = gmail.getProfile(userId="me").execute()

    assert profile["emailAddress"] == SENDER
    assert credentials.token != before


def test_revoked_grant_surfaces_as_refresh_error_on_the_next_call(gmail: Any, google: RunningStandin) -> None:
    google.state.revoke_grant(SENDER)

    with pytest.raises(RefreshError, match="invalid_grant"):
        gmail.getProfile(userId="me").execute()


def test_reset_clears_faults_mail_and_grants(gmail: Any, google: RunningStandin) -> None:
    create_draft(gmail, message())
    google.state.fail_next("users.getProfile", times=5)
    google.state.set_stale_drafts(3)

    google.state.reset()

    assert google.state.faults.describe() == {"failures": {}, "lostResponses": {}, "delays": {}, "staleDraftReads": 0}
    assert google.state.messages(SENDER) == []
    with pytest.raises(RefreshError):
        gmail.getProfile(userId="me").execute()


def test_dropped_response_closes_the_connection_without_an_answer(google: RunningStandin, credentials: Any) -> None:
    google.state.lose_next_response("users.messages.send", mode="drop")

    with pytest.raises(requests.ConnectionError):
        requests.post(
            f"{google.base_url}/gmail/v1/users/me/messages/send",
            json={"raw": encode(message())},
            headers={"Authorization": f"Bearer {credentials.token}"},
            timeout=10,
        )

    assert len(google.state.sent_messages()) == 1
