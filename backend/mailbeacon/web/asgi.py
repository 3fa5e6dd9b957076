"""The asyncio front that `mailbeacon serve` runs: the hit endpoints on the event loop, everything else in WSGI.

/o and /c are answered on the event loop itself. A request waiting for its hit's batch to reach Redis is a future,
not a parked thread: under load a thread per waiting request turns into dozens of threads fighting over the GIL,
and the slowest answers wait whole switch intervals (bench/hits.py measured the difference). The answers are the
ones web/hits.py works out for the WSGI path, byte for byte.

Every other path (the API, sign-in, the opt-out page, admin) goes to the ordinary WSGI application in a pool of
threads, through a small WSGI bridge: request bodies are read from the connection as the application reads them,
and response bodies are sent as the application yields them (the notification stream is a long response).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable
from urllib.parse import unquote_to_bytes

from .hits import UNAVAILABLE, Answer, HitApp

log = logging.getLogger(__name__)

_SPECIAL_HEADERS = {"CONTENT_TYPE", "CONTENT_LENGTH"}
# Header name (bytes, as the server hands it over) -> WSGI environ key, or None for a name WSGI can't carry.
_ENVIRON_KEYS: dict[bytes, str | None] = {}
_ENVIRON_KEYS_MAX = 1024


def _environ_key(name: bytes) -> str | None:
    key = _ENVIRON_KEYS.get(name)
    if key is not None or name in _ENVIRON_KEYS:
        return key
    text = name.decode("latin-1")
    # A name with an underscore would collide with its dashed twin (X_Forwarded_For posing as X-Forwarded-For,
    # which decides the client's address); dropped, as WSGI servers do.
    if "_" in text:
        key = None
    else:
        key = text.upper().replace("-", "_")
        key = key if key in _SPECIAL_HEADERS else "HTTP_" + key
    if len(_ENVIRON_KEYS) < _ENVIRON_KEYS_MAX:  # bounded: names are chosen by clients
        _ENVIRON_KEYS[name] = key
    return key


def add_headers(environ: dict, headers) -> dict:
    for name, value in headers:
        key = _environ_key(name)
        if key is None:
            continue
        text = value.decode("latin-1")
        if key in environ:
            # Repeated headers are one comma-separated list (cookies: "; "), as a WSGI server passes them on.
            environ[key] += ("; " if key == "HTTP_COOKIE" else ",") + text
        else:
            environ[key] = text
    return environ


def hit_environ(scope: dict) -> dict:
    """The few keys the hit endpoints read, without the rest of a WSGI environ."""
    client = scope.get("client")
    return add_headers({"REQUEST_METHOD": scope["method"], "REMOTE_ADDR": client[0] if client else ""},
                       scope.get("headers") or ())


def wsgi_environ(scope: dict, body: "RequestBody") -> dict:
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    # PATH_INFO is the percent-decoded path as bytes, read as Latin-1 (PEP 3333), from the path as it was sent.
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    path = unquote_to_bytes(raw_path.split(b"?", 1)[0]).decode("latin-1")
    root = scope.get("root_path", "").encode("utf-8").decode("latin-1")
    if root and path.startswith(root):
        path = path[len(root):]
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root,
        "PATH_INFO": path,
        "QUERY_STRING": (scope.get("query_string") or b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] is not None else "",
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "REMOTE_ADDR": client[0] if client else "",
        "REMOTE_PORT": str(client[1]) if client else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        # The body ends where the connection says it ends, so an application may read to the end of it.
        "wsgi.input_terminated": True,
    }
    return add_headers(environ, scope.get("headers") or ())


class ClientGone(Exception):
    """The client disconnected while its request was being read or answered."""


class RequestBody:
    """wsgi.input for a request whose body arrives as ASGI messages, pulled from the loop as the application
    reads (a WSGI thread blocks here; the loop does not)."""

    def __init__(self, receive: Callable, loop: asyncio.AbstractEventLoop) -> None:
        self._receive = receive
        self._loop = loop
        self._buffer = bytearray()
        self._more = True
        self.disconnected = False

    def _pull(self) -> bool:
        if not self._more:
            return False
        message = asyncio.run_coroutine_threadsafe(self._next_message(), self._loop).result()
        if message["type"] == "http.disconnect":
            self._more = False
            self.disconnected = True
            raise ClientGone()
        self._buffer += message.get("body", b"")
        self._more = message.get("more_body", False)
        return True

    async def _next_message(self) -> dict:
        # A coroutine of our own around receive(): a server's receive() may return an awaitable that is not a
        # coroutine (granian's is a future), which run_coroutine_threadsafe refuses.
        return await self._receive()

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while self._pull():
                pass
            size = len(self._buffer)
        else:
            while len(self._buffer) < size and self._pull():
                pass
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def readline(self, size: int | None = -1) -> bytes:
        while b"\n" not in self._buffer and (size is None or size < 0 or len(self._buffer) < size) and self._pull():
            pass
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        if size is not None and size >= 0:
            end = min(end, size)
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines = []
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)

    def __iter__(self):
        return iter(self.readline, b"")


class AsgiFront:
    def __init__(self, wsgi_app: Callable, hits: HitApp, pipeline, *, threads: int) -> None:
        self.wsgi_app = wsgi_app
        self.hits = hits
        self.pipeline = pipeline
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._lookups: dict[tuple[int, int], asyncio.Future] = {}

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:  # made in the serving process, after the fork
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="mailbeacon-wsgi")
        return self._pool

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            if len(path) > 3 and path[0] == "/" and path[2] == "/" and path[1] in "oc":
                await self.hit(scope, send, path[1], path[3:])
            else:
                await self.bridge(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)
        elif kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1003})  # no WebSocket here: the stream is SSE

    async def lifespan(self, receive: Callable, send: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    self._pool.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def hit(self, scope: dict, send: Callable, kind: str, token: str) -> None:
        started = time.perf_counter()
        hits = self.hits
        environ = hit_environ(scope)
        try:
            if kind == "o":
                answer = hits.pixel_answer(environ, token)
            else:
                answer = await self._click_answer(environ, token)
            status, headers, body, hit = answer
            if hit is not None:
                # Before the answer: a hit is handed on before its request is answered.
                await self.pipeline.submit_async(hit)
            try:
                await send({"type": "http.response.start", "status": int(status[:3]),
                            "headers": _encoded(headers)})
                await send({"type": "http.response.body", "body": body})
            except Exception as exc:  # the client left before its answer: the hit is handed on all the same
                log.debug("client gone before the hit's answer: %s", exc.__class__.__name__)
        finally:
            hits.metrics.observe("open" if kind == "o" else "click", time.perf_counter() - started)

    async def _click_answer(self, environ: dict, token: str) -> Answer:
        hits = self.hits
        claims = hits.click_claims(environ, token)
        destination = None
        if claims is not None:
            cached = getattr(hits.lookup, "cached", None)
            destination = cached(claims.message_id, claims.link_index) if cached is not None else None
            if destination is None:
                try:
                    destination = await self._look_up(claims.message_id, claims.link_index)
                except Exception:  # every store down: say so rather than guess a destination
                    log.exception("click destination lookup failed")
                    return UNAVAILABLE
        return hits.click_answer(environ, claims, destination)

    async def _look_up(self, message_id: int, link_index: int) -> str | None:
        """Redis or the database: blocking I/O, in a thread, never on the loop. One look-up per link at a time:
        the first clicks of a fresh mailing (or a scanner opening every link at once) all miss the process cache
        together, and would otherwise each take a thread and a query."""
        key = (message_id, link_index)
        pending = self._lookups.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().run_in_executor(self.pool, self.hits.lookup.destination,
                                                                 message_id, link_index)
            self._lookups[key] = pending
            pending.add_done_callback(lambda _done: self._lookups.pop(key, None))
        return await asyncio.shield(pending)

    async def bridge(self, scope: dict, receive: Callable, send: Callable) -> None:
        loop = asyncio.get_running_loop()
        body = RequestBody(receive, loop)
        environ = wsgi_environ(scope, body)
        try:
            await loop.run_in_executor(self.pool, self._run_wsgi, environ, body, send, loop)
        except ClientGone:
            pass

    def _run_wsgi(self, environ: dict, body: RequestBody, send: Callable, loop) -> None:
        """In a pool thread: run the WSGI application and send what it answers."""
        response: dict[str, Any] = {}
        head_only = environ["REQUEST_METHOD"] == "HEAD"

        def call(coroutine):
            try:
                return asyncio.run_coroutine_threadsafe(coroutine, loop).result()
            except RuntimeError as exc:
                if "start_response" in str(exc):
                    raise
                raise ClientGone() from exc
            except Exception as exc:  # the server could not send: the client went away
                raise ClientGone() from exc

        def start_response(status: str, headers: list, exc_info=None):
            if exc_info is not None:
                try:
                    if response.get("sent"):
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            response["start"] = {"type": "http.response.start", "status": int(status[:3]),
                                 "headers": _encoded(headers)}
            return write

        def write(chunk: bytes) -> None:  # the legacy write() callable of PEP 3333
            if chunk:
                call(_send_chunk(send, response, chunk, True, head_only))

        result = self.wsgi_app(environ, start_response)
        gone = None
        try:
            if isinstance(result, (list, tuple)):
                # The usual case (a finished Flask response): start and body in one trip to the loop.
                call(_send_chunk(send, response, b"".join(result), False, head_only))
                return
            # A streamed answer (the notification stream) may run for hours: notice the client leaving even if
            # the server goes on accepting what is sent to a closed connection.
            gone = asyncio.run_coroutine_threadsafe(_disconnected(body), loop)
            for chunk in result:
                if gone.done():
                    return
                if chunk:
                    call(_send_chunk(send, response, chunk, True, head_only))
            call(_send_chunk(send, response, b"", False, head_only))
        except ClientGone:
            log.debug("client gone while answering")
        finally:
            if gone is not None:
                gone.cancel()
            close = getattr(result, "close", None)
            if close is not None:
                close()


async def _disconnected(body: RequestBody) -> None:
    """Returns when the client disconnects; only used once the application has read the request body."""
    if body.disconnected:
        return
    while True:
        message = await body._receive()
        if message["type"] == "http.disconnect":
            body.disconnected = True
            return


async def _send_chunk(send: Callable, response: dict, chunk: bytes, more: bool, head_only: bool) -> None:
    if not response.get("sent"):
        start = response.get("start")
        if start is None:
            raise RuntimeError("the WSGI application sent a body before calling start_response")
        response["sent"] = True
        await send(start)
    await send({"type": "http.response.body", "body": b"" if head_only else chunk, "more_body": more})


def _encoded(headers: list) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
