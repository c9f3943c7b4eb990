"""A slow or failing upstream must not make Depot's own answers slow: version lists get
a short timeout, and after a failure the upstream is left alone for a while."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.config import Settings
from app.fetch import upstream
from tests.conftest import GO


class Upstream:
    """A real HTTP upstream that answers slowly or with a 500, counting what it is asked."""

    def __init__(self) -> None:
        self.asked = 0
        self.delay = 0.0
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.asked += 1
                time.sleep(outer.delay)
                body = b"v1.0.0\nv1.1.0\n"
                try:
                    self.send_response(outer.status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def settings_for(url: str, tmp_path: Path) -> Settings:
    return Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path), "DEPOT_GO": GO,
                              "DEPOT_UPSTREAM": url, "DEPOT_GOSUMDB": "off",
                              "DEPOT_UPSTREAM_PAUSE": "1.5"})


@pytest.fixture
def http_upstream() -> Iterator[Upstream]:
    up = Upstream()
    yield up
    up.server.shutdown()


def test_a_slow_upstream_costs_one_short_wait_then_is_left_alone(
    http_upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upstream, "LIST_TIMEOUT", 0.5)
    mine = settings_for(http_upstream.url, tmp_path)
    assert upstream.list_versions(mine, "depot.test/a") == ["v1.0.0", "v1.1.0"]
    assert not upstream.paused(mine)

    http_upstream.delay = 3.0
    began = time.monotonic()
    assert upstream.list_versions(mine, "depot.test/a") is None
    assert time.monotonic() - began < 2.0  # the short list timeout, not the upstream's 3 s
    assert upstream.paused(mine)
    asked = http_upstream.asked
    began = time.monotonic()
    assert upstream.list_versions(mine, "depot.test/b") is None
    assert time.monotonic() - began < 0.1 and http_upstream.asked == asked  # not asked at all

    http_upstream.delay = 0.0
    time.sleep(1.6)  # the pause is over: asked again, and it answers
    assert upstream.list_versions(mine, "depot.test/a") == ["v1.0.0", "v1.1.0"]
    assert not upstream.paused(mine)


def test_a_5xx_pauses_the_upstream_too(http_upstream: Upstream, tmp_path: Path) -> None:
    http_upstream.status = 503
    mine = settings_for(http_upstream.url, tmp_path)
    assert upstream.list_versions(mine, "depot.test/a") is None
    assert upstream.paused(mine)


def test_a_file_upstream_is_never_paused(tmp_path: Path) -> None:
    assert not upstream.paused(settings_for(tmp_path.as_uri(), tmp_path))
