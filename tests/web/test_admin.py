import pytest

from mailbeacon.runtime import Runtime
from mailbeacon.tracking import tokens
from mailbeacon.web.app import build_app, pipeline_of

from ..factories import make_message, wait_until


@pytest.fixture
def admin_app(config):
    rt = Runtime(config.replace(admin_token="admin-secret-token-123"))
    app = build_app(runtime=rt)
    yield app
    pipeline_of(app).stop()
    rt.close()


def test_readyz_is_ready_in_embedded_mode(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready" and body["checks"]["database"]["ok"]


def test_readyz_names_the_failing_part_when_redis_is_unreachable(config):
    rt = Runtime(config.replace(redis_url="redis://127.0.0.1:1/0"))
    app = build_app(runtime=rt)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failing"] == ["redis"]
    rt.close()


def test_readyz_names_a_missing_worker(config, redis_url):
    rt = Runtime(config.replace(redis_url=redis_url))
    app = build_app(runtime=rt)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert "workers" in body["failing"]
    assert set(body["checks"]["workers"]["queues_without_worker"]) == {"hits", "send", "notify", "maintenance"}
    rt.close()


def test_readyz_fails_on_a_database_that_is_gone(config, tmp_path):
    rt = Runtime(config)
    rt.db.url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    app = build_app(runtime=rt)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and "database" in response.get_json()["failing"]


def test_metrics_report_hits_by_kind_latency_and_spool(config, session):
    rt = Runtime(config)
    app = build_app(runtime=rt)
    client = app.test_client()
    message = make_message(session)
    client.get("/o/" + tokens.sign("open", message.id, keyring=rt.keyring), headers={"User-Agent": "curl/8.5.0"})
    wait_until(lambda: 'mailbeacon_hits_recorded_total{kind=' in client.get("/metrics").get_data(as_text=True))
    text = client.get("/metrics").get_data(as_text=True)
    assert "mailbeacon_request_duration_seconds_bucket" in text and 'endpoint="open"' in text
    assert "mailbeacon_spool_batches" in text and "mailbeacon_queue_depth" in text
    assert "mailbeacon_failed_jobs" in text
    pipeline_of(app).stop()
    rt.close()


def test_admin_api_is_off_without_a_token(client):
    assert client.get("/admin/api/counts").status_code == 404


def test_admin_api_wants_the_admin_token(admin_app):
    client = admin_app.test_client()
    assert client.get("/admin/api/counts").status_code == 401
    assert client.get("/admin/api/counts", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/admin/api/counts", headers={"Authorization": "Bearer admin-secret-token-123"})
    assert response.status_code == 200 and response.get_json()["messages"] == 0


def test_admin_lists_and_retries_a_failed_embedded_batch(admin_app):
    pipeline = pipeline_of(admin_app)
    pipeline.spool.write([{"uid": "x", "message_id": 1}])
    [claimed] = [c for c, _ in pipeline.spool.claims()]
    pipeline.spool.failed_directory.mkdir(parents=True)
    claimed.rename(pipeline.spool.failed_directory / (claimed.stem + ".batch"))
    auth = {"Authorization": "Bearer admin-secret-token-123"}
    client = admin_app.test_client()
    [job] = client.get("/admin/api/failed-jobs", headers=auth).get_json()["failed_jobs"]
    assert job["hits"] == 1
    assert client.post(f"/admin/api/failed-jobs/{job['id']}/retry", headers=auth).status_code == 202
    assert client.post("/admin/api/failed-jobs/../../etc/retry", headers=auth).status_code == 404
    assert client.get("/admin/api/failed-jobs", headers=auth).get_json()["failed_jobs"] == []
