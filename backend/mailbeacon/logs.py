"""JSON logs, one object a line, with the request id; never a token, an address or a full IP.

Scrubbing happens in the formatter, so a careless log call anywhere can't leak what it was handed.
"""

from __future__ import annotations

import contextvars
import ipaddress
import json
import logging
import re
import sys
import time

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("mailbeacon_request_id", default=None)

_HIT_PATH = re.compile(r"/([ocu])/[A-Za-z0-9_-]{8,}")
_BEARER = re.compile(r"(?i)\b(bearer|token|code|secret|password|refresh_token|access_token)([\"']?\s*[:=]\s*[\"']?|\s+)"
                     r"[A-Za-z0-9._~+/=-]{6,}")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_IPV4 = re.compile(r"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:.])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(?![\w:])")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")


def _ipv6_or_keep(match: re.Match) -> str:
    candidate = match.group(0)
    try:
        ipaddress.IPv6Address(candidate.split("%", 1)[0])
    except ValueError:
        return candidate  # a duration like 0:00:01 or a port list, not an address
    return "<ipv6>"


def scrub(text: str) -> str:
    text = _JWT.sub("<jwt>", text)
    text = _HIT_PATH.sub(lambda m: f"/{m.group(1)}/<token>", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}<redacted>", text)
    text = _EMAIL.sub("<address>", text)
    text = _IPV4.sub(lambda m: f"{m.group(1)}.{m.group(2)}.{m.group(3)}.x", text)
    text = _IPV6_CANDIDATE.sub(_ipv6_or_keep, text)
    return text


class JsonFormatter(logging.Formatter):
    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = json.loads(scrub(json.dumps(value, default=str)))
        if record.exc_info:
            entry["error"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Werkzeug and RQ log request lines with full paths (tokens) and job payloads of their own; ours replace them.
    for noisy in ("werkzeug", "rq.worker", "rq.queue", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
