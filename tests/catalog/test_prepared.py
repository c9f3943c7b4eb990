"""READMEs rendered once, off the request path (issue 19, defect 2): a publication's
``render`` job keeps the README's HTML and its synopsis; pages and search answers read
them and render nothing themselves."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.catalog import prepared
from app.catalog.prepared import README, SYNOPSIS, prepare_version
from app.config import Settings
from app.models import RenderedContent
from app.pipeline.stages import Pipeline
from app.queue import RQDispatcher, connect, job_id
from app.resources import Services
from jobs import pipeline as jobs_pipeline
from tests.conftest import app_on, services_on, settings_env
from tests.fixtures.upstream import FixtureModule, module_files, upstream_of

HOSTILE = "depot.test/hostile-readme"
README_TEXT = ("Small README.\n\nIt provides:\n* one list\n* without a blank line\n\n"
               + "[" * 20_000 + "\n")


def kept(services: Services) -> dict[str, str]:
    with services.db.session() as session:
        rows = session.execute(select(RenderedContent.kind, RenderedContent.body))
        return {kind: body for kind, body in rows}


@pytest.fixture
def hostile_upstream(tmp_path: Path):  # type: ignore[no-untyped-def]
    files = module_files(HOSTILE, "v1.0.0")
    files["README.md"] = README_TEXT.encode()
    return upstream_of(tmp_path / "hostile-upstream", [FixtureModule(HOSTILE, "v1.0.0", files)])


@pytest.fixture
def hostile_app(settings: Settings, hostile_upstream) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    with app_on(settings, hostile_upstream) as app:
        done = app.test_cli_runner().invoke(args=["ingest", f"{HOSTILE}@v1.0.0"])
        assert done.exit_code == 0, done.output
        yield app


def test_an_ingest_renders_the_readme_and_its_synopsis_once_and_keeps_them(
        hostile_app: Flask, monkeypatch: pytest.MonkeyPatch):
    services = hostile_app.extensions["depot"]
    rows = kept(services)
    assert set(rows) == {README, SYNOPSIS}
    assert "<li>one list</li>" in rows[README]
    assert rows[SYNOPSIS] == "Small README."

    def no_render(*_args: object, **_kw: object) -> object:
        raise AssertionError("a page rendered a README")

    monkeypatch.setattr(prepared, "render_readme", no_render)
    monkeypatch.setattr(prepared, "synopsis", no_render)
    client = hostile_app.test_client()
    began = time.monotonic()
    body = client.get(f"/{HOSTILE}").get_data(as_text=True)
    # Before: the first view rendered the README in the request (200,000 "[": 3 s with
    # markdown-it; 20,000: minutes with Python-Markdown).
    assert time.monotonic() - began < 2.0
    assert "<li>one list</li>" in body
    search = client.get("/search?q=hostile").get_data(as_text=True)
    assert "Small README." in search


def test_a_version_published_before_the_job_ran_is_rendered_by_its_first_view_only(
        hostile_app: Flask, monkeypatch: pytest.MonkeyPatch):
    services = hostile_app.extensions["depot"]
    with services.db.session() as session:
        session.execute(RenderedContent.__table__.delete())
    calls = []
    real = prepared.render_readme

    def counted(*args: object, **kw: object) -> object:
        calls.append(args[0])
        return real(*args, **kw)

    monkeypatch.setattr(prepared, "render_readme", counted)
    for _ in range(2):
        hostile_app.extensions.pop("depot.rendered", None)  # each view as a new process
        assert "<li>one list</li>" in hostile_app.test_client().get(f"/{HOSTILE}").get_data(
            as_text=True)
    assert calls == ["README.md"] and README in kept(services)


def test_rows_of_an_older_renderer_are_made_again(hostile_app: Flask,
                                                  monkeypatch: pytest.MonkeyPatch):
    services = hostile_app.extensions["depot"]
    monkeypatch.setattr(prepared, "RENDERER", prepared.RENDERER + 1)
    assert prepare_version(services.db, services.store, HOSTILE, "v1.0.0")
    with services.db.session() as session:
        revisions = set(session.scalars(select(RenderedContent.renderer)))
    assert revisions == {prepared.RENDERER}
    assert not prepare_version(services.db, services.store, "depot.test/none", "v1.0.0")


def test_a_readme_whose_zip_is_not_stored_yet_is_not_kept(services: Services):
    made, keepable = prepared.render(services.store, "depot.test/none", "v1.0.0", "README.md")
    assert not keepable and made[README].note == "the module zip is not in the store"


def test_a_publication_queues_a_render_job_that_a_worker_runs(
        services: Services, queued_settings: Settings, hostile_upstream,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch):
    services_on(services, hostile_upstream)
    for key, value in settings_env(queued_settings).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("REDIS_URL", queued_settings.redis_url)
    monkeypatch.setenv("DEPOT_UPSTREAM", hostile_upstream.url)
    monkeypatch.setenv("DEPOT_GOSUMDB", "off")
    jobs_pipeline.forget_worker_services()
    connection = connect(queued_settings)
    queue = Queue("index", connection=connection)
    queue.empty()
    dispatcher = RQDispatcher(queued_settings, connection)
    from app.ingest import ingest

    ingest(services, HOSTILE, "v1.0.0")  # inline: renders at its end
    with services.db.session() as session:
        session.execute(RenderedContent.__table__.delete())
    Pipeline(services, dispatcher).promote(HOSTILE, "v1.0.0")
    assert job_id("render", (HOSTILE, "v1.0.0")) in queue.job_ids
    SimpleWorker([queue], connection=connection).work(burst=True)
    jobs_pipeline.forget_worker_services()
    assert set(kept(services)) == {README, SYNOPSIS}


def test_the_render_command_renders_what_was_published_before(hostile_app: Flask):
    services = hostile_app.extensions["depot"]
    with services.db.session() as session:
        session.execute(RenderedContent.__table__.delete())
    runner = hostile_app.test_cli_runner()
    done = runner.invoke(args=["render"])
    assert done.exit_code == 0 and "rendered 1 version" in done.output, done.output
    assert set(kept(services)) == {README, SYNOPSIS}
    assert "rendered 0 versions" in runner.invoke(args=["render"]).output
