"""A go.mod of 15,000 `retract` lines (issue 19, defect 10): its page views stay cheap
and the Mod File tab shows a part of it with a link to the whole file."""

from __future__ import annotations

import random
from collections.abc import Iterator
from functools import partial

import pytest
from flask import Flask

from app.catalog import modules as catalog_modules
from app.catalog.modules import RetractRanges
from app.config import Settings
from app.gomod import versions
from app.portal.contents import GOMOD_SHOWN_LINES, shown_part
from tests.conftest import GO, fresh_app, loaded_once
from tests.fixtures.catalog import portal_settings
from tests.fixtures.upstream import FixtureModule, module_files, upstream_of

HEAVY = "depot.test/heavy"
RETRACTS = 15_000


def heavy_gomod() -> bytes:
    lines = [f"module {HEAVY}", "", "go 1.21", ""]
    lines += [f"retract v0.{i // 1000}.{i % 1000} // withdrawn: a rationale of some length {i}"
              for i in range(RETRACTS)]
    return ("\n".join(lines) + "\n").encode()


def ingest_heavy(app: Flask) -> None:
    done = app.test_cli_runner().invoke(args=["ingest", f"{HEAVY}@v1.0.0"])
    assert done.exit_code == 0, done.output


# Pages and parsing, not the database: one backend (the suite's time is bounded).
@pytest.fixture(scope="module", params=["sqlite"])
def heavy_settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[Settings]:
    """HEAVY ingested once, for the tests here, which only read it."""
    folder = tmp_path_factory.mktemp("heavy")
    files = module_files(HEAVY, "v1.0.0")
    files["go.mod"] = heavy_gomod()
    upstream = upstream_of(folder / "heavy-upstream", [FixtureModule(HEAVY, "v1.0.0", files)])
    with loaded_once(request.param, folder, partial(portal_settings, upstream=upstream,
                                                    go_bin=GO), ingest_heavy) as settings:
        yield settings


@pytest.fixture
def heavy_app(heavy_settings: Settings) -> Iterator[Flask]:
    """A new app (nothing parsed in memory yet) on the shared instance."""
    with fresh_app(heavy_settings) as app:
        yield app


def test_a_page_view_parses_the_retract_ranges_once(heavy_app: Flask,
                                                    monkeypatch: pytest.MonkeyPatch):
    client = heavy_app.test_client()
    assert client.get(f"/{HEAVY}").status_code == 200  # the first view parses them
    calls = 0
    key = versions.sort_key

    def counted(v: str) -> tuple:
        nonlocal calls
        calls += 1
        return key(v)

    monkeypatch.setattr(versions, "sort_key", counted)
    for tab in ("", "?tab=versions", "?tab=gomod"):
        assert client.get(f"/{HEAVY}{tab}").status_code == 200
    # Before: every view compared each version with each range, parsing both bounds:
    # 30,000 parses per version.
    assert calls < 100, calls


def test_the_mod_file_tab_shows_a_part_and_links_the_whole_file(heavy_app: Flask):
    body = heavy_app.test_client().get(f"/{HEAVY}?tab=gomod").get_data(as_text=True)
    assert len(body) < 600_000, len(body)  # before: 2.2 MB
    assert f"This go.mod has {RETRACTS + 4:,} lines; the first" in body
    assert f'href="/{HEAVY}/@v/v1.0.0.mod"' in body
    assert "v0.0.5" in body and f"{RETRACTS - 1}" not in body.split("gomod-cut")[1]


def test_the_whole_go_mod_is_served_as_it_was():
    part, total = shown_part(heavy_gomod().decode())
    assert total == RETRACTS + 4
    assert part.count("\n") <= GOMOD_SHOWN_LINES and heavy_gomod().decode().startswith(part)


@pytest.mark.parametrize("text, lines, size, expected", [
    ("a\nb\nc\n", 5, 100, ("a\nb\nc\n", 3)),
    ("a\nb\nc", 5, 100, ("a\nb\nc", 3)),
    ("a\nb\nc\n", 2, 100, ("a\nb\n", 3)),
    ("aaaa\nbbbb\ncccc\n", 10, 7, ("aaaa\n", 3)),
    ("", 5, 100, ("", 0)),
])
def test_shown_part_keeps_whole_lines_within_both_caps(text: str, lines: int, size: int,
                                                      expected: tuple[str, int]):
    assert shown_part(text, lines, size) == expected


def _old_rationale(version: str, ranges: list[tuple[str, str, str]]) -> str | None:
    """The comparison the page made before, range by range."""
    for low, high, rationale in ranges:
        if versions.is_valid(low) and versions.is_valid(high) and (
            versions.compare(low, version) <= 0 <= versions.compare(high, version)
        ):
            return rationale or ""
    return None


def test_parsed_ranges_answer_as_the_comparisons_did():
    rng = random.Random(19)
    pool = ["v0.1.0", "v1.0.0", "v1.0.0-rc.1", "v1.0.0-rc.10", "v1.2", "v1.10.0", "v2.0.0",
            "v1.0.1-0.20240101000000-abcdefabcdef", "v2.0.0+incompatible", "bad", "v1.0.0+x"]
    for _ in range(300):
        ranges = [(rng.choice(pool), rng.choice(pool), rng.choice(["", "why"]))
                  for _ in range(rng.randint(0, 4))]
        parsed = RetractRanges(ranges)
        for version in pool:
            assert parsed.rationale(version) == _old_rationale(version, ranges), (version, ranges)
    assert catalog_modules.retraction_of("v1.0.0", RetractRanges([("v1.0.0", "v1.0.0", "")])) == ""
