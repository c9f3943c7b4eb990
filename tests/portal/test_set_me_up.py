"""Set Me Up: this server's own URL (ProxyFix when configured), the fallback chain
from configuration, shells, CI, private modules and how to check."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask.testing import FlaskClient

from app.config import Settings
from app.portal.setup import fallback_chain, public_upstreams
from tests.conftest import make_app
from tests.portal.conftest import HTML


def test_instructions_use_the_url_the_visitor_reached(catalog: FlaskClient):
    body = catalog.get("/set-me-up", base_url="http://depot.example:8080",
                       headers=HTML).get_data(as_text=True)
    goproxy = "http://depot.example:8080,direct"  # the fixture upstream is a file:// tree
    for snippet in (f"go env -w GOPROXY={goproxy}", f"export GOPROXY={goproxy}",
                    f"set -gx GOPROXY {goproxy}", f'$env:GOPROXY = &#34;{goproxy}&#34;',
                    f"set GOPROXY={goproxy}", f"GOPROXY: {goproxy}", f"ENV GOPROXY={goproxy}",
                    "GOPRIVATE=", "GONOSUMDB=", "go env GOPROXY", "go mod download -x",
                    "404 Not Found", "410 Gone", "actions/setup-go", "variables:"):
        assert snippet in body, snippet
    assert "file://" not in body
    assert 'class="copy" data-copy-target="cmd-go-env" hidden' in body


@pytest.mark.parametrize("upstream, expected", [
    ("https://proxy.example,direct", ["https://proxy.example"]),
    ("https://user:secret@a.example/base/|https://b.example:8443,off", [
        "https://a.example/base", "https://b.example:8443"]),
    ("file:///srv/mirror", []),
    ("direct", []),
])
def test_public_upstreams_drop_what_clients_cannot_use(upstream: str, expected: list[str]):
    assert public_upstreams(upstream) == expected


def test_the_chain_is_depot_then_its_upstream_then_direct():
    assert fallback_chain("https://depot.example", "https://proxy.example,direct") == [
        "https://depot.example", "https://proxy.example", "direct"]
    assert fallback_chain("https://depot.example", "https://depot.example") == [
        "https://depot.example", "direct"]


def test_configured_upstream_appears_in_the_chain(settings: Settings):
    app = make_app(replace(settings, upstream="https://upstream.example/go,direct"))
    body = app.test_client().get("/set-me-up", headers=HTML).get_data(as_text=True)
    assert "GOPROXY=http://localhost,https://upstream.example/go,direct" in body
    app.extensions["depot"].db.dispose()


def test_forwarded_headers_are_honoured_only_when_configured(settings: Settings):
    forwarded = {**HTML, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "depot.example",
                 "X-Forwarded-Prefix": "/go"}
    plain = make_app(settings)
    body = plain.test_client().get("/set-me-up", headers=forwarded).get_data(as_text=True)
    assert "GOPROXY=http://localhost,direct" in body and "depot.example" not in body
    plain.extensions["depot"].db.dispose()
    behind = make_app(replace(settings, proxy_fix=1))
    body = behind.test_client().get("/set-me-up", headers=forwarded).get_data(as_text=True)
    assert "GOPROXY=https://depot.example/go,direct" in body
    assert 'href="/go/search"' in body  # links follow the prefix too
    behind.extensions["depot"].db.dispose()
