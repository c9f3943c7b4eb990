"""The read-only page tests share ``catalog_app`` (tests/conftest.py: a Depot filled once
per database backend); tests that write use the function-scoped ``portal_app`` instead."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Settings
from tests.conftest import app_on, make_app
from tests.fixtures.docs_module import DOCS, DOCS_VERSION, docs_module
from tests.fixtures.upstream import Upstream, fixture_module, func_name, upstream_of

HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
HX = {"HX-Request": "true", **HTML}
# The module the docs fixture module requires (and links to).
DOCS_DEP = "depot.test/chain/c"


@pytest.fixture
def catalog(catalog_app: Flask) -> FlaskClient:
    return catalog_app.test_client()


@pytest.fixture
def portal_app(settings: Settings, portal_upstream: Upstream, tmp_path: Path) -> Iterator[Flask]:
    """An empty Depot of its own on the portal upstream, for tests that write."""
    app = make_app(replace(settings, upstream=portal_upstream.url, gosumdb="off"))
    yield app
    app.extensions["depot"].db.dispose()


@contextmanager
def documented(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    """An app that ingested the docs module (and its dependency): documented inline."""
    upstream = upstream_of(tmp_path / "docs-upstream", [
        fixture_module(DOCS_DEP, "v1.0.0"),
        docs_module(DOCS_DEP, "v1.0.0", DOCS_DEP, f"c.{func_name(DOCS_DEP)}()"),
    ])
    with app_on(settings, upstream) as app:
        for target in (f"{DOCS_DEP}@v1.0.0", f"{DOCS}@{DOCS_VERSION}"):
            done = app.test_cli_runner().invoke(args=["ingest", target])
            assert done.exit_code == 0, done.output
        yield app


@pytest.fixture
def docs_app(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    """A Depot holding the documented fixture module (tests/fixtures/docs_module.py)."""
    with documented(settings, tmp_path) as app:
        yield app
