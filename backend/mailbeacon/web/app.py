"""Flask application assembly: blueprints, CORS, errors, and the bare hit app in front."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from ..config import Config
from ..runtime import Runtime
from ..storage import messages as message_queries
from .errors import install_error_handlers
from .hits import HitApp, NullSink

log = logging.getLogger(__name__)


class DatabaseLookup:
    """Click destinations straight from the database (the hit-pipeline issue puts a Redis cache in front)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def destination(self, message_id: int, link_index: int) -> str | None:
        with self.rt.db.session() as session:
            return message_queries.link_destination(session, message_id, link_index)


def build_app(config: Config | None = None, *, runtime: Runtime | None = None) -> Flask:
    config = config or (runtime.config if runtime else Config.from_env())
    rt = runtime or Runtime(config)
    app = Flask("mailbeacon")
    app.config["SECRET_KEY"] = config.secret_key
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["mailbeacon"] = rt

    install_error_handlers(app)
    from . import admin

    app.register_blueprint(admin.bp)

    app.wsgi_app = HitApp(  # type: ignore[method-assign]
        keyring=rt.keyring,
        lookup=DatabaseLookup(rt),
        sink=NullSink(),
        trusted_proxies=config.trusted_proxies,
        fallback=app.wsgi_app,
    )
    return app


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["mailbeacon"]


__all__ = ["build_app", "runtime_of", "SQLAlchemyError"]
