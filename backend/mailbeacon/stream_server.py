"""The real-time channel on gunicorn's gevent worker: thousands of idle streams per process and one Redis
subscriber per process. It serves the same application; a proxy routes /api/v1/stream to it."""

from __future__ import annotations

from .config import Config


def run_stream_server(config: Config, *, workers: int = 2, connections: int = 2000) -> None:
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
