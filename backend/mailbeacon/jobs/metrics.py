"""Counters that must add up across processes (the worker counts, the web process reports at /metrics)."""

from __future__ import annotations

import threading

from ..runtime import Runtime

HITS_BY_KIND_KEY = "mb:metrics:hits_by_kind"
HITS_DROPPED_KEY = "mb:metrics:hits_dropped"
_local_lock = threading.Lock()
_local: dict[str, dict[str, int]] = {HITS_BY_KIND_KEY: {}, HITS_DROPPED_KEY: {}}


def count_hit_kinds(rt: Runtime, kinds: dict[str, int], dropped: dict[str, int]) -> None:
    if rt.redis is not None:
        try:
            with rt.redis.pipeline(transaction=False) as pipe:
                for kind, n in kinds.items():
                    pipe.hincrby(HITS_BY_KIND_KEY, kind, n)
                for reason, n in dropped.items():
                    pipe.hincrby(HITS_DROPPED_KEY, reason, n)
                pipe.execute()
        except Exception:
            pass  # metrics are best effort; the hits themselves are stored
        return
    with _local_lock:
        for key, values in ((HITS_BY_KIND_KEY, kinds), (HITS_DROPPED_KEY, dropped)):
            for name, n in values.items():
                _local[key][name] = _local[key].get(name, 0) + n


def read_counts(rt: Runtime) -> tuple[dict[str, int], dict[str, int]]:
    if rt.redis is not None:
        kinds = {k.decode(): int(v) for k, v in rt.redis.hgetall(HITS_BY_KIND_KEY).items()}
        dropped = {k.decode(): int(v) for k, v in rt.redis.hgetall(HITS_DROPPED_KEY).items()}
        return kinds, dropped
    with _local_lock:
        return dict(_local[HITS_BY_KIND_KEY]), dict(_local[HITS_DROPPED_KEY])
