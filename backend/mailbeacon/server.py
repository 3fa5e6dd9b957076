"""Running the backend on granian (a Rust HTTP server) with the settings the command line chose.

One entry point for every mode: granian serves the asyncio front (web/asgi.py), which answers the hit endpoints
on its event loop and hands every other request to the WSGI application in a pool of threads, so production needs
no separate server to be fast.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile

from .config import Config


def serving_app():
    """The application as each server worker loads it (a granian factory, run in the worker)."""
    from .web.asgi import AsgiFront
    from .wsgi import application

    front = AsgiFront(application.wsgi_app, application.wsgi_app, application.extensions["mailbeacon.pipeline"],
                      threads=application.extensions["mailbeacon"].config.server_threads)

    # Everything built at start-up (Flask, SQLAlchemy, the classifier's tables: ~100k objects) lives as long as
    # the process. Frozen, the collector stops walking it on every full collection: a 50-80 ms stall of every
    # request in flight, several times a minute under load.
    gc.collect()
    gc.freeze()
    return front


def _prepare_multiprocess_metrics(workers: int) -> None:
    if workers <= 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    directory = tempfile.mkdtemp(prefix="mailbeacon-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    import atexit

    atexit.register(shutil.rmtree, directory, True)


def run_server(config: Config, *, workers: int = 1, threads: int | None = None) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    if threads:
        # Each server worker builds its own Config from the environment (serving_app): the choice goes that way.
        os.environ["MAILBEACON_SERVER_THREADS"] = str(threads)
    _prepare_multiprocess_metrics(workers)
    server = Granian(
        "mailbeacon.server:serving_app",
        factory=True,
        address=config.host,
        port=config.port,
        interface=Interfaces.ASGI,
        workers=max(1, workers),
        websockets=False,
        log_access=False,
        log_level=LogLevels(config.log_level.lower()) if config.log_level.lower() in ("debug", "info", "warning",
                                                                                      "error") else LogLevels.info,
    )
    server.serve()
