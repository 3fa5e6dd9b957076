"""What the worker knows about one hit, and the `mailbeacon classify` line format for it.

The full IP address is here because classification needs it (network lists, the
sender's own address); it is transient — the worker stores only what the storage
layer keeps, never this object.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

HitKind = Literal["open", "click"]


@dataclass(frozen=True)
class HitFacts:
    id: str
    message: str
    hit: HitKind
    method: str
    user_agent: str
    ip: str | None
    seconds_since_sent: float | None
    headers: Mapping[str, str] = field(default_factory=dict)
    link: int | None = None
    links_in_message: int | None = None
    honeypot: bool = False
    reverse_dns: str | None = None
    forward_confirmed: bool | None = None
    asn: int | None = None
    sender_viewing_seconds_ago: float | None = None
    sender_last_ip: str | None = None
    sender_cookie: bool = False
    at: float | None = None  # unix time of the hit, for bursts (else seconds_since_sent)

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    @property
    def timeline(self) -> float | None:
        """When the hit happened, on whichever clock this message's hits share."""
        return self.at if self.at is not None else self.seconds_since_sent

    @classmethod
    def from_json(cls, obj: Any) -> HitFacts:
        """Build from one `mailbeacon classify` input object.

        Raises ValueError with a message naming the offending field; unknown fields are
        ignored so that producers can add context without breaking older classifiers.
        """
        if not isinstance(obj, dict):
            raise ValueError(f"expected a JSON object, got {_json_type(obj)}")
        sender = obj.get("sender")
        if sender is None:
            sender = {}
        elif not isinstance(sender, dict):
            raise ValueError(f"'sender' must be an object, got {_json_type(sender)}")
        hit = obj.get("hit")
        if hit not in ("open", "click"):
            raise ValueError(f"'hit' must be \"open\" or \"click\", got {_show(hit)}")
        return cls(
            id=_identifier(obj, "id"),
            message=_identifier(obj, "message"),
            hit=hit,
            method=_text(obj, "method", default="GET").strip().upper() or "GET",
            user_agent=_text(obj, "user_agent", default=""),
            ip=_ip(obj.get("ip"), "ip"),
            seconds_since_sent=_number(obj, "seconds_since_sent"),
            headers=_headers(obj.get("headers")),
            link=_integer(obj, "link", minimum=0),
            links_in_message=_integer(obj, "links_in_message", minimum=0),
            honeypot=_boolean(obj, "honeypot") or False,
            reverse_dns=_text(obj, "reverse_dns", default=None),
            forward_confirmed=_boolean(obj, "forward_confirmed"),
            asn=_asn(obj.get("asn")),
            sender_viewing_seconds_ago=_number(sender, "viewing_seconds_ago", "sender."),
            sender_last_ip=_ip(sender.get("last_ip"), "sender.last_ip"),
            sender_cookie=bool(_boolean(sender, "cookie", "sender.") or _boolean(obj, "sender_cookie")),
            at=_number(obj, "at"),
        )


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else '"' + value[:40] + '"'
    return "nothing" if value is None else text


def _identifier(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise ValueError(f"'{name}' is required and must be a string or an integer, got {_show(value)}")
    return str(value)


def _text(obj: dict[str, Any], name: str, *, default: str | None) -> Any:
    value = obj.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"'{name}' must be a string, got {_json_type(value)}")
    return value


def _number(obj: dict[str, Any], name: str, prefix: str = "") -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"'{prefix}{name}' must be a number, got {_show(value)}")
    return float(value)


def _integer(obj: dict[str, Any], name: str, *, minimum: int) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"'{name}' must be an integer of at least {minimum}, got {_show(value)}")
    return value


def _boolean(obj: dict[str, Any], name: str, prefix: str = "") -> bool | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ValueError(f"'{prefix}{name}' must be true or false, got {_show(value)}")
    return value


def _ip(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{name}' must be an IP address string, got {_json_type(value)}")
    try:
        return str(ipaddress.ip_address(value.strip().split("%", 1)[0]))
    except ValueError:
        raise ValueError(f"'{name}' is not an IP address: {_show(value)}") from None


def _asn(value: Any) -> int | None:
    # Accept 15324 as well as the "AS15324" spelling whois and most tools print.
    if value is None:
        return None
    if isinstance(value, str) and value.upper().removeprefix("AS").isdigit():
        value = int(value.upper().removeprefix("AS"))
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"'asn' must be an AS number, got {_show(value)}")
    return value


def _headers(value: Any) -> Mapping[str, str]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, dict):
        raise ValueError(f"'headers' must be an object, got {_json_type(value)}")
    headers: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, list):  # a repeated header; HTTP joins them with commas
            item = ", ".join(str(part) for part in item)
        elif isinstance(item, (dict, bool)) or item is None:
            raise ValueError(f"header {key!r} must be a string, got {_json_type(item)}")
        headers[str(key)] = str(item)
    return MappingProxyType(headers)
