"""Ingest as a job: the same steps as `flask --app app ingest`, safe to run twice."""

from __future__ import annotations

from functools import lru_cache

from app.config import Settings
from app.ingest import ingest
from app.services import Services


@lru_cache(maxsize=1)
def worker_services() -> Services:
    """Settings, database and store of this worker process, built once."""
    return Services.from_settings(Settings.from_env())


def ingest_job(module: str, query: str = "latest", deps: bool = False) -> dict:
    """Ingest ``module@query``; returns a JSON-able summary for the job result."""
    report = ingest(worker_services(), module, query, deps=deps)
    return {
        "module": report.module,
        "query": report.query,
        "ok": report.ok,
        "upstream_called": report.upstream_called,
        "outcomes": [
            {"path": o.path, "version": o.version, "status": o.status, "reason": o.reason}
            for o in report.outcomes
        ],
    }
