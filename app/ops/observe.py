"""The outermost WSGI layer: a request id, an access log line and HTTP metrics for
every request, including those the GOPROXY fast path answers without Flask.

The access line goes through Depot's logging, so it has the same format (JSON
in production) and the same request id as every other line of that request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator

from app.logs import REQUEST_ID_HEADER, new_request_id, request_id_scope, write_direct
from app.metrics import HTTP_DURATION, HTTP_REQUESTS, labelled, tally

log = logging.getLogger("depot.access")
OPS_PATHS = frozenset({"/ping", "/healthz", "/readyz", "/info", "/metrics"})
# Statuses and methods a client may invent are folded, so labels stay few.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


def route_group(path: str) -> str:
    """A small, fixed set of names for metrics: goproxy, sumdb, api, ops, static, portal."""
    if path in OPS_PATHS:
        return "ops"
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/static/"):
        return "static"
    if path.startswith("/sumdb/"):
        return "sumdb"
    if "/@v/" in path or path.endswith("/@latest") or path.startswith("/_accel"):
        return "goproxy"
    return "portal"


class Observed:
    """Wraps a response body so the log line is written when the body is done: at its end
    or at close(), whichever comes first (a server always closes; a test may only read)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        self._body = body
        self._done: Callable[[int], None] | None = done
        self._sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk
        self._finish()

    def _finish(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done(self._sent)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._finish()


class RequestObserver:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        rid = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ["depot.request_id"] = rid
        began = time.monotonic()
        seen: dict[str, str] = {}

        def observe_start(
            status: str, headers: list[tuple[str, str]], exc_info: object = None
        ) -> Callable[[bytes], object]:
            seen["status"] = status[:3]
            seen["length"] = next((v for k, v in headers if k.lower() == "content-length"), "")
            headers.append((REQUEST_ID_HEADER, rid))
            return start_response(status, headers, exc_info)

        def done(sent: int) -> None:
            self._log(environ, seen, sent, time.monotonic() - began, rid)

        with request_id_scope(rid):
            try:
                body = self.app(environ, observe_start)
            except BaseException:
                seen.setdefault("status", "500")
                self._count(environ, seen, time.monotonic() - began)
                done(0)
                raise
        # Latency is time to the response's start: a big zip's transfer time says more
        # about the client's network than about Depot.
        self._count(environ, seen, time.monotonic() - began)
        if type(body) is list:
            # Whole already (a GOPROXY hit's file, a page): logged now, and handed on as
            # a list, which a server writes in one go (granian) rather than by iterating.
            done(sum(map(len, body)))
            return body
        wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(wrapper, type) and isinstance(body, wrapper):
            # Wrapping would cost the server its sendfile(): log now, with the declared size.
            done(-1)
            return body
        return Observed(body, done)

    @staticmethod
    def _count(environ: dict, seen: dict[str, str], seconds: float) -> None:
        group = route_group(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "")
        status = seen.get("status", "000")
        tally.inc(labelled(HTTP_REQUESTS, group, method if method in _METHODS else "OTHER",
                           status))
        tally.observe(labelled(HTTP_DURATION, group), seconds)

    @staticmethod
    def _log(environ: dict, seen: dict[str, str], sent: int, seconds: float, rid: str
             ) -> None:
        status = seen.get("status", "000")
        size = seen.get("length", "") if sent < 0 else str(sent)
        log_access(environ, status, int(size) if size.isdigit() else 0, seconds, rid)


def log_access(environ: dict, status: str, nbytes: int, seconds: float, rid: str) -> None:
    """The request's access line: ``METHOD TARGET STATUS BYTESB MSms`` (JSON: fields)."""
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "")
    query = environ.get("QUERY_STRING", "")
    target = path + (f"?{query}" if query else "")
    message = f"{method} {target} {status} {nbytes}B {seconds * 1000:.1f}ms"

    def fields() -> dict[str, object]:
        """The text line above says it all; JSON gets these fields too."""
        return {
            "status": int(status) if status.isdigit() else 0,
            "method": method,
            "path": path[:1000],
            "bytes": nbytes,
            "duration_ms": round(seconds * 1000, 2),
            "remote": environ.get("REMOTE_ADDR", ""),
            "user_agent": environ.get("HTTP_USER_AGENT", "")[:200],
            "group": route_group(path),
        }

    if not write_direct(log, rid, message, fields):
        with request_id_scope(rid):
            log.info("%s", message, extra={"_terse": True, **fields()})
