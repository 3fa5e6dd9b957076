"""Which hits the sender wants to hear about (account and notification settings)."""

from __future__ import annotations

from datetime import datetime, time as dtime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..storage.models import Hit, UserSettings

NOTIFYING_OPEN_KINDS = frozenset({"human", "proxy_open"})
NOTIFYING_CLICK_KINDS = frozenset({"human"})


def wants_notification(settings: UserSettings, hit: Hit, *, first_open: bool) -> bool:
    """Machine hits never notify; opens notify on the first one unless the sender asked for every open."""
    if not settings.notifications_enabled:
        return False
    if hit.hit_type == "open":
        if hit.kind not in NOTIFYING_OPEN_KINDS:
            return False
        return first_open or settings.notify_every_open
    if hit.kind not in NOTIFYING_CLICK_KINDS:
        return False
    return settings.notify_clicks


def _parse_hhmm(value: str | None) -> dtime | None:
    if not value:
        return None
    try:
        hours, minutes = value.split(":")
        return dtime(int(hours), int(minutes))
    except ValueError:
        return None


def in_quiet_hours(settings: UserSettings, at: datetime) -> bool:
    """Quiet hours silence the desktop alert; the notification is still stored for the bell."""
    start, end = _parse_hhmm(settings.quiet_hours_start), _parse_hhmm(settings.quiet_hours_end)
    if start is None or end is None or start == end:
        return False
    try:
        zone = ZoneInfo(settings.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = at.astimezone(zone).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end  # spans midnight
