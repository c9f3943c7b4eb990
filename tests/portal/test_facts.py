"""The module header's facts (issue 22, point 4): release time apart from Depot's, the
repository, pkg.go.dev's badges and Depot's drift check, downloads with a 90-day chart."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from flask import Flask

from app.catalog.downloads import chart_bars
from app.config import Settings
from app.portal.facts import read_stored
from app.store import ArtifactMissing
from tests.conftest import app_on
from tests.fixtures.docs_module import DOCS, DOCS_VERSION
from tests.fixtures.upstream import fixture_module, upstream_of
from tests.portal.conftest import HTML


class Files:
    """A store of one version's .info and .mod (the part of the interface read here)."""

    def __init__(self, info: dict | None, mod: bytes | None) -> None:
        self.files = {"info": json.dumps(info).encode() if info else None, "mod": mod}

    def read_bytes(self, module: str, version: str, kind: str) -> bytes:
        found = self.files.get(kind)
        if found is None:
            raise ArtifactMissing(kind)
        return found


def test_the_repository_comes_from_the_origin_then_from_the_path() -> None:
    origin = {"Version": "v1.8.1", "Origin": {"VCS": "git", "Ref": "refs/tags/v1.8.1",
                                              "URL": "https://github.com/spf13/cobra",
                                              "Hash": "e94f6d0dd9a5e5738dca6bce03c4b1207ffbc0ec"}}
    stored = read_stored(Files(origin, b"module github.com/spf13/cobra\n\ngo 1.15\n"),  # type: ignore[arg-type]
                         "github.com/spf13/cobra", "v1.8.1")
    assert stored.repository is not None and stored.repository.origin
    assert stored.repository.ref == "refs/tags/v1.8.1"
    assert stored.own_go_mod is True
    hostile = {"Origin": {"URL": "javascript:alert(1)"}}
    guessed = read_stored(Files(hostile, b"module github.com/a/b\n"),  # type: ignore[arg-type]
                          "github.com/a/b", "v1.0.0")
    assert guessed.repository is not None and not guessed.repository.origin
    assert guessed.repository.url == "https://github.com/a/b"
    assert guessed.own_go_mod is False  # the module line alone: the go command made it up
    nothing = read_stored(Files(None, None), "depot.test/x", "v1.0.0")  # type: ignore[arg-type]
    assert nothing.repository is None and nothing.own_go_mod is None


def test_chart_bars_scale_to_the_busiest_day() -> None:
    bars = chart_bars([(date(2026, 12, 1), 0), (date(2026, 12, 2), 5), (date(2026, 12, 3), 10)],
                      width=300, height=60)
    assert [(b.x, b.height, b.y) for b in bars] == [(0, 0, 60), (100, 30, 30), (200, 60, 0)]


def test_the_header_says_published_in_depot_and_checks(docs_app: Flask) -> None:
    body = docs_app.test_client().get(f"/{DOCS}", headers=HTML).get_data(as_text=True)
    assert re.search(r'title="When the upstream released it[^"]*">Published <time', body)
    assert "In Depot since <time" in body
    checks = body.split('aria-label="Checks"', 1)[1].split("</ul>", 1)[0]
    for label in ("Valid go.mod", "Redistributable license", "Tagged version",
                  "Stable version"):
        assert re.search(rf'class="check-ok"[^>]*><span aria-hidden="true">✓</span> {label}',
                         checks), label
    # Never checked against the upstream again: not claimed drift-free, nor drifted (a
    # trial read "✗ Drift-free" as a drift found).
    assert re.search(r'class="check-unknown" title="The upstream has not been checked again '
                     r'yet"><span aria-hidden="true">\?</span> Drift-free<span '
                     r'class="visually-hidden">: not known yet', checks)


def test_downloads_are_counted_per_version_and_charted(docs_app: Flask) -> None:
    client = docs_app.test_client()
    zip_url = f"/{DOCS}/@v/{DOCS_VERSION}.zip"
    assert client.get(zip_url).status_code == 200
    assert client.get(zip_url).status_code == 200
    docs_app.extensions["depot"].downloads.flush()
    header = client.get(f"/{DOCS}", headers=HTML).get_data(as_text=True)
    assert ">2 downloads</span>" in header
    versions = client.get(f"/{DOCS}?tab=versions", headers=HTML).get_data(as_text=True)
    assert '<td class="num">2</td>' in versions
    assert versions.count("<rect ") == 1 and ": 2</title></rect>" in versions


def test_the_upstreams_versions_are_listed_beside_depots_with_request_buttons(
        settings: Settings, tmp_path: Path) -> None:
    lib = "depot.test/chain/c"
    upstream = upstream_of(tmp_path / "two", [fixture_module(lib, "v1.0.0"),
                                              fixture_module(lib, "v1.1.0")])
    with app_on(settings, upstream) as app:
        assert app.test_cli_runner().invoke(args=["ingest", f"{lib}@v1.0.0"]).exit_code == 0
        client = app.test_client()
        lazy = client.get(f"/{lib}?tab=versions", headers=HTML).get_data(as_text=True)
        assert 'hx-trigger="load, click"' in lazy  # the upstream is asked after the page
        body = client.get(f"/{lib}?tab=versions&upstream=1",
                          headers=HTML).get_data(as_text=True)
        section = body.split('id="upstream-versions"', 1)[1].split("</section>", 1)[0]
        assert "lists 2 tagged versions; Depot does not hold 1 of them" in section
        assert 'name="version" value="v1.1.0"' in section
        assert 'value="v1.0.0"' not in section


def test_the_drift_check_says_yes_no_or_not_known() -> None:
    """Three states: checked and the same, drifted, or not checked again yet."""
    from types import SimpleNamespace
    from typing import Any, cast

    from app.portal.facts import badges

    detail = cast(Any, SimpleNamespace(version="v1.2.0", redistributable=None,
                                       summary=SimpleNamespace(is_pseudo=False)))
    stored = cast(Any, SimpleNamespace(own_go_mod=True))

    def drift_free(last_check: object, drifted: bool):  # type: ignore[no-untyped-def]
        upstream = cast(Any, SimpleNamespace(version=SimpleNamespace(
            last_check=last_check, drifted=drifted)))
        return {b.label: b for b in badges(detail, stored, upstream)}

    same = drift_free("2026-12-07", False)
    assert (same["Drift-free"].ok, same["Drift-free"].mark) == (True, "✓")
    moved = drift_free("2026-12-07", True)
    assert (moved["Drift-free"].ok, moved["Drift-free"].said) == (False, "no")
    never = drift_free(None, False)
    assert (never["Drift-free"].ok, never["Drift-free"].mark) == (None, "?")
    assert never["Redistributable license"].said == "not known yet"  # the gate is pending
