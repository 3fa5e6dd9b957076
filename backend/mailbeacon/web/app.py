"""Flask application assembly: blueprints, CORS, errors, and the bare hit app in front."""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, g, request
from sqlalchemy.exc import SQLAlchemyError

from ..config import Config
from ..logs import request_id_var
from ..runtime import Runtime
from .destinations import CachedLookup
from .errors import install_error_handlers
from .hits import HitApp
from .optout import OptOutPage

log = logging.getLogger(__name__)


def build_app(config: Config | None = None, *, runtime: Runtime | None = None) -> Flask:
    config = config or (runtime.config if runtime else Config.from_env())
    rt = runtime or Runtime(config)
    app = Flask("mailbeacon")
    app.config["SECRET_KEY"] = config.secret_key
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["mailbeacon"] = rt

    install_error_handlers(app)
    _install_request_logging(app)
    _refuse_nul_bytes(app)
    from . import admin, api, api_notifications, api_settings, api_views, auth, openapi, stream
    from . import addin_files, api_outlook, auth_microsoft  # the Outlook add-in's web files, sign-in and API

    app.register_blueprint(admin.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(auth_microsoft.bp)
    app.register_blueprint(api_outlook.bp)
    app.register_blueprint(addin_files.bp)
    for blueprint in (api.bp, api_views.bp, api_settings.bp, api_notifications.bp, stream.bp, openapi.bp):
        app.register_blueprint(blueprint)
    _install_cors(app, config)

    from ..jobs.pipeline import HitPipeline

    pipeline = HitPipeline(rt)
    app.extensions["mailbeacon.pipeline"] = pipeline
    app.wsgi_app = HitApp(  # type: ignore[method-assign]
        keyring=rt.keyring,
        lookup=CachedLookup(rt),
        sink=pipeline,
        trusted_proxies=config.trusted_proxies,
        fallback=app.wsgi_app,
        optout=OptOutPage(rt),
    )
    return app


def _origin_of(url: str) -> str | None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _install_cors(app: Flask, config: Config) -> None:
    """Only our own clients' origins, and no cookies: the API authenticates with bearer tokens alone."""
    from flask_cors import CORS

    # Our own origin too: classic Outlook's JavaScript-only runtime calls the API cross-origin from our add-in files.
    own = _origin_of(config.public_url)
    origins = list(config.cors_origins) + [f"chrome-extension://{ext_id}" for ext_id in config.extension_ids]
    origins += [own] if own and own not in origins else []
    if origins:
        CORS(app, resources={r"/api/*": {"origins": origins}, r"/auth/token": {"origins": origins},
                             r"/auth/microsoft/sso": {"origins": origins}},
             supports_credentials=False, allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
             expose_headers=["X-Request-Id", "Retry-After"], max_age=600)


_REQUEST_ID = re.compile(r"\A[A-Za-z0-9._-]{8,64}\Z")


def _install_request_logging(app: Flask) -> None:
    access = logging.getLogger("mailbeacon.access")

    @app.before_request
    def _start():
        offered = request.headers.get("X-Request-Id", "")
        g.request_id = offered if _REQUEST_ID.match(offered) else secrets.token_hex(8)
        g.request_token = request_id_var.set(g.request_id)
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        started = g.get("started")
        if started is not None:
            access.info("request", extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 2)})
        return response

    @app.teardown_request
    def _reset(_exc):
        # Popped, not read: a streamed answer (stream_with_context) tears its request down a second time when the
        # stream closes, and a context token can be used only once.
        token = g.pop("request_token", None)
        if token is not None:
            request_id_var.reset(token)


def _refuse_nul_bytes(app: Flask) -> None:
    """PostgreSQL cannot store U+0000 in text and answers it with an error: refuse it at the door with a 400,
    so no input can turn into a 500 deep in a query."""
    from .errors import ApiError

    @app.before_request
    def _no_nul():
        if "\x00" in request.path or b"%00" in request.query_string or b"\x00" in request.query_string:
            raise ApiError(400, "invalid_request", "NUL characters are not allowed.")
        if request.content_length and request.content_length <= 1_000_000:
            body = request.get_data(cache=True)
            if b"\x00" in body or b"\\u0000" in body.lower():
                raise ApiError(400, "invalid_request", "NUL characters are not allowed.")


def pipeline_of(app: Flask):
    return app.extensions["mailbeacon.pipeline"]


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["mailbeacon"]


__all__ = ["build_app", "runtime_of", "SQLAlchemyError"]
