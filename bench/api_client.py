"""A small asyncio HTTP/1.1 client for bench/api.py: keep-alive requests and Server-Sent Events readers.

Hand-written on asyncio streams because the benchmark holds a thousand idle streams open beside its request load
in one process: a coroutine and a socket per stream cost next to nothing, where a thread per stream (http.client)
would not. It speaks only what our own servers answer: Content-Length or chunked bodies, on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass
from typing import Callable


class HttpError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HttpError(f"not an HTTP response: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _read_chunk(reader: asyncio.StreamReader) -> bytes:
    """One chunk of a chunked body; b"" for the last one."""
    size_line = await reader.readuntil(b"\r\n")
    size = int(size_line.split(b";", 1)[0].strip(), 16)
    if size == 0:
        await reader.readuntil(b"\r\n")  # no trailers from our servers
        return b""
    data = await reader.readexactly(size)
    await reader.readexactly(2)
    return data


def _request_bytes(method: str, path: str, host: str, headers: dict[str, str], body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


class HttpConnection:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                      body: bytes | None = None) -> Response:
        if self._writer is None or self._writer.is_closing():
            await self._connect()
        assert self._reader is not None and self._writer is not None
        self._writer.write(_request_bytes(method, path, f"{self.host}:{self.port}", headers or {}, body))
        try:
            status, response_headers = await _read_head(self._reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            # The server closed an idle keep-alive connection just before we reused it: once more, on a new one.
            await self.close()
            await self._connect()
            self._writer.write(_request_bytes(method, path, f"{self.host}:{self.port}", headers or {}, body))
            status, response_headers = await _read_head(self._reader)
        if response_headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while chunk := await _read_chunk(self._reader):
                parts.append(chunk)
            data = b"".join(parts)
        else:
            data = await self._reader.readexactly(int(response_headers.get("content-length", "0")))
        if response_headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, response_headers, data)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        self._reader = self._writer = None


EventHandler = Callable[[str, dict, float], None]


class EventStream:
    """A client of GET /api/v1/stream that parses events as they arrive and hands each to `on_event`
    with the perf_counter() time it was read, which is what the hit-to-notification figure measures."""

    def __init__(self, host: str, port: int, token: str, *, last_event_id: int, on_event: EventHandler) -> None:
        self.host, self.port, self.token = host, port, token
        self.last_event_id = last_event_id
        self.on_event = on_event
        self.events = 0
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None
        self.error: str | None = None

    async def open(self, timeout: float = 30.0) -> None:
        reader, self._writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream",
                   "Last-Event-ID": str(self.last_event_id)}
        self._writer.write(_request_bytes("GET", "/api/v1/stream", f"{self.host}:{self.port}", headers, None))
        status, response_headers = await asyncio.wait_for(_read_head(reader), timeout)
        if status != 200 or not response_headers.get("content-type", "").startswith("text/event-stream"):
            raise HttpError(f"stream answered {status} {response_headers.get('content-type')}")
        chunked = response_headers.get("transfer-encoding", "").lower() == "chunked"
        self._task = asyncio.create_task(self._read(reader, chunked))

    async def _read(self, reader: asyncio.StreamReader, chunked: bool) -> None:
        buffer = b""
        fields: dict[str, str] = {}
        try:
            while True:
                data = await _read_chunk(reader) if chunked else await reader.read(65536)
                if not data:
                    self.error = "stream ended"
                    return
                read_at = time.perf_counter()
                buffer += data
                while b"\n" in buffer:
                    raw, buffer = buffer.split(b"\n", 1)
                    line = raw.decode("utf-8").rstrip("\r")
                    if line == "":
                        if "data" in fields:
                            self.events += 1
                            self.on_event(fields.get("event", "message"), json.loads(fields["data"]), read_at)
                        fields = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        fields[name] = value[1:] if value.startswith(" ") else value
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # reported by the caller: a stream that died must not pass silently
            self.error = f"{exc.__class__.__name__}: {exc}"

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self._writer is not None:
            self._writer.close()


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: the value at or below which pct % of the samples lie."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]
