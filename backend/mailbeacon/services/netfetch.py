"""Download the publishers' network lists into the networks directory, safely.

Each file is fetched with short timeouts and a size cap, checked with the same parsers the
loader uses, and only then renamed over the file in force: a failed download, an error page,
a truncated or malformed file or an empty list leaves the previous file (and so the
classification) exactly as it was, and says why in the log. Conditional requests (ETag,
Last-Modified) make an unchanged list cost a 304.

The directory holds a small state file (.fetch-state.json) with each download's validators;
names starting with a dot are invisible to the loader.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from ..tracking.netsources import PublishedFile, Source
from ..tracking.networks import NetworkListError, check_list_file

log = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024 * 1024  # Apple's egress list, the largest, is a few megabytes
TIMEOUT = (5.0, 30.0)  # connect, and each read
DEADLINE_SECONDS = 300.0  # a whole download, however slowly the bytes trickle in
STATE_FILE = ".fetch-state.json"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchResult:
    source: str
    file: str
    outcome: str  # installed, unchanged, not_modified, refused (a bad file), failed (no file)
    detail: str = ""
    networks: int | None = None


class _Refused(Exception):
    pass


class Fetcher:
    """Fetches sources into `directory`. `mirror_url` fetches every file from `<mirror>/<saved name>` instead
    of its publisher; `urls` overrides single files by saved name (both for a mirror of your own, and tests)."""

    def __init__(self, directory: str | os.PathLike[str], *, mirror_url: str | None = None,
                 urls: Mapping[str, str] | None = None, session: requests.Session | None = None,
                 timeout: tuple[float, float] = TIMEOUT, max_bytes: int = MAX_BYTES,
                 deadline_seconds: float = DEADLINE_SECONDS, client_request_id: str | None = None) -> None:
        self.directory = Path(directory)
        self._mirror = mirror_url.rstrip("/") if mirror_url else None
        self._urls = dict(urls or {})
        self._session = session or requests.Session()
        self._session.headers.setdefault("User-Agent", "mailbeacon-networks-fetch")
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._deadline = deadline_seconds
        self._client_request_id = client_request_id or str(uuid.uuid4())

    def url_for(self, published: PublishedFile) -> str:
        if published.save_as in self._urls:
            return self._urls[published.save_as]
        if self._mirror:
            return f"{self._mirror}/{published.save_as}"
        return published.url.format(client_request_id=self._client_request_id)

    def fetch(self, sources: Iterable[Source]) -> list[FetchResult]:
        if not self.directory.is_dir():
            raise NotADirectoryError(f"network list directory {str(self.directory)!r} is not a directory")
        results = []
        for source in sources:
            for published in source.files:
                result = self.fetch_file(source.name, published)
                level = logging.WARNING if result.outcome in ("refused", "failed") else logging.INFO
                log.log(level, "network list %s: %s%s", published.save_as, result.outcome,
                        f" ({result.detail})" if result.detail else "",
                        extra={"source": source.name, "outcome": result.outcome})
                results.append(result)
        return results

    def fetch_file(self, source: str, published: PublishedFile) -> FetchResult:
        url = self.url_for(published)
        target = self.directory / published.save_as
        state = self._read_state()
        known = state.get(published.save_as) or {}
        headers = {}
        if target.is_file() and known.get("url") == url:
            if known.get("etag"):
                headers["If-None-Match"] = known["etag"]
            if known.get("last_modified"):
                headers["If-Modified-Since"] = known["last_modified"]
        workdir = Path(tempfile.mkdtemp(prefix=".fetching-", dir=self.directory))
        try:
            try:
                with self._session.get(url, headers=headers, stream=True, timeout=self._timeout) as answer:
                    if answer.status_code == 304:
                        return FetchResult(source, published.save_as, "not_modified")
                    if answer.status_code != 200:
                        return FetchResult(source, published.save_as, "failed", f"HTTP {answer.status_code}")
                    fresh = workdir / published.save_as
                    digest = self._download(answer, fresh)
                    validators = {"url": url, "etag": answer.headers.get("ETag"),
                                  "last_modified": answer.headers.get("Last-Modified")}
            except requests.RequestException as error:
                return FetchResult(source, published.save_as, "failed", _one_line(error))
            except _Refused as error:
                return FetchResult(source, published.save_as, "refused", str(error))
            try:
                count = check_list_file(fresh)
            except (NetworkListError, UnicodeError, ValueError) as error:
                return FetchResult(source, published.save_as, "refused", _one_line(error))
            if target.is_file() and _sha256(target) == digest:
                outcome = "unchanged"  # left alone: the workers' fingerprint stays, so nothing reloads
            else:
                os.replace(fresh, target)
                _fsync_directory(self.directory)
                outcome = "installed"
            state[published.save_as] = validators
            self._write_state(state)
            return FetchResult(source, published.save_as, outcome, networks=count)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _download(self, answer: requests.Response, path: Path) -> str:
        declared = answer.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise _Refused(f"{int(declared)} bytes announced, more than the {self._max_bytes} allowed")
        deadline = time.monotonic() + self._deadline
        digest = hashlib.sha256()
        size = 0
        with path.open("wb") as out:
            for chunk in answer.iter_content(_CHUNK):
                size += len(chunk)
                if size > self._max_bytes:
                    raise _Refused(f"more than the {self._max_bytes} bytes allowed")
                if time.monotonic() > deadline:
                    raise _Refused(f"not complete within {self._deadline:g} s")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise _Refused("the answer was empty")
        return digest.hexdigest()

    def _read_state(self) -> dict:
        try:
            state = json.loads((self.directory / STATE_FILE).read_text())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self, state: dict) -> None:
        fd, name = tempfile.mkstemp(prefix=".fetch-state-", dir=self.directory)
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(state, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(name, self.directory / STATE_FILE)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for chunk in iter(lambda: data.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(directory: Path) -> None:
    """The rename itself survives a crash only once the directory is synced."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else error.__class__.__name__)[:300]


def fetcher_for(config) -> Fetcher:
    """The Fetcher a deployment's settings describe (MAILBEACON_NETWORKS_DIR, MAILBEACON_NETWORKS_MIRROR_URL)."""
    if not config.networks_dir:
        raise NotADirectoryError("MAILBEACON_NETWORKS_DIR is not set: there is nowhere to put the lists")
    # Microsoft asks each caller for a GUID of its own; one derived from the secret is stable and says nothing.
    request_id = uuid.UUID(bytes=hashlib.sha256(b"microsoft-endpoints\0" + config.secret_key.encode()).digest()[:16],
                           version=4)
    return Fetcher(config.networks_dir, mirror_url=config.networks_mirror_url, client_request_id=str(request_id))


def summarise(results: Iterable[FetchResult]) -> dict:
    """{"installed": [file, …], "unchanged": […], "not_modified": […], "refused": {file: why}, "failed": {…}}."""
    summary: dict = {"installed": [], "unchanged": [], "not_modified": [], "refused": {}, "failed": {}}
    for result in results:
        if result.outcome in ("refused", "failed"):
            summary[result.outcome][result.file] = result.detail
        else:
            summary[result.outcome].append(result.file)
    return summary
