"""The outermost WSGI layer (inside ProxyFix): a GOPROXY hit answered from memory in one
step, with everything the layers below would have given it.

Why: a published ``.info``, ``.mod`` or small zip went through four layers (the request
observer, the always-headers, the range filter, the fast path), each wrapping
``start_response`` and scanning the headers: about 17 us of Python per hit. A
trivial WSGI app under granian on the same two cores answered 51,000-56,000 hits/s
where Depot answered 31,000-34,000 (docs/bench.md), so those microseconds were most
of the gap to a static server. Here the answer's headers are built once per file and
method, and a hit costs its request id, its counts and its access line.

Everything else (a miss, a Range or a conditional request, a query string, a file
read from disk, the sidecar or an object store) goes down the usual layers, unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.goproxy.fastpath import FastPath, whole_file
from app.goproxy.published import ServedFile, file_headers
from app.headers import with_always
from app.logs import REQUEST_ID_HEADER, new_request_id
from app.metrics import HTTP_DURATION, HTTP_REQUESTS, labelled, tally
from app.ops.observe import log_access, route_group

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


@dataclass(frozen=True)
class Answer:
    """What a hit on one published file with one method is answered with, but for its
    request id (and its body, which a kept small file gives at each hit)."""

    served: ServedFile
    headers: tuple[tuple[str, str], ...]
    requests: Any  # the HTTP_REQUESTS child it counts into
    duration: Any  # the HTTP_DURATION child


class Hits:
    """See the module's docstring. ``app`` is the whole stack below (its outermost
    layer app.ops.observe.RequestObserver); ``fast`` the fast path inside it, which
    knows what is published and holds it."""

    # Answers kept (one per file and method, at a few hundred bytes each); all are
    # dropped when there are more, and made again at their next hit.
    KEEP = 4096

    def __init__(self, app: WSGIApp, fast: FastPath) -> None:
        self.app = app
        self.fast = fast
        self._answers: dict[tuple[int, str, bool], Answer] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        began = time.monotonic()
        found = None if environ.get("QUERY_STRING") else self.fast.lookup(environ)
        if found is None:
            return self.app(environ, start_response)
        method, module, version, kind, served = found
        body = self.fast.in_memory(kind, served)
        if body is None:
            return self.app(environ, start_response)
        shared = self.fast.shared(environ, module)
        answer = self._answers.get((id(served), method, shared))
        if answer is None or answer.served is not served:
            answer = self._answer(environ, method, kind, version, served, shared)
        self.fast.downloads.watch_log()
        self.fast.count_hit(method, module, version, kind, served.size)
        rid = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ["depot.request_id"] = rid
        start_response("200 OK", [*answer.headers, (REQUEST_ID_HEADER, rid)])
        seconds = time.monotonic() - began
        tally.inc(answer.requests)
        tally.observe(answer.duration, seconds)
        sent = body if method == "GET" else b""
        log_access(environ, "200", len(sent), seconds, rid)
        return [sent]

    def _answer(self, environ: dict, method: str, kind: str, version: str,
                served: ServedFile, shared: bool) -> Answer:
        """The headers the fast path, the always-headers and the observer give a hit, in
        their order (the request id last, added per request)."""
        headers = with_always([*file_headers(served, kind, version, shared),
                               *whole_file(served.size)])
        group = route_group(environ.get("PATH_INFO", ""))
        answer = Answer(served, tuple(headers), labelled(HTTP_REQUESTS, group, method, "200"),
                        labelled(HTTP_DURATION, group))
        if len(self._answers) >= self.KEEP:
            self._answers.clear()
        self._answers[(id(served), method, shared)] = answer
        return answer
