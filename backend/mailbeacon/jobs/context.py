"""The worker's process-wide state: its Runtime, network lists and lookup caches.

RQ job functions take plain data and find everything else here, so the same function runs in an RQ worker
(Runtime built from the environment) and in-process in embedded mode (the server's Runtime is installed).
"""

from __future__ import annotations

import logging
import threading
import time

from ..config import Config
from ..runtime import Runtime

log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: dict[str, object] = {}


def use_runtime(rt: Runtime) -> None:
    with _lock:
        _state.clear()
        _state["runtime"] = rt


def current_runtime() -> Runtime:
    with _lock:
        rt = _state.get("runtime")
        if rt is None:
            rt = _state["runtime"] = Runtime(Config.from_env())
        return rt  # type: ignore[return-value]


NETWORKS_CHECK_SECONDS = 60.0


def networks():
    """Network lists, reloaded in every worker process soon after the files change (a cheap fingerprint of the
    directory is compared once a minute; the lists themselves are read only when it differs)."""
    from ..tracking.networks import Networks

    rt = current_runtime()
    now = time.monotonic()
    with _lock:
        current = _state.get("networks")
        if current is not None and now - _state.get("networks_checked", 0.0) < NETWORKS_CHECK_SECONDS:
            return current
        _state["networks_checked"] = now
        stamp = Networks.fingerprint(rt.config.networks_dir)
        if current is None or stamp != _state.get("networks_stamp"):
            try:
                current = _state["networks"] = Networks.load(rt.config.networks_dir)
                _state["networks_stamp"] = stamp
            except Exception:
                if current is None:
                    raise
                log.exception("network lists changed but could not be read; keeping the previous ones")
        return current


def reload_networks():
    from ..tracking.networks import Networks

    rt = current_runtime()
    fresh = Networks.load(rt.config.networks_dir)
    with _lock:
        _state["networks"] = fresh
    return fresh


def enricher():
    from ..services.enrich import Enricher

    with _lock:
        current = _state.get("enricher")
        if current is None:
            current = _state["enricher"] = Enricher()
        return current


def set_enricher(value) -> None:
    """Tests install an enricher with a local resolver; production uses the default one."""
    with _lock:
        _state["enricher"] = value
