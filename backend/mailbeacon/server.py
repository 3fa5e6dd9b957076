"""Running the WSGI app on granian (a Rust HTTP server) with the settings the command line chose.

One entry point for every mode: the hit endpoints are a bare WSGI app in front of Flask inside the same
application, so production needs no separate server to be fast.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile

from .config import Config

# Python threads per server process. Each request holds one while its hit waits for group commit, so there must
# be more than cores; but every extra thread is one more contender for the GIL, and past a few dozen the
# contention costs more than the bigger batches save (bench/hits.py: 32 beat 16 and 64 on 2 cores).
DEFAULT_THREADS = 32


def serving_app():
    """The application as each server worker loads it (a granian factory, run in the worker)."""
    from .wsgi import application

    # Everything built at start-up (Flask, SQLAlchemy, the classifier's tables: ~100k objects) lives as long as
    # the process. Frozen, the collector stops walking it on every full collection: a 50-80 ms stall of every
    # request in flight, several times a minute under load.
    gc.collect()
    gc.freeze()
    return application


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

    threads = threads or int(os.environ.get("MAILBEACON_SERVER_THREADS", DEFAULT_THREADS))
    _prepare_multiprocess_metrics(workers)
    server = Granian(
        "mailbeacon.server:serving_app",
        factory=True,
        address=config.host,
        port=config.port,
        interface=Interfaces.WSGI,
        workers=max(1, workers),
        blocking_threads=threads,
        # No more requests inside Python than threads to run them: the rest wait in granian's (Rust) queue
        # rather than as Python objects competing for the GIL.
        backpressure=threads,
        log_access=False,
        log_level=LogLevels(config.log_level.lower()) if config.log_level.lower() in ("debug", "info", "warning",
                                                                                      "error") else LogLevels.info,
    )
    server.serve()
