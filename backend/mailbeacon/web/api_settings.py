"""/api/v1/settings (account settings, composer defaults, notification preferences) and deleting data."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select

from ..storage.models import MailAccount, TrackedMessage, User, UserSettings
from ..storage.users import settings_for
from ..web.destinations import forget_destinations
from .apiauth import require_user, user_session, user_transaction
from .errors import ApiError

bp = Blueprint("api_settings", __name__, url_prefix="/api/v1")
_HHMM = re.compile(r"\A([01]\d|2[0-3]):[0-5]\d\Z")

# JSON path -> model attribute, for the boolean settings.
_BOOLEANS = {
    ("tracking", "opens"): "open_tracking_enabled",
    ("tracking", "clicks"): "click_tracking_enabled",
    ("tracking", "notifications"): "notifications_enabled",
    ("composer_defaults", "track_opens"): "default_track_opens",
    ("composer_defaults", "track_clicks"): "default_track_clicks",
    ("notifications", "every_open"): "notify_every_open",
    ("notifications", "clicks"): "notify_clicks",
    ("outlook", "opened_category"): "outlook_opened_category",
}


def _rt():
    return current_app.extensions["mailbeacon"]


def user_settings() -> UserSettings:
    """The caller's settings, read in autocommit: only a new user's first call writes (their settings row)."""
    settings = user_session().get(UserSettings, g.user_id)
    if settings is None:
        with user_transaction() as session:
            settings = settings_for(session, g.user_id)
    return settings


def render_settings(s) -> dict:
    return {
        "tracking": {"opens": s.open_tracking_enabled, "clicks": s.click_tracking_enabled,
                     "notifications": s.notifications_enabled},
        "composer_defaults": {
            # Off in the account settings means the composer hides that toggle and sends don't track it.
            "track_opens": s.default_track_opens and s.open_tracking_enabled,
            "track_clicks": s.default_track_clicks and s.click_tracking_enabled,
            "show_opens_toggle": s.open_tracking_enabled, "show_clicks_toggle": s.click_tracking_enabled},
        "notifications": {"every_open": s.notify_every_open, "clicks": s.notify_clicks,
                          "quiet_hours": {"start": s.quiet_hours_start, "end": s.quiet_hours_end},
                          "timezone": s.timezone},
        "outlook": {"opened_category": s.outlook_opened_category},
    }


@bp.get("/settings")
@require_user
def get_settings():
    return jsonify(render_settings(user_settings()))


@bp.patch("/settings")
@require_user
def patch_settings():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object.")
    known_sections = {"tracking", "composer_defaults", "notifications", "outlook"}
    for section, values in body.items():
        if section not in known_sections or not isinstance(values, dict):
            raise ApiError(400, "invalid_request", f"unknown settings section {section!r}.")
    with user_transaction() as session:
        s = settings_for(session, g.user_id)
        for (section, key), attr in _BOOLEANS.items():
            if key in body.get(section, {}):
                value = body[section][key]
                if not isinstance(value, bool):
                    raise ApiError(400, "invalid_request", f"{section}.{key} must be true or false.")
                setattr(s, attr, value)
        notes = body.get("notifications", {})
        for key in notes:
            if key not in ("every_open", "clicks", "quiet_hours", "timezone"):
                raise ApiError(400, "invalid_request", f"unknown setting notifications.{key}.")
        for key in body.get("tracking", {}):
            if key not in ("opens", "clicks", "notifications"):
                raise ApiError(400, "invalid_request", f"unknown setting tracking.{key}.")
        if "quiet_hours" in notes:
            quiet = notes["quiet_hours"]
            if quiet is None:
                s.quiet_hours_start = s.quiet_hours_end = None
            elif (not isinstance(quiet, dict) or not all(isinstance(quiet.get(k), str) and _HHMM.match(quiet[k])
                                                         for k in ("start", "end"))):
                raise ApiError(400, "invalid_request", "quiet_hours is {start: \"HH:MM\", end: \"HH:MM\"} or null.")
            else:
                s.quiet_hours_start, s.quiet_hours_end = quiet["start"], quiet["end"]
        if "timezone" in notes:
            try:
                ZoneInfo(str(notes["timezone"]))
            except (ZoneInfoNotFoundError, ValueError):
                raise ApiError(400, "invalid_request", "timezone must be an IANA name such as Europe/Istanbul.")
            s.timezone = str(notes["timezone"])
        session.flush()
        return jsonify(render_settings(s))


@bp.delete("/me")
@require_user
def delete_me():
    """Delete the user and, through ON DELETE CASCADE, every account, message, hit and notification of theirs."""
    rt = _rt()
    with user_transaction() as session:
        ids = session.scalars(select(TrackedMessage.id).where(TrackedMessage.user_id == g.user_id)).all()
        session.delete(session.get(User, g.user_id))
    forget_destinations(rt.redis, list(ids))
    return "", 204


@bp.delete("/accounts/<int:account_id>")
@require_user
def delete_account(account_id: int):
    if account_id > 2**63 - 1:
        raise ApiError(404, "not_found", "No such account.")
    rt = _rt()
    with user_transaction() as session:
        account = session.scalar(select(MailAccount).where(MailAccount.id == account_id,
                                                           MailAccount.user_id == g.user_id))
        if account is None:
            raise ApiError(404, "not_found", "No such account.")
        ids = session.scalars(select(TrackedMessage.id).where(TrackedMessage.account_id == account_id)).all()
        session.delete(account)
    forget_destinations(rt.redis, list(ids))
    return "", 204
