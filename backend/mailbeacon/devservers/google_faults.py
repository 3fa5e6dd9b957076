"""Injected faults: failures, slowness and lost responses, per operation.

Operations are named like the discovery document's method ids (``users.drafts.send``) and, for the
identity side, ``oauth.token`` and friends. A typo must not silently inject nothing, so unknown names
raise.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

OAUTH_OPERATIONS = (
    "oidc.discovery",
    "oauth.authorize",
    "oauth.token",
    "oauth.revoke",
    "oauth.userinfo",
    "oauth.certs",
    "oauth.tokeninfo",
)
GMAIL_OPERATIONS = (
    "users.getProfile",
    "users.labels.list",
    "users.drafts.create",
    "users.drafts.get",
    "users.drafts.list",
    "users.drafts.update",
    "users.drafts.delete",
    "users.drafts.send",
    "users.messages.get",
    "users.messages.list",
    "users.messages.send",
    "users.messages.attachments.get",
    "users.threads.get",
    "users.threads.list",
)
OPERATIONS = OAUTH_OPERATIONS + GMAIL_OPERATIONS
FAILURE_STATUSES = (429, 500, 503)
LOST_RESPONSE_MODES = ("drop", "500")


def canonical_operation(name: str) -> str:
    """Accept ``drafts.send``, ``users.drafts.send``, ``gmail.users.drafts.send``, ``token``."""
    candidate = name.strip()
    if candidate.startswith("gmail."):
        candidate = candidate[len("gmail.") :]
    for option in (candidate, f"users.{candidate}", f"oauth.{candidate}"):
        if option in OPERATIONS:
            return option
    raise ValueError(f"unknown stand-in operation {name!r}; known: {', '.join(OPERATIONS)}")


@dataclass
class InjectedFailure:
    status: int
    retry_after: int | None
    remaining: int


@dataclass
class LostResponse:
    mode: str
    remaining: int


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._failures: dict[str, list[InjectedFailure]] = {}
            self._lost: dict[str, list[LostResponse]] = {}
            self._delays: dict[str | None, float] = {}
            self.stale_draft_reads = 0

    def fail_next(self, operation: str, *, times: int = 1, status: int = 429, retry_after: int | None = 1) -> None:
        if status not in FAILURE_STATUSES:
            raise ValueError(f"status must be one of {FAILURE_STATUSES}, not {status}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._failures.setdefault(canonical_operation(operation), []).append(
                InjectedFailure(status, retry_after if status == 429 else None, times)
            )

    def take_failure(self, operation: str) -> InjectedFailure | None:
        with self._lock:
            queue = self._failures.get(operation)
            if not queue:
                return None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining == 0:
                queue.pop(0)
            return failure

    def set_delay(self, seconds: float, operation: str | None = None) -> None:
        if seconds < 0:
            raise ValueError("delay cannot be negative")
        key = canonical_operation(operation) if operation else None
        with self._lock:
            if seconds:
                self._delays[key] = seconds
            else:
                self._delays.pop(key, None)

    def delay_for(self, operation: str) -> float:
        with self._lock:
            return self._delays.get(operation, self._delays.get(None, 0.0))

    def lose_next_response(self, operation: str = "users.drafts.send", *, times: int = 1, mode: str = "drop") -> None:
        if mode not in LOST_RESPONSE_MODES:
            raise ValueError(f"mode must be one of {LOST_RESPONSE_MODES}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._lost.setdefault(canonical_operation(operation), []).append(LostResponse(mode, times))

    def take_lost_response(self, operation: str) -> str | None:
        with self._lock:
            queue = self._lost.get(operation)
            if not queue:
                return None
            lost = queue[0]
            lost.remaining -= 1
            if lost.remaining == 0:
                queue.pop(0)
            return lost.mode

    def describe(self) -> dict[str, object]:
        with self._lock:
            return {
                "failures": {op: [vars(f).copy() for f in queue] for op, queue in self._failures.items() if queue},
                "lostResponses": {op: [vars(l).copy() for l in queue] for op, queue in self._lost.items() if queue},
                "delays": {op or "*": seconds for op, seconds in self._delays.items()},
                "staleDraftReads": self.stale_draft_reads,
            }
