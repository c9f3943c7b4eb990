"""The go command probes every prefix of a path (``/github.com/owner/@v/v1.0.0.info``
for github.com/owner/repo): a probe that finds nothing upstream leaves no module row,
so no empty module page."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Module
from tests.conftest import make_app, with_settings


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
