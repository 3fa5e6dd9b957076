"""The worker's process-wide state: its Runtime, network lists and lookup caches.

RQ job functions take plain data and find everything else here, so the same function runs in an RQ worker
(Runtime built from the environment) and in-process in embedded mode (the server's Runtime is installed).
"""

from __future__ import annotations

import threading

from ..config import Config
from ..runtime import Runtime

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


def networks():
    """Network lists, reloaded when the refresh job (or an operator) changed the files."""
    from ..tracking.networks import Networks

    rt = current_runtime()
    with _lock:
        current = _state.get("networks")
        if current is None:
            current = _state["networks"] = Networks.load(rt.config.networks_dir)
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
