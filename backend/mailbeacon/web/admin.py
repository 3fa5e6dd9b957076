"""/healthz (liveness: the process answers) and, from the hit-pipeline issue on, /readyz, /metrics, admin API."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .. import __version__

bp = Blueprint("admin", __name__)


@bp.get("/healthz")
def healthz():
    # Liveness only: no dependency is consulted, so a database outage never gets a healthy process restarted.
    return jsonify({"status": "ok", "version": __version__})
