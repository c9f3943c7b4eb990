"""A service or tool the tests need and cannot find: a skip on a developer's machine, a
failure under CI.

Under ``CI=true`` (the environment every CI service sets) a missing Redis, PostgreSQL,
search node, S3 server, chromium, go, git, nginx or tmpfs mount is a broken runner, not
a reason to pass with fewer tests: the test fails, with the message it would have
skipped with. Skips about a test's own parametrization ("FTS5 is SQLite's", "one
database is enough") stay ``pytest.skip``.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def under_ci() -> bool:
    return os.environ.get("CI") == "true"


def skip_or_fail(reason: str) -> NoReturn:
    """Skip with ``reason``; under ``CI=true``, fail with it instead."""
    if under_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
