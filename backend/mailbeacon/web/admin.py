"""/healthz (liveness), /readyz (dependencies), /metrics (Prometheus) and the admin API (admin token)."""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import func, select, text

from .. import __version__
from ..storage.models import Hit, Notification, TrackedMessage, User
from .errors import ApiError

bp = Blueprint("admin", __name__)

QUEUE_LAG_LIMIT_SECONDS = 60.0
SPOOL_LIMIT_BATCHES = 1000


def _rt():
    return current_app.extensions["mailbeacon"]


def _pipeline():
    return current_app.extensions["mailbeacon.pipeline"]


@bp.get("/healthz")
def healthz():
    # Liveness only: no dependency is consulted, so a database outage never gets a healthy process restarted.
    return jsonify({"status": "ok", "version": __version__})


def readiness() -> tuple[bool, dict]:
    rt = _rt()
    pipeline = _pipeline()
    checks: dict[str, dict] = {}
    try:
        with rt.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = {"ok": True}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": exc.__class__.__name__}
    spool_batches = pipeline.spool.size()
    checks["spool"] = {"ok": spool_batches < SPOOL_LIMIT_BATCHES, "batches": spool_batches}
    if rt.redis is None:
        checks["queue"] = {"ok": True, "mode": "embedded"}
        checks["workers"] = {"ok": True, "mode": "embedded (in-process)"}
    else:
        from ..jobs.status import queue_status

        try:
            status = queue_status(rt.redis)
            checks["redis"] = {"ok": True}
            lag_ok = status["hits_lag_seconds"] < QUEUE_LAG_LIMIT_SECONDS
            checks["queue"] = {"ok": lag_ok, "depth": status["depth"], "lag_seconds": status["hits_lag_seconds"]}
            missing = status["queues_without_worker"]
            checks["workers"] = {"ok": not missing, "alive": status["workers"], "queues_without_worker": missing}
        except Exception as exc:
            checks["redis"] = {"ok": False, "error": exc.__class__.__name__}
    ready = all(c["ok"] for c in checks.values())
    return ready, checks


@bp.get("/readyz")
def readyz():
    ready, checks = readiness()
    failing = sorted(name for name, c in checks.items() if not c["ok"])
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    if failing:
        body["failing"] = failing
    response = jsonify(body)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def metrics():
    from .metrics import render_metrics

    data, content_type = render_metrics(_rt(), _pipeline())
    return Response(data, content_type=content_type)


def _require_admin() -> None:
    token = _rt().config.admin_token
    if not token:
        raise ApiError(404, "not_found", "The admin API is disabled (set MAILBEACON_ADMIN_TOKEN).")
    offered = request.headers.get("Authorization", "")
    if not offered.startswith("Bearer ") or not hmac.compare_digest(offered[7:].encode(), token.encode()):
        raise ApiError(401, "unauthorized", "A valid admin token is required.",
                       headers={"WWW-Authenticate": 'Bearer realm="mailbeacon-admin"'})


@bp.get("/admin/api/counts")
def admin_counts():
    _require_admin()
    rt = _rt()
    with rt.db.session() as session:
        hits_by_kind = dict(session.execute(select(Hit.kind, func.count()).group_by(Hit.kind)).all())
        body = {
            "users": session.scalar(select(func.count()).select_from(User)),
            "messages": session.scalar(select(func.count()).select_from(TrackedMessage)),
            "hits": sum(hits_by_kind.values()),
            "hits_by_kind": hits_by_kind,
            "notifications": session.scalar(select(func.count()).select_from(Notification)),
        }
    body["spool_batches"] = _pipeline().spool.size()
    return jsonify(body)


@bp.get("/admin/api/failed-jobs")
def admin_failed_jobs():
    _require_admin()
    from ..jobs.status import failed_jobs

    rt = _rt()
    jobs = failed_jobs(rt.redis) if rt.redis is not None else [
        {"id": f["id"], "queue": "hits", "kind": "spooled hit batch", "hits": f["hits"],
         "failed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(f["failed_at"])), "error": None}
        for f in _pipeline().spool.failed()]
    return jsonify({"failed_jobs": jobs})


@bp.post("/admin/api/failed-jobs/<job_id>/retry")
def admin_retry_job(job_id: str):
    _require_admin()
    from ..jobs.status import retry_failed_job

    rt = _rt()
    ok = retry_failed_job(rt.redis, job_id) if rt.redis is not None else _pipeline().spool.retry_failed(job_id)
    if not ok:
        raise ApiError(404, "not_found", "No failed job with that id.")
    if rt.redis is None:
        _pipeline().replayer.kick()
    return jsonify({"retried": job_id}), 202
