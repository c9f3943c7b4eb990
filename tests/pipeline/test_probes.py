"""The go command probes every prefix of a path (``/github.com/owner/@v/v1.0.0.info``
for github.com/owner/repo): a probe that finds nothing upstream leaves no module row,
so no empty module page."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Module
from tests.conftest import make_app, with_settings
from tests.fixtures.counting_upstream import CountingUpstream
from tests.fixtures.upstream import Upstream


def test_a_prefix_probe_leaves_no_module_behind(settings):
    app = make_app(with_settings(settings, on_miss="fetch"))
    try:
        client = app.test_client()
        probe = client.get("/depot.test/chain/@v/v1.0.0.info")
        assert probe.status_code == 404
        real = client.get("/depot.test/chain/c/@v/v1.0.0.info")
        assert real.status_code == 200
        with app.extensions["depot"].db.session() as session:
            paths = set(session.scalars(select(Module.path)))
        assert "depot.test/chain" not in paths and "depot.test/chain/c" in paths
        assert client.get("/depot.test/chain").status_code == 404
        assert client.get("/api/v1/modules/depot.test/chain").status_code == 404
    finally:
        app.extensions["depot"].db.dispose()


def test_a_probe_the_upstream_answers_withheld_leaves_nothing_either(settings, upstream: Upstream
                                                                    ) -> None:
    """Where the reachable proxy answers 403 "This module version is not available." for
    every unknown path, a prefix probe is as empty as a 404 (a fresh clone showed
    /github.com, /github.com/rakyll and /github.com/spf13 as rejected module pages)."""
    with CountingUpstream(upstream.root) as up:
        up.answer_missing_with(403, "This module version is not available.")
        app = make_app(with_settings(settings, on_miss="fetch", upstream=up.url))
        try:
            client = app.test_client()
            probe = client.get("/depot.test/chain/@v/v1.0.0.info")
            assert probe.status_code in (404, 410)
            assert client.get("/depot.test/chain/c/@v/v1.0.0.info").status_code == 200
            with app.extensions["depot"].db.session() as session:
                paths = set(session.scalars(select(Module.path)))
            assert "depot.test/chain" not in paths and "depot.test/chain/c" in paths
            assert client.get("/depot.test/chain").status_code == 404
        finally:
            app.extensions["depot"].db.dispose()
