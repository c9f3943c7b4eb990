"""The documentation helper built once for the tests (the shared tools folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.pkgdoc.helper_binary import helper_binary
from tests.conftest import GO, SHARED_TOOLS


@pytest.fixture(scope="session")
def godoc_helper() -> Path:
    return helper_binary(GO, SHARED_TOOLS, SHARED_TOOLS / "gocache", SHARED_TOOLS)
