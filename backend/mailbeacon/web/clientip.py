"""Which address a hit came from, and the only form of it we ever store."""

from __future__ import annotations

import ipaddress


def client_ip(environ: dict, trusted_proxies: int) -> str | None:
    """The socket's peer, or the X-Forwarded-For entry added by the outermost of our own trusted proxies.

    Only the last `trusted_proxies` entries were written by proxies we run; anything to their left was sent by the
    client and could say anything, so it is never believed.
    """
    remote = environ.get("REMOTE_ADDR") or None
    if trusted_proxies <= 0:
        return _valid(remote)
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    if len(hops) < trusted_proxies:
        return _valid(remote)
    return _valid(hops[-trusted_proxies]) or _valid(remote)


def _valid(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:5555"
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value.split("%", 1)[0]))
    except ValueError:
        return None


def truncate_ip(ip: str | None) -> str | None:
    """/24 for IPv4 and /48 for IPv6: enough for a coarse place, not enough to identify a household."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))
