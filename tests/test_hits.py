"""app/hits.py: a hit held in memory answered in one step is the answer the layers below
give it (headers in their order, body, counts, access line); anything else goes down."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace

import pytest
from flask import Flask

from app.config import Settings
from app.hits import Hits
from app.ingest import ingest
from app.logs import TextFormatter
from app.metrics import GOPROXY_REQUESTS, HTTP_REQUESTS, labelled
from tests.conftest import make_app

MODULE, ESCAPED, VERSION = "depot.test/MixedCase/Lib", "depot.test/!mixed!case/!lib", "v1.2.0"
Answered = tuple[str, list[tuple[str, str]], bytes]


def _environ(path: str, method: str = "GET", **extra: str) -> dict:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
            "wsgi.errors": io.StringIO(), "wsgi.multithread": True,
            "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
            "SCRIPT_NAME": "", **extra}


def _call(app: Callable[[dict, Callable], Iterable[bytes]], environ: dict) -> Answered:
    seen: list[object] = []

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: object = None) -> Callable[[bytes], object]:
        seen[:] = [status, headers]
        return lambda _data: None

    body = app(environ, start_response)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    status, headers = seen
    return status, headers, data  # type: ignore[return-value]


@pytest.fixture(params=["", "/_store/"], ids=["served", "sidecar"])
def app(request: pytest.FixtureRequest, settings: Settings) -> Flask:
    made = make_app(replace(settings, accel_redirect=request.param))
    assert ingest(made.extensions["depot"], MODULE, VERSION).ok
    made.test_client().get(f"/{ESCAPED}/@v/{VERSION}.info")  # the version is in memory
    return made


def _hits(app: Flask) -> Hits:
    hits = app.wsgi_app
    assert isinstance(hits, Hits)
    return hits


def _without_id(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, "…" if k == "X-Request-ID" else v) for k, v in headers]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("kind", ["info", "mod", "zip"])
def test_a_hit_is_answered_as_the_layers_below_answer_it(app: Flask, kind: str,
                                                         method: str) -> None:
    hits = _hits(app)
    environ = _environ(f"/{ESCAPED}/@v/{VERSION}.{kind}", method)
    below = _call(hits.app, dict(environ))
    here = _call(hits, dict(environ))
    assert here[0] == below[0] == "200 OK"
    assert _without_id(here[1]) == _without_id(below[1])
    assert here[2] == below[2]
    assert [k for k, _ in here[1]][-1] == "X-Request-ID"
    # The zip behind a sidecar is the sidecar's to send: the layers below answered it.
    in_one_step = not (kind == "zip" and app.extensions["depot"].settings.accel_redirect)
    assert bool(hits._answers) is in_one_step


def test_a_hit_counts_as_one_below_would(app: Flask) -> None:
    hits = _hits(app)
    for kind in ("info", "zip"):
        environ = _environ(f"/{ESCAPED}/@v/{VERSION}.{kind}")
        requests = labelled(HTTP_REQUESTS, "goproxy", "GET", "200")
        files = labelled(GOPROXY_REQUESTS, kind, "hit")
        downloads = hits.fast.downloads
        before = (requests._value.get(), files._value.get(), downloads._pending[(MODULE, VERSION)])
        _call(hits.app, dict(environ))
        middle = (requests._value.get(), files._value.get(), downloads._pending[(MODULE, VERSION)])
        _call(hits, dict(environ))
        after = (requests._value.get(), files._value.get(), downloads._pending[(MODULE, VERSION)])
        assert [m - b for m, b in zip(middle, before, strict=True)] == [
            a - m for a, m in zip(after, middle, strict=True)]
        assert after[2] - before[2] == (2 if kind == "zip" else 0)


def test_the_access_line_and_the_request_id_are_the_same(app: Flask) -> None:
    hits = _hits(app)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    try:
        environ = _environ(f"/{ESCAPED}/@v/{VERSION}.mod", HTTP_X_REQUEST_ID="offered-id-1")
        _status, headers, _body = _call(hits, dict(environ))
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
    assert hits._answers  # answered in one step
    assert ("X-Request-ID", "offered-id-1") in headers
    line = stream.getvalue().strip()
    length = dict(headers)["Content-Length"]
    assert line.endswith("ms") and " INFO depot.access [offered-id-1]: GET " in line
    assert f"/{ESCAPED}/@v/{VERSION}.mod 200 {length}B " in line


@pytest.mark.parametrize("extra, status", [
    ({"QUERY_STRING": "x=1"}, "200 OK"),
    ({"HTTP_RANGE": "bytes=0-9"}, "206 PARTIAL CONTENT"),
    ({"HTTP_IF_NONE_MATCH": "*"}, "304 NOT MODIFIED"),
])
def test_anything_but_a_plain_hit_goes_down(app: Flask, extra: dict[str, str],
                                            status: str) -> None:
    hits = _hits(app)
    hits._answers.clear()
    answered = _call(hits, _environ(f"/{ESCAPED}/@v/{VERSION}.mod", **extra))
    assert answered[0] == status
    assert hits._answers == {}
