"""A Depot filled once per database backend (tests/fixtures/catalog.py) and shared by
the read-only page tests; tests that write use the function-scoped ``app`` instead."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from app.config import Settings
from tests.conftest import GO, make_app
from tests.fixtures.catalog import portal_settings
from tests.fixtures.upstream import Upstream

HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
HX = {"HX-Request": "true", **HTML}


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql",
                                                                  marks=pytest.mark.postgres)])
def catalog_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                portal_upstream: Upstream) -> Iterator[Flask]:
    """A filled Depot (read-only for its users), on SQLite and on PostgreSQL."""
    from tests.fixtures.catalog import fill

    tmp = tmp_path_factory.mktemp(f"catalog-{request.param}")
    admin_url, name = "", ""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'depot.sqlite3'}"
    else:
        admin_url = os.environ.get("DEPOT_TEST_POSTGRES_URL", "")
        if not admin_url:
            pytest.skip("PostgreSQL tests need DEPOT_TEST_POSTGRES_URL (`make test` sets it)")
        name = f"depot_portal_{uuid.uuid4().hex[:10]}"
        with create_engine(admin_url, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin_url.rsplit("/", 1)[0] + "/" + name
    app = make_app(portal_settings(tmp / "data", url, portal_upstream, GO))
    fill(app.extensions["depot"], portal_upstream)
    yield app
    app.extensions["depot"].db.dispose()
    if name:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def catalog(catalog_app: Flask) -> FlaskClient:
    return catalog_app.test_client()


@pytest.fixture
def portal_app(settings: Settings, portal_upstream: Upstream, tmp_path: Path) -> Iterator[Flask]:
    """An empty Depot of its own on the portal upstream, for tests that write."""
    app = make_app(replace(settings, upstream=portal_upstream.url, gosumdb="off"))
    yield app
    app.extensions["depot"].db.dispose()
