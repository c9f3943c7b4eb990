"""jobs.pipeline.run_stage: a job whose last attempt raises ends its version, so the
request waiting for it ends too; a ``members`` job stores its version and no more."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from rq import Queue, SimpleWorker

from app.config import Settings
from app.models import Request, RequestSource, VersionState
from app.pipeline.capture import get_version
from app.pipeline.requests import Submitted, status, submit
from app.pipeline.stages import Pipeline
from app.queue import ASKED, CRAWL, MEMBERS, QUEUES, RQDispatcher, connect, job_id
from app.resources import Services
from jobs import pipeline as jobs_pipeline
from tests.conftest import services_on, settings_env
from tests.fixtures.upstream import fixture_module, upstream_of


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
    jobs_pipeline.forget_worker_services()
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
    jobs_pipeline.forget_worker_services()

    assert job.get_status(refresh=True) == "failed"
    # What a page waiting for this work shows (RQDispatcher.trouble).
    assert job.get_meta(refresh=True)["last_error"] == (
        "RuntimeError: UNIQUE constraint failed: requirements.version_id")
    with services.db.session() as session:
        row = get_version(session, module, version)
        assert row.state == VersionState.failed
        assert row.reason == ("process failed (RuntimeError: UNIQUE constraint failed: "
                              "requirements.version_id); request it again to retry")
        assert session.get(Request, done.request_id).is_open is False


def _asked_for_top(services: Services, queued_settings: Settings,
                   monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dep: str, top: str,
                   ) -> tuple[Services, RQDispatcher, Submitted]:
    """``top`` (requiring ``dep``) on its own upstream, asked for through the API and
    discovered; the jobs' worker builds the same services from the environment."""
    services = services_on(services, upstream_of(tmp_path / "upstream", [
        fixture_module(dep, "v1.0.0"), fixture_module(top, "v1.0.0", {dep: "v1.0.0"})]))
    services.settings = replace(services.settings, redis_url=queued_settings.redis_url)
    for key, value in settings_env(services.settings).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("REDIS_URL", queued_settings.redis_url)
    jobs_pipeline.forget_worker_services()
    dispatcher = RQDispatcher(services.settings, connect(services.settings))
    done = submit(services, _Nowhere(), top, "v1.0.0", RequestSource.api)
    Pipeline(services, _Nowhere()).discover(str(done.request_id))
    return services, dispatcher, done


def _stored_then_published(services: Services, dispatcher: RQDispatcher, done: Submitted,
                           dep: str, top: str) -> None:
    """``dep`` stored only, its build list left to the crawl, ``top``'s validation asked
    for; then a worker on every queue publishes both and the request ends."""
    connection = dispatcher.connection
    with services.db.session() as session:
        assert get_version(session, dep, "v1.0.0").state == VersionState.captured
    assert Queue(CRAWL, connection=connection).job_ids == [job_id("complete", (dep, "v1.0.0"))]
    assert Queue(ASKED, connection=connection).job_ids == [job_id("validate", (top, "v1.0.0"))]
    SimpleWorker([Queue(name, connection=connection) for name in QUEUES],
                 connection=connection).work(burst=True)
    jobs_pipeline.forget_worker_services()
    assert status(services, done.request_id)["state"] == "published"
    with services.db.session() as session:
        assert get_version(session, top, "v1.0.0").state == VersionState.published
        assert get_version(session, dep, "v1.0.0").state == VersionState.published


def test_a_member_job_stores_the_member_and_wakes_the_request_s_version(
    services: Services, queued_settings: Settings, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A ``members`` job (a member of a big build list someone waits for) stops once the
    member is stored: the waiting version is validated at once, and the member's own
    build list follows in the crawl. Before, each member also worked out its own tree
    first, and with 70 big requests open 40 never got their members in 70 minutes."""
    dep, top = "depot.test/members/dep", "depot.test/members/top"
    services, dispatcher, done = _asked_for_top(services, queued_settings, monkeypatch,
                                                tmp_path, dep, top)
    connection = dispatcher.connection
    Pipeline(services, _Nowhere()).process(top, "v1.0.0")  # its member not yet stored
    with services.db.session() as session:
        get_version(session, top, "v1.0.0").state = VersionState.blocked
    for name in QUEUES:
        Queue(name, connection=connection).empty()

    dispatcher.for_members().enqueue("process", dep, "v1.0.0")
    SimpleWorker([Queue(MEMBERS, connection=connection)],
                 connection=connection).work(burst=True)
    _stored_then_published(services, dispatcher, done, dep, top)


def test_a_queued_process_job_works_out_a_build_list_only_for_a_version_someone_waits_for(
    services: Services, queued_settings: Settings, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Its own request: processed whole, build list and all. A member nobody asked for:
    stored only, its build list left to the crawl. With the members' own trees worked out
    in the urgent lane, 55 big requests waited behind 200 such build lists and 470
    validations of members of members (corpus run of 2026-12-04)."""
    dep, top = "depot.test/queued/dep", "depot.test/queued/top"
    services, dispatcher, done = _asked_for_top(services, queued_settings, monkeypatch,
                                                tmp_path, dep, top)
    connection = dispatcher.connection
    dispatcher.enqueue("process", top, "v1.0.0")
    process = Queue("process", connection=connection)
    SimpleWorker([process], connection=connection).work(burst=True)  # top, then dep
    with services.db.session() as session:
        assert get_version(session, top, "v1.0.0").state == VersionState.staged
    _stored_then_published(services, dispatcher, done, dep, top)
