"""A local disk spool for hit batches: where hits wait while Redis is unreachable (and, in embedded mode, the
queue itself).

One file per batch, written to a temporary name, fsynced and renamed into place, so a crash leaves either a whole
batch or nothing. A replayer claims a file by renaming it (atomic, so two processes never replay one file), hands
it on and deletes it only after the hand-off succeeded; a claim left by a dead process is taken back after a while.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

log = logging.getLogger(__name__)
STALE_CLAIM_SECONDS = 120


class Spool:
    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.failed_directory = self.directory / "failed"
        self._failures: dict[str, int] = {}

    def _ensure(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def write(self, batch: list[dict]) -> Path:
        self._ensure()
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex}"
        tmp = self.directory / f".{name}.tmp"
        final = self.directory / f"{name}.batch"
        data = json.dumps(batch, separators=(",", ":")).encode("utf-8")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
        return final

    def pending(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob("*.batch"))

    def size(self) -> int:
        """Batches waiting (claimed ones included: they are not handed on yet)."""
        if not self.directory.exists():
            return 0
        return sum(1 for p in self.directory.iterdir() if p.suffix in (".batch", ".claimed"))

    def hits_waiting(self) -> int:
        total = 0
        for path in list(self.directory.glob("*.batch")) + list(self.directory.glob("*.claimed")):
            try:
                total += len(json.loads(path.read_bytes()))
            except (OSError, ValueError):
                continue
        return total

    def _reclaim_stale(self) -> None:
        now = time.time()
        for claimed in self.directory.glob("*.claimed"):
            try:
                if now - claimed.stat().st_mtime > STALE_CLAIM_SECONDS:
                    os.rename(claimed, claimed.with_suffix(".batch"))
            except OSError:
                continue

    def claims(self) -> Iterator[tuple[Path, list[dict]]]:
        self._reclaim_stale()
        for path in self.pending():
            claimed = path.with_suffix(".claimed")
            try:
                os.rename(path, claimed)
            except OSError:
                continue  # another process took it
            try:
                batch = json.loads(claimed.read_bytes())
            except (OSError, ValueError):
                log.error("spool file %s is unreadable; moved aside", claimed.name)
                os.rename(claimed, claimed.with_suffix(".corrupt"))
                continue
            yield claimed, batch

    def replay(self, handler: Callable[[list[dict]], None], *, limit: int | None = None,
               max_attempts: int | None = None) -> int:
        """Hand each spooled batch to `handler`; a batch whose hand-off raises stays spooled (or, after
        `max_attempts`, is set aside in failed/ for an operator to retry). Returns batches done."""
        done = 0
        for claimed, batch in self.claims():
            try:
                handler(batch)
            except Exception:
                attempts = self._failures.get(claimed.stem, 0) + 1
                if max_attempts is not None and attempts >= max_attempts:
                    self._failures.pop(claimed.stem, None)
                    self.failed_directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                    set_aside = self.failed_directory / (claimed.stem + ".batch")
                    os.rename(claimed, set_aside)
                    os.utime(set_aside)  # when it failed, which is what its expiry counts from (retention.py)
                    log.error("spooled batch %s failed %d times; set aside for retry", claimed.stem, attempts)
                else:
                    self._failures[claimed.stem] = attempts
                    os.rename(claimed, claimed.with_suffix(".batch"))
                raise
            self._failures.pop(claimed.stem, None)
            claimed.unlink()
            done += 1
            if limit is not None and done >= limit:
                break
        return done

    def failed(self) -> list[dict]:
        if not self.failed_directory.exists():
            return []
        out = []
        for path in sorted(self.failed_directory.glob("*.batch")):
            try:
                hits = len(json.loads(path.read_bytes()))
            except (OSError, ValueError):
                hits = None
            out.append({"id": path.stem, "hits": hits, "failed_at": path.stat().st_mtime})
        return out

    def retry_failed(self, batch_id: str) -> bool:
        if not batch_id or "/" in batch_id or batch_id.startswith("."):
            return False
        path = self.failed_directory / f"{batch_id}.batch"
        if not path.exists():
            return False
        self._ensure()
        os.rename(path, self.directory / f"{batch_id}.batch")
        return True

    def expire_set_aside(self, older_than_seconds: float) -> int:
        """Delete batches set aside longer ago than this: failed ones waiting for a retry, and unreadable ones.
        Both hold full client addresses, which must not stay on disk for long. Returns how many went."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in [*self.failed_directory.glob("*.batch"), *self.directory.glob("*.corrupt")]:
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # retried or removed meanwhile
            except OSError:
                log.warning("could not remove an expired spooled batch", exc_info=True)
        return removed
