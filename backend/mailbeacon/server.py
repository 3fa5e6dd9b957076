"""Running the WSGI app on granian (a Rust HTTP server) with the settings the command line chose.

One entry point for every mode: the hit endpoints are a bare WSGI app in front of Flask inside the same
application, so production needs no separate server to be fast.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from .config import Config

# Requests wait briefly on group commit, so each process needs more threads than cores; 64 matches the
# concurrency a busy hit endpoint sees per process without letting a flood queue unbounded work.
DEFAULT_THREADS = 64


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
        "mailbeacon.wsgi:application",
        address=config.host,
        port=config.port,
        interface=Interfaces.WSGI,
        workers=max(1, workers),
        blocking_threads=threads,
        backpressure=threads,
        log_access=False,
        log_level=LogLevels(config.log_level.lower()) if config.log_level.lower() in ("debug", "info", "warning",
                                                                                      "error") else LogLevels.info,
    )
    server.serve()


def run_stream_server(config: Config, *, workers: int = 2, connections: int = 2000) -> None:
    """The real-time channel on gunicorn's gevent worker: thousands of idle streams per process, one Redis
    subscriber per process. Serves the same application; a proxy routes /api/v1/stream here."""
    from gunicorn.app.base import BaseApplication

    class StreamApplication(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{config.host}:{config.port}")
            self.cfg.set("workers", max(1, workers))
            self.cfg.set("worker_class", "gevent")
            self.cfg.set("worker_connections", connections)
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("accesslog", None)

        def load(self):
            from .wsgi import application

            return application

    StreamApplication().run()
