"""The ingest job builds its services from the environment and is idempotent."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.migrate import upgrade
from jobs import ingest as ingest_jobs
from tests.conftest import settings_env


def test_ingest_job_twice(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    ingest_jobs.worker_services.cache_clear()
    svc = ingest_jobs.worker_services()
    upgrade(svc.db.engine)
    first = ingest_jobs.ingest_job("depot.test/chain/b", "v1.0.0", deps=True)
    assert first["ok"] and {o["status"] for o in first["outcomes"]} == {"stored"}
    second = ingest_jobs.ingest_job("depot.test/chain/b", "v1.0.0")
    assert second["ok"] and not second["upstream_called"]
    svc.db.dispose()
    ingest_jobs.worker_services.cache_clear()
