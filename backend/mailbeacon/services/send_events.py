"""Telling the sender's clients how a send went (the same channel as hit notifications)."""

from __future__ import annotations

from ..notify.publish import Publisher, RedisPublisher
from ..runtime import Runtime


def publish_send_event(rt: Runtime, user_id: int, event: dict) -> None:
    backend = RedisPublisher(rt.redis) if rt.redis is not None else rt.broker
    Publisher(backend).publish_all([(user_id, event)])
