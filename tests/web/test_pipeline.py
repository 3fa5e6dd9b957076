"""The request path hands hits on and the pipeline stores them: embedded, through Redis, and with Redis gone."""

import json

import pytest
from sqlalchemy import func, select

from mailbeacon.config import Config
from mailbeacon.runtime import Runtime
from mailbeacon.storage.models import Hit
from mailbeacon.tracking import tokens
from mailbeacon.web.app import build_app, pipeline_of
from mailbeacon.web.hits import PIXEL_GIF

from ..factories import CHROME_UA, make_message, wait_until
from ..servers import PrivateRedis


def hit_count(rt, message_id=None):
    with rt.db.session() as s:
        query = select(func.count()).select_from(Hit)
        if message_id is not None:
            query = query.where(Hit.message_id == message_id)
        return s.scalar(query)


def pixel_path(rt, message):
    return "/o/" + tokens.sign("open", message.id, keyring=rt.keyring)


def click_path(rt, message, index):
    return "/c/" + tokens.sign("click", message.id, index, keyring=rt.keyring)


def test_embedded_mode_stores_a_pixel_hit_in_process(config, session):
    assert config.embedded_queue
    rt = Runtime(config)
    app = build_app(runtime=rt)
    message = make_message(session)
    client = app.test_client()
    response = client.get(pixel_path(rt, message), headers={"User-Agent": CHROME_UA},
                          environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert response.data == PIXEL_GIF
    wait_until(lambda: hit_count(rt, message.id) == 1)
    with rt.db.session() as s:
        row = s.scalar(select(Hit))
        assert row.kind == "human" and row.ip_prefix == "198.51.100.0/24"
    pipeline_of(app).stop()
    rt.close()


def test_a_bad_token_records_nothing(config, session):
    rt = Runtime(config)
    app = build_app(runtime=rt)
    message = make_message(session)
    good = pixel_path(rt, message)
    client = app.test_client()
    client.get(good[:-1] + ("A" if good[-1] != "A" else "B"))
    client.get(pixel_path(rt, message))
    wait_until(lambda: hit_count(rt) >= 1)
    assert hit_count(rt) == 1
    pipeline_of(app).stop()
    rt.close()


def test_redis_mode_hands_each_batch_to_rq_and_a_worker_stores_it(config, redis_url, session):
    from rq import SimpleWorker

    from mailbeacon.jobs import context, queues

    rt = Runtime(config.replace(redis_url=redis_url))
    context.use_runtime(rt)
    app = build_app(runtime=rt)
    message = make_message(session, urls=["https://example.com/pricing?a=1&b=2"])
    client = app.test_client()
    assert client.get(pixel_path(rt, message), headers={"User-Agent": CHROME_UA}).status_code == 200
    response = client.get(click_path(rt, message, 0), headers={"User-Agent": CHROME_UA})
    assert response.headers["Location"] == "https://example.com/pricing?a=1&b=2"
    hits_queue = queues.queue(queues.HITS, rt.redis)
    assert hits_queue.count >= 1
    assert hit_count(rt) == 0  # the request path wrote nothing to the database
    SimpleWorker([hits_queue], connection=rt.redis).work(burst=True)
    assert hit_count(rt, message.id) == 2
    pipeline_of(app).stop()
    rt.close()


def test_hits_are_spooled_while_redis_is_down_and_replayed_when_it_returns(config, session, tmp_path):
    from rq import SimpleWorker

    from mailbeacon.jobs import context, queues

    redis_server = PrivateRedis(tmp_path / "redis")
    redis_server.start()
    rt = Runtime(config.replace(redis_url=redis_server.url))
    context.use_runtime(rt)
    app = build_app(runtime=rt)
    pipeline = pipeline_of(app)
    message = make_message(session, urls=["https://example.com/x"])
    client = app.test_client()
    try:
        client.get(pixel_path(rt, message))
        redis_server.stop()
        for _ in range(20):
            assert client.get(pixel_path(rt, message)).data == PIXEL_GIF
        assert pipeline.spool.hits_waiting() >= 1
        # Redirects keep working from the database while Redis is down.
        assert client.get(click_path(rt, message, 0)).headers["Location"] == "https://example.com/x"
        redis_server.start()
        pipeline.replayer.kick()
        wait_until(lambda: pipeline.spool.size() == 0, timeout=30)
        SimpleWorker([queues.queue(queues.HITS, rt.redis)], connection=rt.redis).work(burst=True)
        assert hit_count(rt, message.id) == 22
    finally:
        pipeline.stop()
        redis_server.stop()
        rt.close()


def test_clicks_redirect_from_redis_when_the_database_is_gone(config, redis_url, session, tmp_path):
    rt = Runtime(config.replace(redis_url=redis_url))
    app = build_app(runtime=rt)
    message = make_message(session, urls=["https://example.com/a?x=%2F"])
    client = app.test_client()
    assert client.get(click_path(rt, message, 0)).status_code == 302  # warms Redis from the database
    broken = Runtime(config.replace(redis_url=redis_url, database_url=f"sqlite:///{tmp_path}/missing/dir/x.db"))
    broken.db.url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    broken_app = build_app(runtime=broken)
    response = broken_app.test_client().get(click_path(rt, message, 0))
    assert response.status_code == 302 and response.headers["Location"] == "https://example.com/a?x=%2F"
    pipeline_of(app).stop()
    pipeline_of(broken_app).stop()
    rt.close()
