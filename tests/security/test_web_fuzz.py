"""Scenario 6: at least 100,000 hostile GOPROXY paths against the app in this process.

The WSGI application is called directly (no HTTP, no test client) so the count
fits in about a minute: 0 answers may be 5xx, and every refusal is one line of
plain text, which is what the go command prints. The existing hypothesis test
(tests/goproxy/test_fuzz_paths.py) explores the same routes by shrinking.
"""

from __future__ import annotations

import io
import logging
import os
import random
import sys
import time
from collections import Counter
from urllib.parse import unquote_to_bytes

import pytest
from flask import Flask

from tests.security.pathgen import hostile_path

CASES = int(os.environ.get("DEPOT_FUZZ_CASES", "100000"))
SEED = 20260601


def _environ(raw_path: str, method: str) -> dict:
    """What a WSGI server makes of ``GET raw_path``: PATH_INFO percent-decoded, as latin-1."""
    path, _, query = raw_path.partition("?")
    raw = path.encode("utf-8", "surrogatepass")
    return {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(raw).decode("latin-1"),
        "QUERY_STRING": query.encode("utf-8", "surrogatepass").decode("latin-1"),
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
    }


def _call(app: Flask, environ: dict) -> tuple[int, dict[str, str], bytes]:
    got: dict[str, object] = {}

    def start(status: str, headers: list, exc_info: object = None) -> None:
        got["status"], got["headers"] = status, headers

    body = app.wsgi_app(environ, start)
    try:
        data = b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()
    headers = {k.lower(): v for k, v in got["headers"]}  # type: ignore[attr-defined]
    return int(str(got["status"])[:3]), headers, data


def _goproxy(raw: str) -> bool:
    """A GOPROXY or sumdb request (others are portal pages, which answer in HTML)."""
    path = raw.partition("?")[0]
    return "/@v/" in path or path.endswith("/@latest") or path.startswith("/sumdb/")


@pytest.fixture
def fuzz_target(catalog_app: Flask) -> Flask:
    if not catalog_app.extensions["depot"].settings.database_url.startswith("sqlite"):
        pytest.skip("one database is enough: the routes, not the backend, are fuzzed")
    return catalog_app


def test_hostile_goproxy_paths_never_5xx(fuzz_target: Flask) -> None:
    rng = random.Random(SEED)
    statuses: Counter[int] = Counter()
    bad: list[str] = []
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # a line per request would cost more than the request
    began = time.monotonic()
    try:
        for i in range(CASES):
            raw = hostile_path(rng)
            method = "HEAD" if i % 10 == 9 else "GET"
            status, headers, body = _call(fuzz_target, _environ(raw, method))
            statuses[status] += 1
            if status >= 500:
                bad.append(f"{status} {raw!r}: {body[:200]!r}")
            elif status >= 300 and method == "GET" and _goproxy(raw):
                line = body.decode("utf-8", "replace")
                plain = headers.get("content-type", "").startswith(("text/plain",
                                                                      "application/json"))
                if not plain or not line.endswith("\n") or line.count("\n") != 1 or not line[:-1]:
                    bad.append(f"{status} {raw!r} is not a one-line reason: {body[:200]!r}")
            if len(bad) >= 20:
                break
    finally:
        quiet.setLevel(level)
    seconds = time.monotonic() - began
    done = sum(statuses.values())
    print(f"\nfuzzed {done} GOPROXY paths in {seconds:.1f} s ({done / seconds:.0f}/s), "
          f"seed {SEED}; statuses {dict(sorted(statuses.items()))}")
    assert not bad, "\n".join(bad)
    assert done == CASES
    assert statuses[200] > 0 and statuses[404] > 0 and statuses[400] > 0  # all kinds reached
