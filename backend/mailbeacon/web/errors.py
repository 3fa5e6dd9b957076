"""JSON errors of one shape: {"error": {"code": "...", "message": "..."}} with the right status."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from ..storage.db import unavailable

log = logging.getLogger(__name__)
# Long enough for a database restart or a fail-over to finish, short enough that a client's list catches up soon.
DATABASE_RETRY_AFTER = 5


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(status: int, code: str, message: str, headers: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _code_for(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        headers = {k: v for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after", "www-authenticate")}
        return error_response(exc.code or 500, _code_for(exc), exc.description or exc.name, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")

    @app.errorhandler(SQLAlchemyError)
    def _database_error(exc: SQLAlchemyError):
        if not unavailable(exc):
            return _unexpected(exc)
        # The driver's own words only: SQLAlchemy's message goes on to the statement and its parameters.
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        log.warning("database unavailable: %s: %s", type(exc).__name__, reason[0] if reason else "")
        return error_response(503, "database_unavailable", "The database can't be reached just now; try again "
                                                           "shortly.", {"Retry-After": str(DATABASE_RETRY_AFTER)})
