"""jobs.pipeline.run_stage: a job whose last attempt raises ends its version, so the
request waiting for it ends too."""

from __future__ import annotations

import pytest
from rq import Queue, SimpleWorker

from app.config import Settings
from app.models import Request, RequestSource, VersionState
from app.pipeline.capture import get_version
from app.pipeline.requests import submit
from app.pipeline.stages import Pipeline
from app.queue import connect
from app.services import Services
from jobs import pipeline as jobs_pipeline
from tests.conftest import settings_env


class _Nowhere:
    """A dispatcher that keeps nothing: the test runs the one job it queues itself."""

    def enqueue(self, stage: str, *args: str) -> None:
        pass


def test_an_unexpected_error_on_the_last_attempt_ends_the_version_and_its_request(
    services: Services, queued_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in settings_env(queued_settings).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("REDIS_URL", queued_settings.redis_url)
    jobs_pipeline.worker_services.cache_clear()
    module, version = "depot.test/chain/c", "v1.0.0"
    done = submit(services, _Nowhere(), module, version, RequestSource.api)

    def broken(self: Pipeline, *args: str) -> None:  # what a bug looks like to the job
        with self.services.db.session() as session:
            get_version(session, module, version).state = VersionState.fetching
        raise RuntimeError("UNIQUE constraint failed: requirements.version_id")

    monkeypatch.setattr(Pipeline, "process", broken)
    connection = connect(queued_settings)
    queue = Queue("process", connection=connection)
    job = queue.enqueue(jobs_pipeline.run_stage, "process", module, version)  # no retries
    SimpleWorker([queue], connection=connection).work(burst=True)
    jobs_pipeline.worker_services.cache_clear()

    assert job.get_status(refresh=True) == "failed"
    with services.db.session() as session:
        row = get_version(session, module, version)
        assert row.state == VersionState.failed
        assert row.reason == ("process failed (RuntimeError: UNIQUE constraint failed: "
                              "requirements.version_id); request it again to retry")
        assert session.get(Request, done.request_id).is_open is False
