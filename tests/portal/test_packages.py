"""Package pages and the module page's Doc and Packages tabs (issue 22, points 1-2), on a
module ingested by the real pipeline, documented by the toolchain-built helper."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from rq import Queue, SimpleWorker
from rq.job import Job
from sqlalchemy import delete

from app.config import Settings
from app.models import VersionDocs
from app.queue import connect, job_id
from jobs import pipeline as jobs_pipeline
from tests.fixtures.docs_module import DOCS, DOCS_VERSION
from tests.portal.conftest import DOCS_DEP as DEP
from tests.portal.conftest import HTML, HX, documented


def page(app: Flask, url: str, headers: dict[str, str] = HTML) -> str:
    resp = app.test_client().get(url, headers=headers)
    assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:500])
    return resp.get_data(as_text=True)


def test_the_doc_tab_shows_the_root_package_with_anchors_and_links(docs_app: Flask) -> None:
    body = page(docs_app, f"/{DOCS}?tab=doc")
    assert 'id="Widget"' in body and 'id="Widget.Spin"' in body and 'id="NewWidget"' in body
    assert '<a href="#Widget">Widget</a>' in body  # from the package comment
    assert 'id="hdr-Getting_started"' in body
    assert "linux/amd64" in body
    # Deprecated and examples with their output.
    assert re.search(r'id="Old".*?deprecated', body, re.S)
    assert 'id="example-NewWidget"' in body and "package example" in body
    # The standard library is named, not linked: Depot has no page for it.
    assert '<span class="doc-ref">strings.Builder</span>' in body
    assert "OnlyOnWindows" not in body


def test_a_package_url_shows_that_package_and_links_across_packages(docs_app: Flask) -> None:
    body = page(docs_app, f"/{DOCS}/gears")
    assert "Package gears turns widgets." in body
    assert f'<a href="/{DOCS}?tab=doc#Widget" title="{DOCS}">Widget</a>' in body
    pinned = page(docs_app, f"/{DOCS}/gears@{DOCS_VERSION}")
    assert f'<a href="/{DOCS}@{DOCS_VERSION}?tab=doc#Widget" title="{DOCS}">Widget</a>' in pinned
    command = page(docs_app, f"/{DOCS}/cmd/spinner")
    assert f"go install {DOCS}/cmd/spinner@{DOCS_VERSION}" in command


def test_imports_and_imported_by_are_per_package(docs_app: Flask) -> None:
    imports = page(docs_app, f"/{DOCS}/gears?tab=imports")
    assert f'href="/{DEP}@v1.0.0"' in imports  # another module Depot holds, as required
    assert f'href="/{DOCS}/internal/secret"' in imports  # the same module, unpinned
    importers = page(docs_app, f"/{DEP}?tab=importedby")
    assert f"/{DOCS}/gears" in importers and "1 package of other modules" in importers
    # Packages of the same module do not count as importers.
    assert "No package of another module" in page(docs_app, f"/{DOCS}?tab=importedby")


def test_the_packages_tab_lists_the_tree_with_marks(docs_app: Flask) -> None:
    body = page(docs_app, f"/{DOCS}?tab=packages")
    for sub in ("gears", "cmd/spinner", "internal/secret"):
        assert f'href="/{DOCS}/{sub}"' in body
    assert "testdata" not in body
    assert ">command</span>" in body and ">internal</span>" in body


def test_tabs_are_fragments_for_htmx(docs_app: Flask) -> None:
    fragment = page(docs_app, f"/{DOCS}/gears?tab=imports", HX)
    assert fragment.startswith("<title>") and 'id="package-tabs"' in fragment
    assert "<html" not in fragment


def test_not_yet_documented_says_so_and_queues_the_job(
        queued_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with documented(queued_settings, tmp_path) as app:
        services = app.extensions["depot"]
        with services.db.session() as session:
            session.execute(delete(VersionDocs))
        connection = connect(services.settings)
        queue = Queue("index", connection=connection)
        queue.empty()
        body = page(app, f"/{DOCS}/gears")
        assert "The documentation is being prepared." in body
        assert 'hx-trigger="every 2s"' in body
        assert job_id("docs", (DOCS, DOCS_VERSION)) in queue.job_ids
        page(app, f"/{DOCS}?tab=doc")  # asked again: still one job
        assert len(queue.job_ids) == 1
        for name, value in services.settings.to_env().items():
            monkeypatch.setenv(name, value)
        jobs_pipeline.forget_worker_services()

        def away(*_args: object) -> None:
            raise OSError("the store is away")

        made = jobs_pipeline.prepare_docs
        monkeypatch.setattr(jobs_pipeline, "prepare_docs", away)
        SimpleWorker([queue], connection=connection).work(burst=True)
        waiting = page(app, f"/{DOCS}/gears")  # its retry is due in 10 s
        assert "The documentation is being prepared." in waiting
        assert "The last attempt failed: <code>OSError: the store is away</code>" in waiting
        assert 'hx-trigger="every 2s"' in waiting
        monkeypatch.setattr(jobs_pipeline, "prepare_docs", made)
        Job.fetch(job_id("docs", (DOCS, DOCS_VERSION)), connection=connection).delete()
        page(app, f"/{DOCS}/gears")  # queued again, at once this time
        SimpleWorker([queue], connection=connection).work(burst=True)
        jobs_pipeline.forget_worker_services()
        assert "Package gears turns widgets." in page(app, f"/{DOCS}/gears")


def test_without_the_queue_the_page_says_why_and_the_command_documents(
        docs_app: Flask) -> None:
    services = docs_app.extensions["depot"]
    with services.db.session() as session:
        session.execute(delete(VersionDocs))
    assert "the job queue is away" in page(docs_app, f"/{DOCS}/gears")
    done = docs_app.test_cli_runner().invoke(args=["docs"])
    assert done.exit_code == 0 and "documented 2 versions" in done.output, done.output
    assert "Package gears turns widgets." in page(docs_app, f"/{DOCS}/gears")


def test_unknown_packages_and_tabs_are_clear_errors(docs_app: Flask) -> None:
    client = docs_app.test_client()
    missing = client.get(f"/{DOCS}/nope", headers=HTML)
    assert missing.status_code == 404 and "has no package" in missing.get_data(as_text=True)
    assert client.get(f"/{DOCS}/gears?tab=graph", headers=HTML).status_code == 400
    assert client.get(f"/{DOCS}/gears@v9.9.9", headers=HTML).status_code == 404
    assert client.get(f"/{DOCS}?tab=nosuch", headers=HTML).status_code == 400
