"""The insight score as a pure function: known facts and a fixed "now" give known points."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from app.catalog.insight import (
    GO_RELEASES,
    WEIGHTS,
    InsightFacts,
    go_release_date,
    score,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

# Everything at its best: every factor earns its weight.
BEST = InsightFacts(
    path="depot.test/best", latest="v1.15.0", spdx_ids=("MIT",), redistributable=True,
    validated=True, tagged_count=15, published_count=15, released_at=NOW - timedelta(days=10),
    used_by=100, dependency_count=0, dependency_depth=0, go_version="1.26",
)


def points(facts: InsightFacts, now: datetime = NOW) -> dict[str, float]:
    return {f.key: f.points for f in score(facts, now).factors}


def test_weights_add_up_to_100_and_the_best_facts_earn_them_all():
    assert sum(WEIGHTS.values()) == 100
    found = score(BEST, NOW)
    assert found.score == 100 and found.max == 100
    assert points(BEST) == WEIGHTS
    assert [f.key for f in found.factors] == list(WEIGHTS)
    assert all(f.explanation.endswith(".") for f in found.factors)


def test_the_same_facts_and_now_give_the_same_answer():
    assert score(BEST, NOW) == score(BEST, NOW)
    later = NOW + timedelta(days=400)
    assert score(BEST, later).score < score(BEST, NOW).score  # only time moved it


def test_no_published_version_scores_zero_on_every_factor():
    found = score(InsightFacts(path="depot.test/none", latest=None), NOW)
    assert found.score == 0 and found.version is None
    assert [f.key for f in found.factors] == list(WEIGHTS)
    assert all(f.points == 0 and f.value == "nothing published" for f in found.factors)
    assert found.max == 100


def test_license_clarity():
    assert points(replace(BEST, spdx_ids=(), redistributable=False))["license"] == 0
    assert points(replace(BEST, redistributable=False))["license"] == 5.0
    assert points(replace(BEST, redistributable=None))["license"] == 5.0
    factor = score(replace(BEST, spdx_ids=("MIT", "Apache-2.0")), NOW).factors[0]
    assert factor.value == "MIT, Apache-2.0" and factor.points == 15


def test_validation():
    assert points(replace(BEST, validated=False))["validated"] == 0
    assert points(replace(BEST, validation_note="pkg x: undefined"))["validated"] == 7.5


def test_used_by_is_a_log_scale():
    got = [points(replace(BEST, used_by=n))["used_by"] for n in (0, 1, 3, 10, 100, 5000)]
    assert got == [0, 2.3, 4.5, 7.8, 15, 15]


def test_recency_falls_from_six_months_to_three_years():
    def at(days: int) -> float:
        return points(replace(BEST, released_at=NOW - timedelta(days=days)))["recency"]
    assert at(0) == at(180) == 15
    assert at(180 + (1095 - 180) // 2) == pytest.approx(7.5, abs=0.1)
    assert at(1095) == at(4000) == 0
    assert points(replace(BEST, released_at=None))["recency"] == 0
    # A naive time (SQLite gives those back) is UTC.
    naive = (NOW - timedelta(days=10)).replace(tzinfo=None)
    assert points(replace(BEST, released_at=naive))["recency"] == 15


def test_pseudo_versions_only_earn_no_version_points():
    facts = replace(BEST, latest="v0.0.0-20240102030405-abcdefabcdef", latest_is_pseudo=True,
                    tagged_count=0, published_count=2)
    factor = next(f for f in score(facts, NOW).factors if f.key == "versions")
    assert factor.points == 0 and factor.value == "2 pseudo-versions, no tagged release"
    got = [points(replace(BEST, tagged_count=n))["versions"] for n in (1, 3, 7, 15, 40)]
    assert got == [2.5, 5.0, 7.5, 10, 10]


def test_dependencies_count_and_depth():
    def at(count: int, depth: int) -> float:
        return points(replace(BEST, dependency_count=count,
                              dependency_depth=depth))["dependencies"]
    assert at(0, 0) == at(0, 1) == 10
    assert at(1, 1) == pytest.approx(4 + 6 * (1 - 1 / 6.022), abs=0.1)
    assert at(64, 1) == 4 and at(200, 1) == 4
    assert [at(0, d) for d in (2, 3, 4, 5, 9)] == [9, 8, 7, 6, 6]
    factor = next(f for f in score(replace(BEST, dependency_depth=5), NOW).factors
                  if f.key == "dependencies")
    assert factor.value == "0 requirements, depth 5 or more"


def test_go_directive_kept_old_for_compatibility_is_not_punished():
    def at(go: str | None) -> float:
        return points(replace(BEST, go_version=go))["go_version"]
    assert at("1.26") == at("1.26.3") == at("1.27") == at("1.30rc1") == 10
    # A module keeping `go 1.17` so that older toolchains build it loses nothing.
    assert at("1.25") == at("1.21") == at("1.17") == 10
    assert at("1.16") == at("1.11") == at("1.9") == 5  # no pruned module graph
    assert at(None) == 0 and at("banana") == 0


def test_go_release_table():
    assert go_release_date("1.21") == date(2023, 8, 8) == GO_RELEASES[(1, 21)]
    assert go_release_date("1.21.13") == date(2023, 8, 8)
    assert go_release_date("1.22rc2") == date(2024, 2, 6)
    assert go_release_date("1.5") == GO_RELEASES[min(GO_RELEASES)]
    assert go_release_date("x") is None and go_release_date("2") is None
    dates = [GO_RELEASES[k] for k in sorted(GO_RELEASES)]
    assert dates == sorted(dates)  # the table is in release order


def test_retractions_and_deprecation():
    facts = replace(BEST, published_count=4, retracted_count=1)
    assert points(facts)["retractions"] == 3.8
    factor = next(f for f in score(facts, NOW).factors if f.key == "retractions")
    assert factor.value == "1 of 4 retracted"
    assert points(replace(facts, latest_retracted=True, retracted_count=4))["retractions"] == 0
    assert points(replace(BEST, deprecated="use x instead"))["deprecation"] == 0
    assert points(replace(BEST, deprecated=""))["deprecation"] == 0  # an empty message counts


def test_a_worse_module_in_every_way_scores_lower_in_known_points():
    worse = InsightFacts(
        path="depot.test/worse", latest="v0.0.0-20200101000000-abcdefabcdef",
        latest_is_pseudo=True, spdx_ids=(), redistributable=False, validated=True,
        tagged_count=0, published_count=1, released_at=NOW - timedelta(days=2000),
        used_by=0, dependency_count=64, dependency_depth=6, go_version=None,
        deprecated="gone",
    )
    found = score(worse, NOW)
    # Only the validated build and the absence of retractions earn anything.
    assert {f.key: f.points for f in found.factors if f.points} == {
        "validated": 15, "retractions": 5}
    assert found.score == 20 < score(BEST, NOW).score
