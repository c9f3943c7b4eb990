"""The read-only page tests share ``catalog_app`` (tests/conftest.py: a Depot filled once
per database backend); tests that write use the function-scoped ``portal_app`` instead."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Settings
from tests.conftest import make_app
from tests.fixtures.upstream import Upstream

HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
HX = {"HX-Request": "true", **HTML}


@pytest.fixture
def catalog(catalog_app: Flask) -> FlaskClient:
    return catalog_app.test_client()


@pytest.fixture
def portal_app(settings: Settings, portal_upstream: Upstream, tmp_path: Path) -> Iterator[Flask]:
    """An empty Depot of its own on the portal upstream, for tests that write."""
    app = make_app(replace(settings, upstream=portal_upstream.url, gosumdb="off"))
    yield app
    app.extensions["depot"].db.dispose()
