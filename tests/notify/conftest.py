"""Fixtures of the notifier tests: the webhook receiver (tests/fixtures/receiver.py),
quick retries and a migrated database of each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.db import Database
from app.migrate import upgrade
from app.notify import sender
from tests.fixtures.receiver import Receiver, receiver  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def _direct_and_quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reach 127.0.0.1 directly whatever proxy the machine sets; keep retries short."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(sender, "RETRY_DELAY", 0.05)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database of each backend (SQLite and PostgreSQL)."""
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()
